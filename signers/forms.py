"""Parsing and validation for the signing forms. Nothing here saves anything."""

import base64
import zlib
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import MaxLengthValidator
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coalition.forms import TextField
from coalition.models import User
from coalition.spreadsheets import too_large_message
from letters.forms import LocalDateTimeField
from letters.models import Letter, Revision
from signers.csv_import import MAX_NOTES_LENGTH
from signers.models import Call, Prospect, ReminderSchedule, Signature, Update
from signers.names import clean_display_name
from signers.selectors import revision_anchors


class NameField(TextField):
    """A public name: as TextField, and stored without invisible characters
    (zero-width spaces, soft hyphens…), as signers.names cleans it."""

    def clean(self, value: Any) -> Any:
        value = clean_display_name(super().clean(value))
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")
        return value


class EmailField(forms.EmailField):
    """Lower-cased: one signature per address, however it was typed."""

    def clean(self, value: Any) -> Any:
        return super().clean(value).lower()


class HoneypotMixin(forms.Form):
    """A field people never see (hidden by CSS, skipped by tab) and bots fill."""

    leave_empty = TextField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(
            attrs={"class": "honeypot", "autocomplete": "off", "tabindex": "-1"}
        ),
    )

    def clean_leave_empty(self) -> str:
        if self.cleaned_data.get("leave_empty"):
            raise ValidationError(
                _("Please leave the last field empty: it is there to stop robots."),
                code="honeypot",
            )
        return ""


def _website_field() -> forms.URLField:
    return forms.URLField(
        label=_("Website"),
        max_length=300,
        required=False,
        assume_scheme="https",
        help_text=_("Public."),
    )


class SignatureForm(HoneypotMixin):
    """Sign for an organisation or as an individual (as the letter allows)."""

    kind = forms.ChoiceField(
        label=_("We sign as"),
        choices=Signature.Kind.choices,
        widget=forms.RadioSelect,
        initial=Signature.Kind.ORGANISATION,
    )
    display_name = NameField(
        label=_("Organisation name"), max_length=200, help_text=_("Public.")
    )
    affiliation = TextField(
        label=_("Affiliation (for identification only)"),
        max_length=200,
        required=False,
        help_text=_("Public, for individuals."),
    )
    city = TextField(
        label=_("City or region"),
        max_length=120,
        required=False,
        help_text=_("Public."),
    )
    country = TextField(
        label=_("Country"), max_length=120, required=False, help_text=_("Public.")
    )
    website = _website_field()
    contact_name = TextField(
        label=_("Your name"),
        max_length=200,
        required=False,
        help_text=_("Private: only the organisers see it."),
    )
    contact_title = TextField(
        label=_("Your title or role"), max_length=200, required=False
    )
    email = EmailField(
        label=_("Email"),
        max_length=254,
        help_text=_("Private. We send your receipt here."),
    )
    phone = TextField(label=_("Phone"), max_length=50, required=False)
    comment = TextField(
        label=_("Comment to the organisers"),
        multiline=True,
        max_length=2000,
        required=False,
        help_text=_("Private."),
    )
    consent_listed = forms.BooleanField(
        label=_("List us publicly with the other signers"),
        required=False,
        initial=True,
    )
    consent_updates = forms.BooleanField(
        label=_("Send us updates from the coalition"), required=False
    )
    consent_logo = forms.BooleanField(
        label=_("Our logo may be shown with the letter"), required=False
    )
    attested = forms.BooleanField(
        label=_("I am authorised to sign on behalf of this organisation"),
        required=False,
    )
    revision = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, letter: Letter, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.letter = letter
        # The honeypot goes last, after the fields people fill in.
        self.order_fields([f for f in self.fields if f != "leave_empty"])
        if letter.signer_kinds == Letter.SignerKinds.BOTH:
            self.fields["display_name"].label = _(
                "Name of the organisation (or your name, if you sign as an individual)"
            )
            return
        del self.fields["kind"]
        if letter.signer_kinds == Letter.SignerKinds.INDIVIDUALS:
            self.fields["display_name"].label = _("Your name")
            self.fields["contact_name"].label = _("Contact name")
            for name in ("consent_logo", "attested", "website", "contact_title"):
                del self.fields[name]
        else:
            del self.fields["affiliation"]

    @property
    def signer_kind(self) -> str:
        if "kind" in self.fields:
            return str(self.cleaned_data.get("kind") or Signature.Kind.ORGANISATION)
        if self.letter.signer_kinds == Letter.SignerKinds.INDIVIDUALS:
            return Signature.Kind.INDIVIDUAL
        return Signature.Kind.ORGANISATION

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.signer_kind == Signature.Kind.ORGANISATION and not data.get("attested"):
            self.add_error(
                "attested",
                ValidationError(
                    _(
                        "Please confirm that you are authorised to sign on "
                        "behalf of this organisation."
                    ),
                    code="attestation",
                ),
            )
        return data

    def signature_fields(self) -> dict[str, Any]:
        """Keyword arguments for ``signature_create``."""
        data = self.cleaned_data
        fields: dict[str, Any] = {"kind": self.signer_kind}
        for name in (
            "display_name", "affiliation", "city", "country", "website",
            "contact_name", "contact_title", "email", "phone", "comment",
            "consent_listed", "consent_updates", "consent_logo", "attested",
        ):  # fmt: skip
            if name in data:
                fields[name] = data[name]
        if self.signer_kind == Signature.Kind.INDIVIDUAL:
            fields["attested"] = False
        return fields


