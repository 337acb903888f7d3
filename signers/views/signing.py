"""Signing: invitations, the open join form, confirming, withdrawing, re-confirming."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from coalition.network import client_network
from coalition.tokens import make_token
from letters.diff import diff_revisions
from letters.models import Letter
from signers.forms.signing import (
    DeclineForm,
    ReferralForm,
    RevisionForm,
    SignatureForm,
    StatusRequestForm,
)
from signers.models import (
    Prospect,
    Signature,
)
from signers.ratelimits import join_limit_exceeded
from signers.selectors.signatures import (
    signature_live_for_prospect,
    signing_closed_reason,
)
from signers.services.logos import signature_create_with_logo
from signers.services.responses import (
    prospect_decline,
    prospect_mark_opened,
    referral_create,
)
from signers.services.signatures import (
    signature_confirm,
    signature_reconfirm,
    signature_status_send,
    signature_withdraw,
)
from signers.services.signing import letter_lock_to_join
from signers.views.links import (
    add_form_errors,
    closed_page,
    opened_url,
    prospect_link,
    revision_text,
    signature_link,
    signing_page,
    status_page,
    thanks_url,
)
from signers.views.logos import chosen_logo, logo_valid, signing_logo_form
from signers.views.self_service import editable

# --- Signers --------------------------------------------------------------------


@prospect_link("invite")
def invitation(request: HttpRequest, prospect: Prospect) -> HttpResponse:
    letter = prospect.letter
    reason = signing_closed_reason(letter=letter, via="invitation")
    if reason:
        return closed_page(request, letter, reason)
    existing = signature_live_for_prospect(prospect_id=prospect.pk)
    if existing is not None:
        return status_page(request, existing)
    form = SignatureForm(request.POST or None, letter=letter)
    logo_form = signing_logo_form(request, letter)
    if request.method == "POST" and form.is_valid() & logo_valid(logo_form):
        try:
            signature = signature_create_with_logo(
                logo=chosen_logo(logo_form),
                letter=letter,
                revision_id=form.cleaned_data["revision"],
                source=Signature.Source.INVITATION,
                prospect=prospect,
                **form.signature_fields(),
            )
        except ValidationError as exc:
            add_form_errors(form, exc, letter)
        else:
            # A person signed from the page: that, not the GET, is "opened".
            prospect_mark_opened(prospect_id=prospect.pk)
            return redirect(thanks_url(signature))
    elif request.method != "POST":
        form.initial = {
            "display_name": prospect.organisation,
            "contact_name": prospect.contact_name,
            "email": prospect.email,
            "revision": letter.current_revision_id,
        }
    decline_url = reverse("signers:decline", args=[make_token("decline", prospect.pk)])
    return signing_page(
        request,
        "signers/invitation_sign.html",
        letter,
        form,
        logo_form=logo_form,
        prospect=prospect,
        decline_url=decline_url,
        opened_url=opened_url(prospect),
    )


@require_POST
@prospect_link("invite")
def invitation_opened(request: HttpRequest, prospect: Prospect) -> HttpResponse:
    """The invitation page posts here (static/js/invitation.js, with the CSRF
    token) once a person touches it: mail scanners fetch the link, and some
    run its scripts, but they do not press keys or buttons."""
    prospect_mark_opened(prospect_id=prospect.pk)
    return HttpResponse(status=204)


@prospect_link("decline")
def decline(request: HttpRequest, prospect: Prospect) -> HttpResponse:
    letter = prospect.letter
    existing = signature_live_for_prospect(prospect_id=prospect.pk)
    if existing is not None:
        return status_page(request, existing)
    revision = letter.current_revision
    form = DeclineForm(request.POST or None, revision=revision)
    if request.method == "POST" and form.is_valid():
        done = prospect_decline(
            prospect_id=prospect.pk,
            reason=form.cleaned_data["reason"],
            anchor=form.cleaned_data.get("anchor") or "general",
            change=form.cleaned_data.get("change", ""),
        )
        context = {"letter": letter, "done": done}
        return render(request, "signers/invitation_declined.html", context)
    context = {
        "letter": letter,
        "prospect": prospect,
        "form": form,
        "opened_url": opened_url(prospect),
        **revision_text(revision),
    }
    return render(request, "signers/invitation_decline.html", context)


def join(request: HttpRequest, slug: str) -> HttpResponse:
    if request.method == "POST":
        return _join_post(request, slug)
    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    reason = signing_closed_reason(letter=letter, via="open_join")
    if reason:
        return closed_page(request, letter, reason)
    form = SignatureForm(
        letter=letter, initial={"revision": letter.current_revision_id}
    )
    logo_form = signing_logo_form(request, letter)
    return signing_page(
        request, "signers/signature_join.html", letter, form, logo_form=logo_form
    )


def _join_post(request: HttpRequest, slug: str) -> HttpResponse:
    """The join form posted. The letter is read once, under the lock that
    signing needs (``letter_lock_to_join``), and the form checked against it;
    the page with the form's errors is rendered once the lock is let go."""
    limited = False
    # A taken address may have its status emailed to it, never shown here.
    status_email = ""
    try:
        with transaction.atomic():
            try:
                letter = letter_lock_to_join(slug=slug)
            except Letter.DoesNotExist:
                raise Http404 from None
            reason = signing_closed_reason(letter=letter, via="open_join")
            form = SignatureForm(
                request.POST,
                letter=letter,
                initial={"revision": letter.current_revision_id},
            )
            logo_form = signing_logo_form(request, letter)
            if not reason and form.is_valid() & logo_valid(logo_form):
                limited = join_limit_exceeded(
                    ip=client_network(request), email=form.cleaned_data["email"]
                )
                if not limited:
                    signature_create_with_logo(
                        logo=chosen_logo(logo_form),
                        locked=letter,
                        revision_id=form.cleaned_data["revision"],
                        source=Signature.Source.OPEN_JOIN,
                        **form.signature_fields(),
                    )
                    return redirect("signers:join-sent", slug=letter.slug)
    except ValidationError as exc:
        add_form_errors(form, exc, letter)
        if exc.code == "duplicate" and (exc.params or {}).get("taken") == "email":
            status_email = form.cleaned_data["email"]
    if reason:
        return closed_page(request, letter, reason)
    if limited:
        form.add_error(None, _too_many())
    return signing_page(
        request,
        "signers/signature_join.html",
        letter,
        form,
        logo_form=logo_form,
        limited=limited,
        status_email=status_email,
    )


