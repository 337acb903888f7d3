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
