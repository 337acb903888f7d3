"""The change-request triage page, and each user's signing notices."""

from collections.abc import Callable
from functools import partial

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)

from coalition.actions import add_form_error
from coalition.types import AuthedHttpRequest
from letters.models import Letter, Membership
from letters.permissions import require_letter_role
from signers.forms.triage import (
    AcceptForm,
    ChangeRequestFilterForm,
    DeclineForm,
    NoticeSettingForm,
    ReplyForm,
)
from signers.models import ChangeRequest
from signers.selectors.triage import (
    TriageRow,
    change_request_counts,
    change_request_for_organisers,
    change_request_triage,
    revisions_that_may_take,
    signing_notice_settings,
)
from signers.services import notices, triage


@login_required
@require_safe
def change_requests(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    letter = require_letter_role(request, slug).letter
    filters = ChangeRequestFilterForm(request.GET)
    status = filters.cleaned_data["status"] if filters.is_valid() else ""
    context = {
        "letter": letter,
        "filters": filters,
        "status": status,
        "tabs": change_request_counts(letter=letter),
        "rows": change_request_triage(letter=letter, status=status),
    }
    return render(request, "signers/change_request_list.html", context)


def _row(letter: Letter, pk: int) -> TriageRow:
    try:
        return change_request_for_organisers(letter=letter, pk=pk)
    except ChangeRequest.DoesNotExist as exc:
        raise Http404 from exc


def _forms(row: TriageRow) -> dict[str, Callable[..., forms.Form]]:
    revisions = revisions_that_may_take(row.request)
    return {
        "accept": partial(AcceptForm, revisions=revisions),
        "decline": DeclineForm,
        "reply": ReplyForm,
    }


def _detail_page(
    request: AuthedHttpRequest,
    membership: Membership,
    row: TriageRow,
    bound: dict[str, forms.Form] | None = None,
) -> HttpResponse:
    """The request, and (for editors) its answers' forms: ``bound`` are the
    forms posted with errors."""
    context: dict[str, object] = {
        f"{name}_form": make() for name, make in _forms(row).items()
    }
    context.update(
        bound or {},
        letter=membership.letter,
        can_edit=membership.can_edit,
        row=row,
        cr=row.request,
    )
    status = 400 if bound else 200
    return render(request, "signers/change_request_detail.html", context, status=status)


@login_required
@require_safe
def change_request(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = require_letter_role(request, slug)
    return _detail_page(request, membership, _row(membership.letter, pk))


def _answer(
    request: AuthedHttpRequest,
    slug: str,
    pk: int,
    name: str,
    service: Callable[..., object],
    done: str,
) -> HttpResponse:
    """Run an organiser's answer (``name``: accept, decline, reply) from its
    form; the page again with the form's errors if it did not go through."""
    membership = require_letter_role(request, slug, Membership.Role.EDITOR)
    row = _row(membership.letter, pk)
    form = _forms(row)[name](request.POST)
    if form.is_valid():
        try:
            service(
                letter=membership.letter, pk=pk, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, done)
            return redirect("signers:change-request", slug=slug, pk=pk)
    return _detail_page(request, membership, row, {f"{name}_form": form})


@login_required
@require_POST
def change_request_accept(
    request: AuthedHttpRequest, slug: str, pk: int
) -> HttpResponse:
    done = _("Change request accepted.")
    return _answer(request, slug, pk, "accept", triage.change_request_accept, done)


@login_required
@require_POST
def change_request_decline(
    request: AuthedHttpRequest, slug: str, pk: int
) -> HttpResponse:
    done = _("Change request declined.")
    return _answer(request, slug, pk, "decline", triage.change_request_decline, done)


@login_required
@require_POST
def change_request_reply(
    request: AuthedHttpRequest, slug: str, pk: int
) -> HttpResponse:
    done = _("Reply saved; it is being emailed.")
    return _answer(request, slug, pk, "reply", triage.change_request_reply, done)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def notice_settings(request: AuthedHttpRequest) -> HttpResponse:
    """Each letter of the user's, and whether they are emailed when someone
    signs it; only the POST changes it, and only for a letter of theirs."""
    if request.method == "POST":
        form = NoticeSettingForm(request.POST)
        if form.is_valid():
            changed = notices.signing_notices_set(
                user=request.user,
                letter_id=form.cleaned_data["letter"],
                notify=form.cleaned_data["notify"],
            )
            if changed is None:
                raise Http404
            messages.success(request, _("Saved."))
        return redirect("signers:notice-settings")
    context = {"settings": signing_notice_settings(user=request.user)}
    return render(request, "signers/notice_settings.html", context)
