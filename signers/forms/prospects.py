"""The prospect list's sorting and the actions on the ticked prospects."""

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from coalition.models import User
from signers.models import Prospect
from signers.selectors.outreach import DEFAULT_PROSPECT_SORT, PROSPECT_SORTS


def _bulk_statuses() -> list[tuple[str, Any]]:
    return [(s.value, s.label) for s in Prospect.BULK_STATUSES]


class ProspectSortForm(forms.Form):
    """``?sort=...&dir=...``: only known columns; anything else is the default."""

    sort = forms.ChoiceField(
        required=False, choices=[(key, key) for key in PROSPECT_SORTS]
    )
    dir = forms.ChoiceField(required=False, choices=[("asc", "asc"), ("desc", "desc")])

    def chosen(self) -> tuple[str, bool]:
        """(column, descending)."""
        if not self.is_valid():
            return DEFAULT_PROSPECT_SORT, False
        sort = self.cleaned_data.get("sort") or DEFAULT_PROSPECT_SORT
        return sort, self.cleaned_data.get("dir") == "desc"


class IdsField(forms.TypedMultipleChoiceField):
    """Whole numbers posted by the list; which rows they are is the service's
    to check (only the letter's own prospects are touched)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(coerce=int, required=False, **kwargs)

    def valid_value(self, value: Any) -> bool:
        return str(value).isdigit()


class ProspectBulkForm(forms.Form):
    """The ticked prospects (or every one shown on the page) and what to do."""

    action = forms.ChoiceField(choices=[("owner", "owner"), ("status", "status")])
    selected = IdsField()
    # The select-all box, which works without scripts: the page posts the ids
    # it showed, and ticking the box means all of them.
    all_shown = forms.BooleanField(required=False)
    shown = IdsField()
    owner = forms.ModelChoiceField(
        label=_("Relationship held by"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody"),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("Choose a status")), *_bulk_statuses()],
        required=False,
    )

    def __init__(self, *args: Any, organisers: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.queryset = organisers

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "status" and not data.get("status"):
            self.add_error("status", _("Choose the status to set."))
        return data

    def prospect_ids(self) -> list[int]:
        data = self.cleaned_data
        chosen = data.get("shown") if data.get("all_shown") else data.get("selected")
        return sorted(set(chosen or []))