class RevisionForm(forms.Form):
    """The one button behind an emailed link: it names the text it was shown."""

    revision = forms.IntegerField(widget=forms.HiddenInput)


class StatusRequestForm(forms.Form):
    """Asks for an address's signature status to be emailed to it (the join
    form's answer to "this address has already signed")."""

    email = EmailField(widget=forms.HiddenInput)


class PublicDetailsForm(forms.Form):
    """What a signer may correct from their receipt's link."""

    display_name = NameField(
        label=_("Name"),
        max_length=200,
        help_text=_("A new name is checked by the organisers before it is shown."),
    )
    affiliation = TextField(
        label=_("Affiliation (for identification only)"),
        max_length=200,
        required=False,
    )
    city = TextField(label=_("City or region"), max_length=120, required=False)
    country = TextField(label=_("Country"), max_length=120, required=False)
    website = _website_field()
    consent_listed = forms.BooleanField(
        label=_("List us publicly with the other signers"), required=False
    )
    consent_updates = forms.BooleanField(
        label=_("Send us updates from the coalition"), required=False
    )
    consent_logo = forms.BooleanField(
        label=_("Our logo may be shown with the letter"), required=False
    )

    def __init__(self, *args: Any, signature: Signature, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if signature.kind == Signature.Kind.INDIVIDUAL:
            del self.fields["consent_logo"]
        else:
            del self.fields["affiliation"]


class ReferralForm(HoneypotMixin):
    organisation = TextField(label=_("Organisation"), max_length=200)
    contact_name = TextField(label=_("Contact name"), max_length=200, required=False)
    email = EmailField(label=_("Their email"), max_length=254)
    note = TextField(
        label=_("A note for the organisers"),
        multiline=True,
        max_length=1000,
        required=False,
    )


class ChangeRequestForm(forms.Form):
    anchor = forms.ChoiceField(label=_("Which part of the letter?"))
    text = TextField(
        label=_("What change would you ask for?"), multiline=True, max_length=2000
    )

    def __init__(self, *args: Any, revision: Revision, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["anchor"].choices = revision_anchors(revision=revision)  # type: ignore[attr-defined]


class DeclineForm(forms.Form):
    reason = TextField(
        label=_("Would you tell us why?"),
        multiline=True,
        max_length=2000,
        required=False,
    )
    anchor = forms.ChoiceField(
        label=_("Is there a part of the letter that stops you?"), required=False
    )
    change = TextField(
        label=_("What change would make you sign?"),
        multiline=True,
        max_length=2000,
        required=False,
    )

    def __init__(self, *args: Any, revision: Revision | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if revision is None:
            del self.fields["anchor"], self.fields["change"]
        else:
            self.fields["anchor"].choices = revision_anchors(revision=revision)  # type: ignore[attr-defined]


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


def _bounded_upload(form: forms.Form) -> UploadedFile:
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
        return _bounded_upload(self)


# --- Outreach ----------------------------------------------------------------


IMPORT_SALT = "signers.prospect-import"


class ProspectForm(forms.ModelForm):
    class Meta:
        model = Prospect
        fields = [
            "organisation",
            "contact_name",
            "email",
            "is_large",
            "owner",
            "status",
            "next_follow_up",
            "notes",
        ]
        field_classes = {
            "organisation": TextField,
            "contact_name": TextField,
            "notes": TextField,
        }
        widgets = {
            "next_follow_up": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 4}),
        }
        labels = {"next_follow_up": _("next follow-up")}

    def __init__(self, *args: Any, organisers: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        notes = self.fields["notes"]
        notes.validators.append(MaxLengthValidator(MAX_NOTES_LENGTH))
        notes.widget.attrs["maxlength"] = str(MAX_NOTES_LENGTH)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.queryset = organisers
        owner.empty_label = _("Nobody yet")

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()

    def validate_unique(self) -> None:
        # Uniqueness per letter is the service's to check: it knows the letter.
        pass


class ProspectFilterForm(forms.Form):
    q = TextField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *Prospect.Status.choices],
    )
    owner = forms.ChoiceField(label=_("Relationship held by"), required=False)
    follow_up = forms.BooleanField(label=_("Follow-up due"), required=False)

    def __init__(self, *args: Any, organisers: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ChoiceField)
        owner.choices = [
            ("", _("Anyone")),
            ("none", _("Nobody")),
            *((str(u.pk), str(u)) for u in organisers),
        ]


class ProspectImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8, comma or semicolon separated, with a header row. Columns we "
            "read: organisation, email, contact name (or first and last name), "
            "notes, large, owner."
        ),
    )

    def clean_file(self) -> bytes:
        return bytes(_bounded_upload(self).read())


class ProspectImportConfirmForm(forms.Form):
    """The previewed file, signed so that the confirm step imports exactly it.

    The bytes themselves, compressed, so the field is at most a third larger
    than the file: ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is set to take it.
    """

    payload = TextField(widget=forms.HiddenInput)

    @staticmethod
    def payload_for(data: bytes) -> str:
        packed = base64.urlsafe_b64encode(zlib.compress(data)).decode("ascii")
        return signing.TimestampSigner(salt=IMPORT_SALT).sign(packed)

    def clean_payload(self) -> bytes:
        signer = signing.TimestampSigner(salt=IMPORT_SALT)
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


class InviteForm(forms.Form):
    """Who to invite: one prospect, the ticked ones, or everyone not yet invited."""

    only = forms.IntegerField(required=False)
    selected = forms.TypedMultipleChoiceField(coerce=int, required=False)
    everyone = forms.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        values = self.data.getlist("selected") if hasattr(self.data, "getlist") else []
        field = self.fields["selected"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(v, v) for v in values]

    def prospect_ids(self) -> list[int] | None:
        """None means every invitable prospect."""
        data = self.cleaned_data
        if data.get("only"):
            return [data["only"]]
        if data.get("everyone"):
            return None
        return list(data.get("selected") or [])


class DaysField(TextField):
    """ "3, 1" -> [3, 1]."""

    def to_python(self, value: Any) -> list[int]:  # type: ignore[override]
        text = str(super().to_python(value) or "")
        try:
            days = [int(part) for part in text.replace(";", ",").split(",") if part]
        except ValueError as exc:
            raise forms.ValidationError(
                _("Write whole numbers of days separated by commas, like 3, 1.")
            ) from exc
        if any(d < 1 or d > 90 for d in days) or len(days) > 5:
            raise forms.ValidationError(
                _("Up to five reminders, each 1 to 90 days before the deadline.")
            )
        return sorted(set(days), reverse=True)

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, list):
            return ", ".join(str(d) for d in value)
        return str(value or "")


