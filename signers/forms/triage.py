"""Forms of the change-request triage page and the signing notices' setting."""

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from coalition.forms import TextField
from letters.models import Revision
from signers.models import ChangeRequest

MAX_ANSWER_LENGTH = 5000


class ChangeRequestFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *ChangeRequest.Status.choices],
    )


class AcceptForm(forms.Form):
    revision_number = forms.TypedChoiceField(
        label=_("Accepted in revision"), coerce=int, choices=[]
    )

    def __init__(
        self, *args: Any, revisions: QuerySet[Revision], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["revision_number"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [
            (r.number, _("Revision %(n)d") % {"n": r.number}) for r in revisions
        ]


class DeclineForm(forms.Form):
    reason = TextField(
        label=_("Reason (optional, for the organisers)"),
        required=False,
        multiline=True,
        max_length=MAX_ANSWER_LENGTH,
    )


class ReplyForm(forms.Form):
    text = TextField(
        label=_("Reply, emailed to them"),
        multiline=True,
        max_length=MAX_ANSWER_LENGTH,
    )


class NoticeSettingForm(forms.Form):
    letter = forms.IntegerField(widget=forms.HiddenInput)
    notify = forms.TypedChoiceField(
        choices=[("on", "on"), ("off", "off")], coerce=lambda v: v == "on"
    )
