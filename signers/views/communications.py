"""Coalition communications: updates, the signer-list digest, calls."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from coalition.types import AuthedHttpRequest
from letters.markdown import render_markdown
from letters.models import Letter, Membership
from signers.forms.communications import (
    CallForm,
    CallNotesForm,
    RsvpForm,
    SignerListDigestForm,
    UpdateForm,
)
from signers.models import (
    Call,
    CallInvitation,
    Update,
)
from signers.planning.reminders import schedule_for
from signers.selectors.communications import (
    call_invitation_list,
    call_list,
    reissue_opt_in_counts,
    update_audience_counts,
    update_list,
    update_progress,
    update_recipient_count,
)
from signers.selectors.signatures import organiser_role
from signers.services import communications as communications_services
from signers.services.communications import (
    call_create,
    call_notes_post,
    call_update,
    signer_list_digest_set,
    update_create,
    update_limit_error,
    update_send_test,
)
from signers.views.links import add_form_errors, row_link, status_page
from signers.views.outreach import outreach_letter
from signers.views.self_service import editable

# --- Coalition communications: updates, calls, re-issue --------------------------


def _update_of(letter: Letter, pk: int) -> Update:
    return get_object_or_404(letter.updates.select_related("letter"), pk=pk)


def _call_of(letter: Letter, pk: int) -> Call:
    return get_object_or_404(letter.calls.select_related("letter"), pk=pk)


@login_required
@require_GET
def updates(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    """The Updates tab: updates sent and drafted, the signer list digest, calls."""
    letter, can_edit = outreach_letter(request, slug)
    schedule = schedule_for(letter)
    role = organiser_role(letter=letter, user=request.user)
    context = {
        "letter": letter,
        "can_edit": can_edit,
        "updates": update_list(letter=letter),
        "audience": update_audience_counts(letter=letter),
        "limit": settings.SIGNERS_UPDATES_PER_WEEK,
        "limit_error": update_limit_error(letter=letter, now=timezone.now()),
        "digest_form": SignerListDigestForm(
            initial={"signer_list_digest": schedule.signer_list_digest}
        ),
        "calls": call_list(letter=letter)[:5],
        "can_reissue": role == Membership.Role.OWNER
        and letter.status == Letter.Status.CLOSED,
        "reissues": reissue_opt_in_counts(letter=letter),
    }
    return render(request, "signers/update_list.html", context)


@login_required
def update_new(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    letter, _edit = outreach_letter(request, slug, edit=True)
    form = UpdateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        update = update_create(letter=letter, actor=request.user, **form.cleaned_data)
        messages.success(request, _("Draft saved. Check the preview, then send."))
        return redirect("signers:update-detail", slug=letter.slug, pk=update.pk)
    context = {"letter": letter, "form": form}
    return render(request, "signers/update_form.html", context)


@login_required
def update_edit(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    letter, _edit = outreach_letter(request, slug, edit=True)
    update = _update_of(letter, pk)
    initial = {f: getattr(update, f) for f in ("subject", "body", "audience")}
    form = UpdateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            communications_services.update_edit(update=update, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Draft saved."))
        return redirect("signers:update-detail", slug=letter.slug, pk=update.pk)
    context = {"letter": letter, "form": form, "update": update}
    return render(request, "signers/update_form.html", context)


@login_required
@require_GET
def update_detail(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    """A draft's preview and buttons; once sent, progress per recipient (HTMX
    polls the partial while it sends)."""
    letter, can_edit = outreach_letter(request, slug)
    update = _update_of(letter, pk)
    context = {
        "letter": letter,
        "update": update,
        "can_edit": can_edit,
        "body_html": render_markdown(update.body),
        "progress": update_progress(update=update),
        "recipients": update_recipient_count(update=update),
        "limit_error": update_limit_error(letter=letter, now=timezone.now()),
    }
    if request.htmx:
        return render(request, "signers/_update_progress.html", context)
    return render(request, "signers/update_detail.html", context)


@login_required
@require_POST
def update_test(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    letter, _edit = outreach_letter(request, slug, edit=True)
    update = _update_of(letter, pk)
    update_send_test(update=update, actor=request.user)
    messages.success(
        request, _("A test is on its way to %(email)s.") % {"email": request.user.email}
    )
    return redirect("signers:update-detail", slug=letter.slug, pk=update.pk)


@login_required
@require_POST
def update_send(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    letter, _edit = outreach_letter(request, slug, edit=True)
    update = _update_of(letter, pk)
    try:
        count = communications_services.update_send(update=update, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Sending to %(n)d recipients.") % {"n": count})
    return redirect("signers:update-detail", slug=letter.slug, pk=update.pk)


@login_required
@require_POST
def update_digest(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    letter, _edit = outreach_letter(request, slug, edit=True)
    form = SignerListDigestForm(request.POST)
    if form.is_valid():
        signer_list_digest_set(
            letter=letter,
            actor=request.user,
            frequency=form.cleaned_data["signer_list_digest"],
        )
        messages.success(request, _("Signer list setting saved."))
    return redirect("signers:updates", slug=letter.slug)


@login_required
@require_GET
def calls(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    letter, can_edit = outreach_letter(request, slug)
    rows = list(call_list(letter=letter))
    context = {
        "letter": letter,
        "can_edit": can_edit,
        "calls": rows,
        "most_invited": max((c.invited for c in rows), default=0),  # type: ignore[attr-defined]
        "now": timezone.now(),
    }
    return render(request, "signers/call_list.html", context)


def _call_form_page(
    request: AuthedHttpRequest, letter: Letter, call: Call | None
) -> HttpResponse:
    form = CallForm(request.POST or None, letter=letter, call=call)
    if request.method == "POST" and form.is_valid():
        try:
            if call is None:
                call = call_create(
                    letter=letter, actor=request.user, **form.cleaned_data
                )
                done = _("Call scheduled; the invitations are on their way.")
            else:
                call = call_update(call=call, actor=request.user, **form.cleaned_data)
                done = _("Call saved.")
        except ValidationError as exc:
            add_form_errors(form, exc, letter)
        else:
            messages.success(request, done)
            return redirect("signers:call-detail", slug=letter.slug, pk=call.pk)
    context = {"letter": letter, "form": form, "call": call}
    return render(request, "signers/call_form.html", context)


@login_required
def call_new(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    letter, _edit = outreach_letter(request, slug, edit=True)
    return _call_form_page(request, letter, None)


@login_required
def call_edit(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    letter, _edit = outreach_letter(request, slug, edit=True)
    return _call_form_page(request, letter, _call_of(letter, pk))


@login_required
@require_GET
def call_detail(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    letter, can_edit = outreach_letter(request, slug)
    call = _call_of(letter, pk)
    context = {
        "letter": letter,
        "call": call,
        "can_edit": can_edit,
        "agenda_html": render_markdown(call.agenda),
        "notes_html": render_markdown(call.notes),
        "invitations": call_invitation_list(call=call),
        "started": call.starts_at <= timezone.now(),
    }
    return render(request, "signers/call_detail.html", context)


@login_required
def call_notes(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    letter, _edit = outreach_letter(request, slug, edit=True)
    call = _call_of(letter, pk)
    form = CallNotesForm(request.POST or None, initial={"notes": call.notes})
    if request.method == "POST" and form.is_valid():
        try:
            sent = call_notes_post(
                call=call, actor=request.user, notes=form.cleaned_data["notes"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("Notes saved and emailed to everyone invited.")
                if sent
                else _("Notes saved (they were emailed before; not sent again)."),
            )
            return redirect("signers:call-detail", slug=letter.slug, pk=call.pk)
    context = {"letter": letter, "call": call, "form": form}
    return render(request, "signers/call_notes.html", context)


@row_link(
    "rsvp", CallInvitation.objects.select_related("call__letter", "signature__letter")
)
def call_rsvp(request: HttpRequest, invitation: CallInvitation) -> HttpResponse:
    """GET shows the call and two buttons; only the POST records the answer.
    Sent to a signature now off the letter, it answers with that status."""
    if invitation.signature is not None and not editable(invitation.signature):
        return status_page(request, invitation.signature)
    call = invitation.call
    context: dict[str, Any] = {
        "invitation": invitation,
        "call": call,
        "letter": call.letter,
        "agenda_html": render_markdown(call.agenda),
    }
    if request.method == "POST":
        form = RsvpForm(request.POST)
        if form.is_valid():
            answer = form.cleaned_data["response"]
            try:
                context["changed"] = communications_services.call_rsvp(
                    invitation_id=invitation.pk, response=answer
                )
            except ValidationError:  # its signature was withdrawn a moment ago
                signature = invitation.signature
                assert signature is not None  # nothing else is refused
                signature.refresh_from_db()
                return status_page(request, signature)
            context["done"] = answer
    return render(request, "signers/call_rsvp.html", context)
