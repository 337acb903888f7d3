import datetime
import zoneinfo
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.fields import BaseTemporalField
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coalition.forms import TextField
from coalition.models import Coalition
from letters.models import (
    MAX_POINT_LENGTH,
    MAX_POINTS,
    SIGNING_OPTIONAL_FIELDS,
    TEXT_LIMITS,
    Letter,
    Membership,
    Revision,
    SigningFieldState,
)
from letters.validators import (
    canonical_time_zone,
    clean_body,
    clean_signing_fields,
    time_zone_names,
)

POINT_FIELDS = [f"point_{n}" for n in range(1, MAX_POINTS + 1)]
DEADLINE_FIELDS = ("soft_deadline", "hard_deadline", "release_at")


def _minute(value: datetime.datetime | None) -> datetime.datetime | None:
    return value.replace(second=0, microsecond=0) if value else None


class LocalDateTimeField(forms.DateTimeField):
    """A wall-clock date and time, read in the letter's zone by the form.

    Django would read it in the active zone; the letter's zone may be changing
    in the same form, so this field stays naive and the form's ``clean`` makes
    it aware.
    """

    widget = forms.DateTimeInput(
        attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
    )
    input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]

    def to_python(self, value: Any) -> datetime.datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime.datetime):
            return value
        parsed: datetime.datetime | None = BaseTemporalField.to_python(self, value)
        return parsed


class TimeZoneInput(forms.TextInput):
    """A text input suggesting every zone name as the organiser types."""

    template_name = "letters/_time_zone_input.html"

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["zones"] = time_zone_names()
        return context


class TimeZoneField(TextField):
    widget = TimeZoneInput(attrs={"autocomplete": "off", "spellcheck": "false"})

    def clean(self, value: Any) -> str:
        return canonical_time_zone(str(super().clean(value)))


class LetterDraftForm(forms.Form):
    """The working draft: title, addressee, one to three points, body."""

    title = TextField(label=_("Title"), max_length=TEXT_LIMITS["title"])
    addressee = TextField(
        label=_("Addressee"),
        max_length=TEXT_LIMITS["addressee"],
        required=False,
        help_text=_("For example: To the Members of the City Council"),
    )
    point_1 = TextField(
        label=_("Point of unity 1"),
        max_length=MAX_POINT_LENGTH,
        error_messages={"required": _("Write at least one point of unity.")},
        help_text=_("One short statement every signer agrees with."),
    )
    point_2 = TextField(
        label=_("Point of unity 2"), max_length=MAX_POINT_LENGTH, required=False
    )
    point_3 = TextField(
        label=_("Point of unity 3"), max_length=MAX_POINT_LENGTH, required=False
    )
    body = TextField(
        label=_("Letter"),
        # The browser counts a line break as one character, as clean_body does.
        widget=forms.Textarea(attrs={"rows": 16, "maxlength": TEXT_LIMITS["body"]}),
        help_text=_(
            "Markdown: a blank line between paragraphs, **bold**, *italic*, "
            "- lists, [a link](https://example.org)."
        ),
    )
    base_version = TextField(widget=forms.HiddenInput, required=False)

    @staticmethod
    def initial_for(letter: Letter) -> dict[str, Any]:
        points = list(letter.points)[:MAX_POINTS]
        return {
            "title": letter.title,
            "addressee": letter.addressee,
            "body": letter.body,
            "base_version": letter.draft_version,
            **dict(zip(POINT_FIELDS, points, strict=False)),
        }

    def clean_body(self) -> str:
        return clean_body(self.cleaned_data["body"])

    def draft_fields(self) -> dict[str, Any]:
        """The service's keyword arguments, from valid data."""
        data = self.cleaned_data
        return {
            "title": data["title"],
            "addressee": data["addressee"],
            "points": [data[f] for f in POINT_FIELDS if data.get(f)],
            "body": data["body"],
        }


class LetterCreateForm(LetterDraftForm):
    base_version = None  # type: ignore[assignment]  # nothing to be stale against
    slug = forms.SlugField(
        label=_("Web address"),
        max_length=80,
        required=False,
        help_text=_(
            "Letters, numbers and hyphens, used in the letter's links. "
            "Left empty, it is made from the title."
        ),
    )
    time_zone = TimeZoneField(
        label=_("Time zone"),
        initial="UTC",
        help_text=_(
            "Deadlines are entered and shown in this zone. Start typing a city: "
            "Europe/Paris, America/New_York."
        ),
    )

    coalition = forms.ModelChoiceField(
        label=_("Coalition"),
        queryset=Coalition.objects.none(),
        required=False,
        empty_label=_("A new coalition named after this letter"),
        help_text=_(
            "The coalition's members get the same access to the letter as they "
            "have in the coalition."
        ),
    )

    field_order = [
        "title",
        "coalition",
        "slug",
        "time_zone",
        "addressee",
        *POINT_FIELDS,
        "body",
    ]

    def __init__(
        self, *args: Any, coalitions: "QuerySet[Coalition] | None" = None, **kw: Any
    ):
        super().__init__(*args, **kw)
        if coalitions is not None:
            self.fields["coalition"].queryset = coalitions  # type: ignore[attr-defined]

    def clean_slug(self) -> str:
        slug: str = self.cleaned_data["slug"]
        if slug and Letter.objects.filter(slug=slug).exists():
            raise ValidationError(_("Another letter already uses this web address."))
        return slug


