"""The prospect list's sortable columns and the actions on ticked prospects."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from coalition.types import AuthedHttpRequest
from letters.models import Membership
from letters.permissions import require_letter_role
from signers.forms.prospects import ProspectBulkForm
from signers.selectors.signatures import letter_organisers
from signers.services.outreach import prospects_set_owner, prospects_set_status


@dataclass(frozen=True)
class SortColumn:
    """A column heading of the prospect list: its link sorts by it."""

    key: str
    label: str
    url: str
    # "ascending" or "descending" on the column the list is sorted by.
    aria_sort: str


def sort_columns(query: QueryDict, sort: str, descending: bool) -> list[SortColumn]:
    """The sortable headings, each a link that keeps the filters; the sorted
    column's link turns the order round."""
    labels = {
        "organisation": _("Organisation"),
        "contact": _("Contact"),
        "status": _("Status"),
        "holder": _("Held by"),
        "invited": _("Invited"),
        "contacted": _("Last contacted"),
    }
    columns = []
    for key, label in labels.items():
        active = key == sort
        params = query.copy()
        params.pop("page", None)
        params["sort"] = key
        params["dir"] = "asc" if (active and descending) or not active else "desc"
        aria = ("descending" if descending else "ascending") if active else ""
        columns.append(SortColumn(key, label, f"?{params.urlencode()}", aria))
    return columns


def _back(slug: str, query: str) -> HttpResponse:
    """Back to the list as it was (filters, order, page), from the list's own
    query string, decoded and encoded again: it can only ever be a query."""
    params = QueryDict(query[:2000]).urlencode()
    url = reverse("signers:outreach", kwargs={"slug": slug})
    return redirect(f"{url}?{params}" if params else url)


@login_required
@require_POST
def prospects_bulk(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    """Set the holder or the status of the ticked prospects, in one go."""
    letter = require_letter_role(request, slug, Membership.Role.EDITOR).letter
    organisers = letter_organisers(letter=letter)
    form = ProspectBulkForm(request.POST, organisers=organisers)
    back = _back(letter.slug, request.POST.get("back", ""))
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(str(e) for e in errors))
        return back
    ids, data = form.prospect_ids(), form.cleaned_data
    if not ids:
        messages.error(request, _("Tick the prospects to change first."))
        return back
    try:
        if data["action"] == "owner":
            count = prospects_set_owner(
                letter=letter, actor=request.user, prospect_ids=ids, owner=data["owner"]
            )
        else:
            count = prospects_set_status(
                letter=letter,
                actor=request.user,
                prospect_ids=ids,
                status=data["status"],
            )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return back
    messages.success(
        request,
        ngettext("%(n)d prospect changed.", "%(n)d prospects changed.", count)
        % {"n": count},
    )
    return back