class ReminderScheduleForm(forms.ModelForm):
    soft_days_before = DaysField(
        label=_("Reminders before the deadline given to invitees (days)"),
        required=False,
        help_text=_("For example 3, 1. Leave empty for none."),
    )

    class Meta:
        model = ReminderSchedule
        fields = [
            "soft_days_before",
            "announce_hard_deadline",
            "last_call_days_before",
            "confirm_after_days",
            "reconfirm_after_days",
            "digest_enabled",
            "digest_hour",
        ]
        help_texts = {
            "last_call_days_before": _("Leave empty for no last call."),
            "confirm_after_days": _(
                "To people who joined from the public page and have not clicked "
                "their confirmation link. Leave empty for none."
            ),
            "reconfirm_after_days": _(
                "To signers who have not re-confirmed after a material change. "
                "Leave empty for none."
            ),
        }

    def clean_digest_hour(self) -> int:
        hour = int(self.cleaned_data["digest_hour"])
        if hour > 23:
            raise forms.ValidationError(_("An hour from 0 to 23."))
        return hour


# --- Coalition communications ---------------------------------------------------


class UpdateForm(forms.Form):
    subject = TextField(label=_("Subject"), max_length=200)
    body = TextField(
        label=_("Message"),
        multiline=True,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_(
            "Markdown: a blank line between paragraphs, **bold**, [link](https://…). "
            "Each email ends with a link to unsubscribe."
        ),
    )
    audience = forms.ChoiceField(
        label=_("Send to"),
        choices=Update.Audience.choices,
        widget=forms.RadioSelect,
        initial=Update.Audience.SIGNERS,
    )


class SignerListDigestForm(forms.Form):
    signer_list_digest = forms.ChoiceField(
        label=_("Send consenting signers the current list of signers"),
        choices=[("off", _("Off")), ("weekly", _("Weekly, on Mondays"))],
    )


class CallForm(forms.Form):
    """A call's start is typed in the letter's time zone and made aware here."""

    title = TextField(label=_("Title"), max_length=200)
    starts_at = LocalDateTimeField(label=_("Starts"))
    duration_minutes = forms.IntegerField(
        label=_("Length (minutes)"), min_value=5, max_value=600, initial=60
    )
    join_url = forms.URLField(
        label=_("Join link"),
        max_length=500,
        assume_scheme="https",
        help_text=_("The video or phone call's address."),
    )
    agenda = TextField(
        label=_("Agenda"),
        multiline=True,
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Markdown."),
    )

    def __init__(self, *args: Any, letter: Letter, call: Call | None = None, **kw: Any):
        self.letter = letter
        zone = ZoneInfo(letter.time_zone)
        if call is not None:
            kw.setdefault(
                "initial",
                {
                    "title": call.title,
                    "starts_at": timezone.localtime(call.starts_at, zone).replace(
                        tzinfo=None
                    ),
                    "duration_minutes": call.duration_minutes,
                    "join_url": call.join_url,
                    "agenda": call.agenda,
                },
            )
        super().__init__(*args, **kw)
        self.fields["starts_at"].help_text = _("In %(zone)s time.") % {
            "zone": letter.time_zone
        }

    def clean_starts_at(self) -> Any:
        value = self.cleaned_data["starts_at"]
        return value.replace(tzinfo=ZoneInfo(self.letter.time_zone)) if value else None


class CallNotesForm(forms.Form):
    notes = TextField(
        label=_("Notes"),
        multiline=True,
        max_length=50000,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=_("Markdown. Emailed once to everyone invited."),
    )


class RsvpForm(forms.Form):
    response = forms.ChoiceField(
        choices=[("yes", _("Yes")), ("no", _("No"))], widget=forms.HiddenInput
    )


class ReissueForm(forms.Form):
    title = TextField(label=_("Title of the new letter"), max_length=200)
    addressee = TextField(
        label=_("New addressee"),
        max_length=300,
        help_text=_("For example “To the Members of the Regional Assembly”."),
    )
