"""Forms for coalition communications: updates, the digest, calls, re-issue."""

from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coalition.forms import TextField
from letters.forms import LocalDateTimeField
from letters.models import Letter
from signers.models import Call, Update

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
