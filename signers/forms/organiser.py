"""Forms on the organiser's Signers tab: filters, moderation, import."""

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from coalition.forms import TextField
from letters.models import Letter
from signers.csv_import import too_large_message
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
            "Columns: organisation, city, country, website, contact_name, email; "
            "optionally kind and name (for individuals)."
        ),
    )

    def clean_file(self) -> UploadedFile:
        return bounded_upload(self)
