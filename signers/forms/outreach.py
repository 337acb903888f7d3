"""Forms for outreach: prospects, their import, invitations, the reminder schedule."""

from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from coalition.forms import TextField
from coalition.models import User
from signers.csv_import import MAX_NOTES_LENGTH
from signers.forms.organiser import ImportForm, SignedFileForm
from signers.models import Prospect, ReminderSchedule

# --- Outreach ----------------------------------------------------------------


# A prospect's personal note, and how many the send step lets one edit inline
# (a larger batch's notes are edited on each prospect's page).
NOTE_MAX_LENGTH = 1000
NOTES_INLINE_LIMIT = 50
PREVIEW_CHOICES_LIMIT = 500


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
            "personal_note",
        ]
        field_classes = {
            "organisation": TextField,
            "contact_name": TextField,
            "notes": TextField,
            "personal_note": TextField,
        }
        widgets = {
            "next_follow_up": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 4}),
            "personal_note": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"next_follow_up": _("next follow-up")}

    def __init__(self, *args: Any, organisers: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        notes = self.fields["notes"]
        notes.validators.append(MaxLengthValidator(MAX_NOTES_LENGTH))
        notes.widget.attrs["maxlength"] = str(MAX_NOTES_LENGTH)
        note = self.fields["personal_note"]
        note.validators.append(MaxLengthValidator(NOTE_MAX_LENGTH))
        note.widget.attrs["maxlength"] = str(NOTE_MAX_LENGTH)
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


class ProspectImportForm(ImportForm):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8, comma-, semicolon- or tab-separated, with a header row. Columns we "
            "read: organisation, email, contact name (or first and last name), "
            "notes, large, owner."
        ),
    )


class ProspectImportConfirmForm(SignedFileForm):
    salt = "signers.prospect-import"


class InviteForm(forms.Form):
    """Who to invite: one prospect, the ticked ones, or everyone not yet invited."""

    only = forms.IntegerField(required=False)
    selected = forms.TypedMultipleChoiceField(coerce=int, required=False)
    everyone = forms.BooleanField(required=False)
    # The list's "all on this page" box: then every id the page showed.
    all_shown = forms.BooleanField(required=False)
    shown = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("selected", "shown"):
            values = self.data.getlist(name) if hasattr(self.data, "getlist") else []
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [(v, v) for v in values]

    def prospect_ids(self) -> list[int] | None:
        """None means every invitable prospect."""
        data = self.cleaned_data
        if data.get("only"):
            return [data["only"]]
        if data.get("everyone"):
            return None
        chosen = data.get("shown") if data.get("all_shown") else data.get("selected")
        return list(chosen or [])


class InvitationComposeForm(forms.Form):
    """The send step: the batch's subject and opening, the personal notes of
    the prospects invited, and whose invitation to preview.

    Left as the site's wording (the initial text), the subject and opening
    clean to "" and the site's wording (translated, with its emphasis) is
    sent."""

    subject = TextField(label=_("Subject"), max_length=200, required=False)
    opening = TextField(
        label=_("Opening paragraph"),
        multiline=True,
        max_length=2000,
        required=False,
        help_text=_(
            "Plain text. {organisation} is replaced by each prospect's "
            "organisation. The greeting, the points of unity and the links follow."
        ),
    )
    preview = forms.TypedChoiceField(
        label=_("Preview the email to"), coerce=int, required=False
    )

    def __init__(
        self,
        *args: Any,
        default_subject: str,
        default_opening: str,
        prospects: list[Prospect],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.defaults = {"subject": default_subject, "opening": default_opening}
        self.fields["subject"].initial = default_subject
        self.fields["opening"].initial = default_opening
        preview = self.fields["preview"]
        assert isinstance(preview, forms.ChoiceField)
        preview.choices = [
            (p.pk, f"{p.organisation} <{p.email}>")
            for p in prospects[:PREVIEW_CHOICES_LIMIT]
        ]
        self.note_names: dict[int, str] = {}
        for prospect in prospects[:NOTES_INLINE_LIMIT]:
            name = f"note-{prospect.pk}"
            self.fields[name] = TextField(
                label=_("Note to %(organisation)s")
                % {"organisation": prospect.organisation},
                multiline=True,
                max_length=NOTE_MAX_LENGTH,
                required=False,
                initial=prospect.personal_note,
            )
            self.fields[name].widget.attrs.update(
                {"rows": "2", "maxlength": str(NOTE_MAX_LENGTH)}
            )
            self.note_names[prospect.pk] = name

    def _own(self, name: str) -> str:
        value = str(self.cleaned_data.get(name) or "").strip()
        return "" if value == self.defaults[name].strip() else value

    def clean_subject(self) -> str:
        return self._own("subject")

    def clean_opening(self) -> str:
        return self._own("opening")

    def notes(self) -> dict[int, str]:
        """The notes written inline, by prospect id."""
        return {
            pk: self.cleaned_data.get(name, "") for pk, name in self.note_names.items()
        }

    def note_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.note_names.values()]


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
            "min_days_after_invitation",
            "digest_enabled",
            "digest_hour",
        ]
        help_texts = {
            "min_days_after_invitation": _(
                "Someone invited when a reminder is already due gets it only "
                "after this many days, never seconds after the invitation."
            ),
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

    def clean_min_days_after_invitation(self) -> int:
        days = int(self.cleaned_data["min_days_after_invitation"])
        if days > 30:
            raise forms.ValidationError(_("From 0 to 30 days."))
        return days

    def clean_digest_hour(self) -> int:
        hour = int(self.cleaned_data["digest_hour"])
        if hour > 23:
            raise forms.ValidationError(_("An hour from 0 to 23."))
        return hour