class LetterSettingsForm(forms.Form):
    slug = forms.SlugField(
        label=_("Web address"),
        max_length=80,
        help_text=_("Letters, numbers and hyphens. It can change only in draft."),
    )
    time_zone = TimeZoneField(
        label=_("Time zone"),
        help_text=_(
            "The dates below are entered and shown in this zone. Start typing a "
            "city: Europe/Paris, America/New_York."
        ),
    )
    reply_to = forms.EmailField(
        label=_("Reply-to address"),
        required=False,
        help_text=_("Replies to invitations and updates go here."),
    )
    signer_kinds = forms.ChoiceField(
        label=_("Who may sign"),
        choices=Letter.SignerKinds.choices,
        widget=forms.RadioSelect,
    )
    open_joining = forms.BooleanField(
        label=_("Once published, anyone may add their organisation"), required=False
    )
    join_requires_approval = forms.BooleanField(
        label=_("Organisers approve each open join before it is listed"),
        required=False,
    )
    pdf_logos = forms.BooleanField(
        label=_("Show signers' logos in the PDF"),
        required=False,
        help_text=_(
            "Only the logos of organisations that agreed to show theirs. The "
            "public page shows them either way."
        ),
    )
    soft_deadline = LocalDateTimeField(
        label=_("Deadline given to invitees"), required=False
    )
    hard_deadline = LocalDateTimeField(
        label=_("Signing closes"),
        required=False,
        help_text=_("Not before the deadline given to invitees."),
    )
    release_at = LocalDateTimeField(
        label=_("Publish automatically at"),
        required=False,
        help_text=_("Leave empty to publish by hand."),
    )

    def __init__(self, *args: Any, letter: Letter, read_only: bool = False, **kw: Any):
        self.letter = letter
        zone = zoneinfo.ZoneInfo(letter.time_zone)
        initial = {
            "slug": letter.slug,
            "time_zone": letter.time_zone,
            "reply_to": letter.reply_to,
            "signer_kinds": letter.signer_kinds,
            "open_joining": letter.open_joining,
            "join_requires_approval": letter.join_requires_approval,
            "pdf_logos": letter.pdf_logos,
        }
        for name in DEADLINE_FIELDS:
            value = getattr(letter, name)
            initial[name] = (
                timezone.localtime(value, zone).replace(tzinfo=None) if value else None
            )
        kw["initial"] = initial
        super().__init__(*args, **kw)
        if letter.status != Letter.Status.DRAFT:
            self.fields["slug"].disabled = True
        for field in self.fields.values():
            field.disabled = field.disabled or read_only

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        zone = zoneinfo.ZoneInfo(data.get("time_zone") or self.letter.time_zone)
        for name in DEADLINE_FIELDS:
            value = data.get(name)
            if value is None:
                continue
            value = value.replace(tzinfo=zone)
            stored = getattr(self.letter, name)
            # The form shows minutes: an untouched field keeps the stored value.
            data[name] = stored if _minute(value) == _minute(stored) else value
        soft, hard = data.get("soft_deadline"), data.get("hard_deadline")
        if soft and hard and hard < soft:
            self.add_error(
                "hard_deadline",
                _("Signing cannot close before the date given to invitees."),
            )
        release = data.get("release_at")
        if release and release != self.letter.release_at and release <= timezone.now():
            self.add_error(
                "release_at", _("The release date is in the past: pick a later one.")
            )
        return data


class SigningFieldsForm(forms.Form):
    """What the signing form asks, beyond the name, the email and the consents
    it always asks."""

    prefix = "signing"

    def __init__(self, *args: Any, letter: Letter, read_only: bool = False, **kw: Any):
        super().__init__(*args, **kw)
        for name, label in SIGNING_OPTIONAL_FIELDS.items():
            self.fields[name] = forms.ChoiceField(
                label=str(label),
                choices=SigningFieldState.choices,
                initial=letter.signing_field(name),
                disabled=read_only,
            )

    def signing_fields(self) -> dict[str, str]:
        return clean_signing_fields(self.cleaned_data)


class RevisionPublishForm(forms.Form):
    change_note = TextField(
        label=_("What changed, and why"),
        max_length=TEXT_LIMITS["change_note"],
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Signers may see this note with the differences."),
    )
    kind = forms.ChoiceField(
        label=_("What kind of change is this?"),
        choices=[
            (Revision.Kind.EDITORIAL, Revision.Kind.EDITORIAL.label),
            (Revision.Kind.MATERIAL, Revision.Kind.MATERIAL.label),
        ],
        widget=forms.RadioSelect,
        help_text=_(
            "Editorial: typos and formatting; earlier signers are told. Material: "
            "the meaning changed; earlier signers must confirm again before they "
            "are listed or counted."
        ),
    )

    def __init__(self, *args: Any, first: bool, needs_kind: bool, **kw: Any):
        super().__init__(*args, **kw)
        if first:
            self.fields["change_note"].required = False
        if first or not needs_kind:
            del self.fields["kind"]


class RevisionCompareForm(forms.Form):
    old = forms.TypedChoiceField(label=_("Compare revision"), coerce=int)
    new = forms.TypedChoiceField(label=_("with revision"), coerce=int)

    def __init__(self, *args: Any, numbers: list[int], **kw: Any):
        super().__init__(*args, **kw)
        choices = [(n, str(n)) for n in numbers]
        self.fields["old"].choices = choices  # type: ignore[attr-defined]
        self.fields["new"].choices = choices  # type: ignore[attr-defined]


class TeamInviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(
        label=_("Role"),
        choices=Membership.Role.choices,
        initial=Membership.Role.EDITOR,
    )

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)
