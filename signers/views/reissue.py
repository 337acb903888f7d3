"""Re-issue: a letter sent again as a new one, and its signers' opt-in."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from coalition.types import AuthedHttpRequest
from letters.models import Membership
from signers.forms.communications import ReissueForm
from signers.models import (
    ReissueOptIn,
)
from signers.selectors.signatures import organiser_role, signature_count_public
from signers.services.reissue import letter_reissue, reissue_opt_in_accept
from signers.views.links import revision_text, row_link, status_page
from signers.views.outreach import outreach_letter
from signers.views.self_service import editable


@login_required
def reissue(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    """An owner sends a closed letter's text to a new addressee."""
    letter, _edit = outreach_letter(request, slug, edit=True)
    role = organiser_role(letter=letter, user=request.user)
    if role != Membership.Role.OWNER:
        raise PermissionDenied
    initial = {"title": letter.title, "addressee": letter.addressee}
    form = ReissueForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            new = letter_reissue(letter=letter, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("The new letter is circulating; earlier signers are asked to join."),
            )
            return redirect("letters:detail", slug=new.slug)
    count = signature_count_public(letter=letter)
    context = {"letter": letter, "form": form, "count": count}
    return render(request, "signers/reissue_form.html", context)


@row_link(
    "reissue",
    ReissueOptIn.objects.select_related(
        "reissue__letter__current_revision", "reissue__source", "earlier__letter"
    ),
)
def reissue_opt_in(request: HttpRequest, opt_in: ReissueOptIn) -> HttpResponse:
    """GET shows the new letter and one button; only the POST signs it. Once
    the earlier signature is off its letter, it answers with that status."""
    if opt_in.opted_in_at is None and not editable(opt_in.earlier):
        return status_page(request, opt_in.earlier)
    letter = opt_in.reissue.letter
    context: dict[str, Any] = {
        "opt_in": opt_in,
        "letter": letter,
        "source": opt_in.reissue.source,
        **revision_text(letter.current_revision),
    }
    if request.method == "POST" and opt_in.opted_in_at is None:
        try:
            context["signature"] = reissue_opt_in_accept(opt_in_id=opt_in.pk)
        except ValidationError as exc:
            context["error"] = " ".join(exc.messages)
        else:
            context["done"] = True
    elif opt_in.opted_in_at is not None:
        context["already"] = True
    return render(request, "signers/reissue_opt_in.html", context)
