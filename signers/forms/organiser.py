"""Forms on the organiser's Signers tab: filters, moderation, import."""

import base64
import zlib
from typing import Any

from django import forms
from django.conf import settings
from django.core import signing
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from coalition.forms import TextField
from coalition.spreadsheets import too_large_message
from letters.models import Letter
from signers.models import Signature

# --- Organisers -----------------------------------------------------------------


class SignatureFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), *Signature.Status.choices],
    )
    revision = forms.TypedChoiceField(
        label=_("Revision"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args: Any, letter: Letter, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        numbers = letter.revisions.order_by("-number").values_list("number", flat=True)
        self.fields["revision"].choices = [  # type: ignore[attr-defined]
            ("", _("All")),
            *((n, _("Revision %(n)d") % {"n": n}) for n in numbers),
        ]


class SortNameForm(forms.Form):
    sort_name = TextField(
        label=_("Sort name"),
        max_length=200,
        help_text=_(
            "Where this signer sorts in the public list. Case and accents do not "
            "matter; type the words in the order they should sort by."
        ),
    )


class RejectForm(forms.Form):
    reason = TextField(
        label=_("Reason (the signer is told)"), multiline=True, max_length=1000
    )


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label=_(
            "Erase this signer's personal data for good. The signature stays in "
            "the counts with its status."
        )
    )


def bounded_upload(form: forms.Form) -> UploadedFile:
    """The upload, refused by its size before a byte of it is read."""
    upload: UploadedFile = form.cleaned_data["file"]
    if (upload.size or 0) > settings.IMPORT_MAX_BYTES:
        raise forms.ValidationError(too_large_message(), code="too_large")
    return upload


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8, comma-, semicolon- or tab-separated, with a header row. Columns "
            "we read: email, organisation (or name, for individuals), city, "
            "country, website, contact, kind (organisation or individual)."
        ),
    )

    def clean_file(self) -> bytes:
        return bytes(bounded_upload(self).read())


class SignedFileForm(forms.Form):
    """A previewed file, signed so that the confirm step reads exactly it (and
    checks it again): nothing the browser sends back is trusted.

    The bytes themselves, compressed, so the field is at most a third larger
    than the file: ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is set to take it.
    """

    salt = "signers.import"  # one per purpose
    payload = TextField(widget=forms.HiddenInput)

    @classmethod
    def payload_for(cls, data: bytes) -> str:
        packed = base64.urlsafe_b64encode(zlib.compress(data)).decode("ascii")
        return signing.TimestampSigner(salt=cls.salt).sign(packed)

    def clean_payload(self) -> bytes:
        signer = signing.TimestampSigner(salt=self.salt)
        try:
            packed = signer.unsign(self.cleaned_data["payload"], max_age=3600)
            return _decompress(base64.urlsafe_b64decode(packed))
        except (signing.BadSignature, ValueError, zlib.error) as exc:
            raise forms.ValidationError(
                _("The preview has expired. Upload the file again.")
            ) from exc


def _decompress(packed: bytes) -> bytes:
    """At most one byte more than an import may be, however it was packed."""
    decompressor = zlib.decompressobj()
    data = decompressor.decompress(packed, settings.IMPORT_MAX_BYTES + 1)
    if decompressor.unconsumed_tail:
        raise ValueError("larger than an import may be")
    return data


class SignatureImportConfirmForm(SignedFileForm):
    salt = "signers.signature-import"