@require_POST
def join_status(request: HttpRequest, slug: str) -> HttpResponse:
    """Send a taken address the status of its signature. The answer is the
    same whether or not the address has signed; rate-limited like the form."""
    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    form = StatusRequestForm(request.POST)
    if not form.is_valid():
        return redirect("signers:join", slug=letter.slug)
    email = form.cleaned_data["email"]
    if join_limit_exceeded(ip=client_network(request), email=email):
        context = {"letter": letter, "message": _too_many()}
        return render(
            request, "signers/signature_status_sent.html", context, status=429
        )
    signature_status_send(letter=letter, email=email)
    return redirect("signers:join-status-sent", slug=letter.slug)


def join_status_sent(request: HttpRequest, slug: str) -> HttpResponse:
    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    return render(request, "signers/signature_status_sent.html", {"letter": letter})


def _too_many() -> str:
    return _(
        "We have received too many signatures from your network or for this email "
        "address in the last hour. Nothing was saved; please try again later, or "
        "write to the organisers."
    )


def join_sent(request: HttpRequest, slug: str) -> HttpResponse:
    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    return render(request, "signers/signature_join_sent.html", {"letter": letter})


@signature_link("confirm")
def confirm(request: HttpRequest, signature: Signature) -> HttpResponse:
    letter = signature.letter
    if signature.has_expired(timezone.now()):
        # What beat (or the button) will record; a GET writes nothing.
        signature.status = Signature.Status.EXPIRED
    if signature.status != Signature.Status.PENDING:
        return status_page(request, signature)
    form = RevisionForm(
        request.POST or None, initial={"revision": letter.current_revision_id}
    )
    if request.method == "POST" and form.is_valid():
        try:
            done = signature_confirm(
                signature_id=signature.pk, revision_id=form.cleaned_data["revision"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(request.path)
        if done:
            return redirect(thanks_url(signature))
        signature.refresh_from_db()
        return status_page(request, signature)
    context = {"signature": signature, "letter": letter, "form": form}
    return render(
        request,
        "signers/signature_confirm.html",
        {**context, **revision_text(letter.current_revision)},
    )


@signature_link("withdraw")
def withdraw(request: HttpRequest, signature: Signature) -> HttpResponse:
    if signature.status not in Signature.LIVE_STATUSES:
        return status_page(request, signature)
    if request.method == "POST":
        if signature_withdraw(signature_id=signature.pk):
            messages.success(request, _("Your signature has been withdrawn."))
        return redirect(request.path)
    context = {"signature": signature, "letter": signature.letter}
    return render(request, "signers/signature_withdraw.html", context)


@signature_link("reconfirm")
def reconfirm(request: HttpRequest, signature: Signature) -> HttpResponse:
    letter = signature.letter
    current = letter.current_revision
    if signature.status != Signature.Status.NEEDS_RECONFIRMATION or current is None:
        return status_page(request, signature)
    form = RevisionForm(request.POST or None, initial={"revision": current.pk})
    if request.method == "POST" and form.is_valid():
        try:
            if signature_reconfirm(
                signature_id=signature.pk, revision_id=form.cleaned_data["revision"]
            ):
                messages.success(request, _("Thank you: you have re-confirmed."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect(request.path)
    context = {
        "signature": signature,
        "letter": letter,
        "form": form,
        "fields": diff_revisions(signature.revision, current),
        "withdraw_url": reverse(
            "signers:withdraw", args=[make_token("withdraw", signature.pk)]
        ),
        **revision_text(current),
    }
    return render(request, "signers/signature_reconfirm.html", context)


@signature_link("refer")
def thanks(request: HttpRequest, signature: Signature) -> HttpResponse:
    if not editable(signature):
        return status_page(request, signature)
    form = ReferralForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "leave_empty"}
        try:
            prospect = referral_create(signature=signature, **data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("Thank you! We will pass %(org)s on to the organisers.")
                % {"org": prospect.organisation},
            )
            return redirect(request.path)
    suggest_url = reverse("signers:suggest", args=[make_token("edit", signature.pk)])
    context = {"signature": signature, "form": form, "suggest_url": suggest_url}
    return render(request, "signers/signature_thanks.html", context)
