"""Signing pages (opened from emailed links, or the public join form) and the
organisers' view of a letter's signatures.

Every emailed link opens a page with one button: a GET never signs, confirms,
withdraws or re-confirms anything (mail scanners open links). Only the POST
acts, and a second POST finds the work done.
"""

from collections.abc import Callable
from functools import wraps
from itertools import chain
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from coalition import spreadsheets
from coalition.network import client_network
from coalition.types import AuthedHttpRequest
from letters.diff import diff_revisions
from letters.markdown import render_markdown, render_revision_body
from letters.models import Letter, Membership, Revision
from signers import forms, reminders, selectors, services
from signers.forms import (
    CallForm,
    CallNotesForm,
    InviteForm,
    ProspectFilterForm,
    ProspectForm,
    ProspectImportConfirmForm,
    ProspectImportForm,
    ReissueForm,
    ReminderScheduleForm,
    RsvpForm,
    SignerListDigestForm,
    UpdateForm,
)
from signers.importing import SignatureImportError, read_signer_csv
from signers.models import (
    Call,
    CallInvitation,
    Delivery,
    Prospect,
    ReissueOptIn,
    Signature,
    Update,
)
from signers.ratelimits import join_limit_exceeded
from signers.tokens import TokenError, TokenExpired, make_token, read_token

SignatureView = Callable[[HttpRequest, Signature], HttpResponse]
ProspectView = Callable[[HttpRequest, Prospect], HttpResponse]
LinkView = Callable[[HttpRequest, str], HttpResponse]
Row = TypeVar("Row", Signature, Prospect, CallInvitation, ReissueOptIn)


# --- Helpers ----------------------------------------------------------------------


def _link_problem(request: HttpRequest, purpose: str, *, expired: bool) -> HttpResponse:
    context = {"purpose": purpose, "expired": expired}
    return render(
        request, "signers/link_problem.html", context, status=410 if expired else 400
    )


def _read_link(request: HttpRequest, purpose: str, token: str) -> int | HttpResponse:
    try:
        return read_token(purpose, token)
    except TokenExpired:
        return _link_problem(request, purpose, expired=True)
    except TokenError:
        return _link_problem(request, purpose, expired=False)


def _row_link(
    purpose: str, rows: QuerySet[Row]
) -> Callable[[Callable[[HttpRequest, Row], HttpResponse]], LinkView]:
    """The view gets the row a valid ``purpose`` token names, or the visitor
    gets a page saying the link is broken or expired."""

    def decorator(view: Callable[[HttpRequest, Row], HttpResponse]) -> LinkView:
        @wraps(view)
        @never_cache
        def wrapper(request: HttpRequest, token: str) -> HttpResponse:
            pk = _read_link(request, purpose, token)
            if isinstance(pk, HttpResponse):
                return pk
            row = rows.filter(pk=pk).first()
            if row is None:
                return _link_problem(request, purpose, expired=False)
            return view(request, row)

        return wrapper

    return decorator


def signature_link(purpose: str) -> Callable[[SignatureView], LinkView]:
    rows = Signature.objects.select_related("letter__current_revision", "revision")
    return _row_link(purpose, rows)


def prospect_link(purpose: str) -> Callable[[ProspectView], LinkView]:
    return _row_link(
        purpose, Prospect.objects.select_related("letter__current_revision")
    )


def _text(revision: Revision | None) -> dict[str, Any]:
    """The exact text of a revision, for the page that asks to sign it."""
    if revision is None:
        return {}
    return {"revision": revision, "body_html": render_revision_body(revision)}


def _status_page(request: HttpRequest, signature: Signature) -> HttpResponse:
    """Where a used link lands: what state the signature is in now."""
    return render(request, "signers/signature_status.html", {"signature": signature})


def _closed(request: HttpRequest, letter: Letter, reason: str) -> HttpResponse:
    context = {"letter": letter, "reason": reason}
    return render(request, "signers/signing_closed.html", context)


def _add_errors(form: Form, exc: ValidationError, letter: Letter) -> None:
    if exc.code == "revision_changed":
        # Show the new text, and sign that one if they submit again.
        data = form.data.copy()  # type: ignore[attr-defined]
        data["revision"] = str(letter.current_revision_id)
        form.data = data
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _opened_url(prospect: Prospect) -> str:
    return reverse(
        "signers:invitation-opened", args=[make_token("invite", prospect.pk)]
    )


def _thanks_url(signature: Signature) -> str:
    return reverse("signers:thanks", args=[make_token("refer", signature.pk)])


def _signing_page(
    request: HttpRequest, template: str, letter: Letter, form: Form, **extra: Any
) -> HttpResponse:
    context = {"letter": letter, "form": form, **_text(letter.current_revision)}
    status = 429 if extra.pop("limited", False) else 200
    return render(request, template, {**context, **extra}, status=status)


# --- Signers --------------------------------------------------------------------


@prospect_link("invite")
def invitation(request: HttpRequest, prospect: Prospect) -> HttpResponse:
    letter = prospect.letter
    reason = selectors.signing_closed_reason(letter=letter, via="invitation")
    if reason:
        return _closed(request, letter, reason)
    existing = selectors.signature_live_for_prospect(prospect_id=prospect.pk)
    if existing is not None:
        return _status_page(request, existing)
    form = forms.SignatureForm(request.POST or None, letter=letter)
    if request.method == "POST" and form.is_valid():
        try:
            signature = services.signature_create(
                letter=letter,
                revision_id=form.cleaned_data["revision"],
                source=Signature.Source.INVITATION,
                prospect=prospect,
                **form.signature_fields(),
            )
        except ValidationError as exc:
            _add_errors(form, exc, letter)
        else:
            # A person signed from the page: that, not the GET, is "opened".
            services.prospect_mark_opened(prospect_id=prospect.pk)
            return redirect(_thanks_url(signature))
    elif request.method != "POST":
        form.initial = {
            "display_name": prospect.organisation,
            "contact_name": prospect.contact_name,
            "email": prospect.email,
            "revision": letter.current_revision_id,
        }
    decline_url = reverse("signers:decline", args=[make_token("decline", prospect.pk)])
    return _signing_page(
        request,
        "signers/invitation_sign.html",
        letter,
        form,
        prospect=prospect,
        decline_url=decline_url,
        opened_url=_opened_url(prospect),
    )


@require_POST
@prospect_link("invite")
def invitation_opened(request: HttpRequest, prospect: Prospect) -> HttpResponse:
    """The invitation page posts here (static/js/invitation.js, with the CSRF
    token) once a person touches it: mail scanners fetch the link, and some
    run its scripts, but they do not press keys or buttons."""
    services.prospect_mark_opened(prospect_id=prospect.pk)
    return HttpResponse(status=204)


@prospect_link("decline")
def decline(request: HttpRequest, prospect: Prospect) -> HttpResponse:
    letter = prospect.letter
    existing = selectors.signature_live_for_prospect(prospect_id=prospect.pk)
    if existing is not None:
        return _status_page(request, existing)
    revision = letter.current_revision
    form = forms.DeclineForm(request.POST or None, revision=revision)
    if request.method == "POST" and form.is_valid():
        done = services.prospect_decline(
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
        "opened_url": _opened_url(prospect),
        **_text(revision),
    }
    return render(request, "signers/invitation_decline.html", context)


def join(request: HttpRequest, slug: str) -> HttpResponse:
    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    reason = selectors.signing_closed_reason(letter=letter, via="open_join")
    if reason:
        return _closed(request, letter, reason)
    form = forms.SignatureForm(
        request.POST or None,
        letter=letter,
        initial={"revision": letter.current_revision_id},
    )
    limited = False
    # A taken address may have its status emailed to it, never shown here.
    status_email = ""
    if request.method == "POST" and form.is_valid():
        limited = join_limit_exceeded(
            ip=client_network(request), email=form.cleaned_data["email"]
        )
        if limited:
            form.add_error(None, _too_many())
        else:
            try:
                services.signature_create(
                    letter=letter,
                    revision_id=form.cleaned_data["revision"],
                    source=Signature.Source.OPEN_JOIN,
                    **form.signature_fields(),
                )
            except ValidationError as exc:
                _add_errors(form, exc, letter)
                if (
                    exc.code == "duplicate"
                    and (exc.params or {}).get("taken") == "email"
                ):
                    status_email = form.cleaned_data["email"]
            else:
                return redirect("signers:join-sent", slug=letter.slug)
    return _signing_page(
        request,
        "signers/signature_join.html",
        letter,
        form,
        limited=limited,
        status_email=status_email,
    )


@require_POST
def join_status(request: HttpRequest, slug: str) -> HttpResponse:
    """Send a taken address the status of its signature. The answer is the
    same whether or not the address has signed; rate-limited like the form."""
    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    form = forms.StatusRequestForm(request.POST)
    if not form.is_valid():
        return redirect("signers:join", slug=letter.slug)
    email = form.cleaned_data["email"]
    if join_limit_exceeded(ip=client_network(request), email=email):
        context = {"letter": letter, "message": _too_many()}
        return render(
            request, "signers/signature_status_sent.html", context, status=429
        )
    services.signature_status_send(letter=letter, email=email)
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
        return _status_page(request, signature)
    form = forms.RevisionForm(
        request.POST or None, initial={"revision": letter.current_revision_id}
    )
    if request.method == "POST" and form.is_valid():
        try:
            done = services.signature_confirm(
                signature_id=signature.pk, revision_id=form.cleaned_data["revision"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(request.path)
        if done:
            return redirect(_thanks_url(signature))
        signature.refresh_from_db()
        return _status_page(request, signature)
    context = {"signature": signature, "letter": letter, "form": form}
    return render(
        request,
        "signers/signature_confirm.html",
        {**context, **_text(letter.current_revision)},
    )


@signature_link("withdraw")
def withdraw(request: HttpRequest, signature: Signature) -> HttpResponse:
    if signature.status not in Signature.LIVE_STATUSES:
        return _status_page(request, signature)
    if request.method == "POST":
        if services.signature_withdraw(signature_id=signature.pk):
            messages.success(request, _("Your signature has been withdrawn."))
        return redirect(request.path)
    context = {"signature": signature, "letter": signature.letter}
    return render(request, "signers/signature_withdraw.html", context)


@signature_link("reconfirm")
def reconfirm(request: HttpRequest, signature: Signature) -> HttpResponse:
    letter = signature.letter
    current = letter.current_revision
    if signature.status != Signature.Status.NEEDS_RECONFIRMATION or current is None:
        return _status_page(request, signature)
    form = forms.RevisionForm(request.POST or None, initial={"revision": current.pk})
    if request.method == "POST" and form.is_valid():
        try:
            if services.signature_reconfirm(
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
        **_text(current),
    }
    return render(request, "signers/signature_reconfirm.html", context)


def _editable(signature: Signature) -> bool:
    """Whether the signature's links may still change anything: once it is
    withdrawn, rejected or erased, each answers with its status instead."""
    return signature.status in Signature.LIVE_STATUSES and not signature.erased_at


@signature_link("edit")
def edit(request: HttpRequest, signature: Signature) -> HttpResponse:
    if not _editable(signature):
        return _status_page(request, signature)
    initial = {
        f: getattr(signature, f) for f in ("display_name", *services.PUBLIC_DETAILS)
    }
    initial["display_name"] = signature.requested_display_name or signature.display_name
    form = forms.PublicDetailsForm(
        request.POST or None, signature=signature, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        waiting = services.signature_update_public_details(
            signature_id=signature.pk, **form.cleaned_data
        )
        messages.success(request, _("Your details are saved."))
        if waiting:
            messages.info(request, _name_waiting_message())
        return redirect(request.path)
    token = make_token("edit", signature.pk)
    context = {
        "signature": signature,
        "form": form,
        "suggest_url": reverse("signers:suggest", args=[token]),
        "my_data_url": reverse("signers:my-data", args=[token]),
    }
    return render(request, "signers/signature_edit.html", context)


def _name_waiting_message() -> str:
    return _("The new name will be shown once the organisers have checked it.")


def _personal_data_download(signature: Signature) -> HttpResponse:
    data = selectors.signature_personal_data(signature=signature)
    response = JsonResponse(
        data, json_dumps_params={"indent": 2, "ensure_ascii": False}
    )
    filename = f"{signature.letter.slug}-signature-{signature.pk}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    add_never_cache_headers(response)
    return response


@signature_link("edit")
def my_data(request: HttpRequest, signature: Signature) -> HttpResponse:
    """The signer downloads everything held about them (a POST, so that the
    download is written in the letter's log and a link opened by a mail
    scanner writes nothing)."""
    if request.method == "POST":
        services.signature_record_export(signature=signature, actor=None)
        return _personal_data_download(signature)
    edit_url = reverse("signers:edit", args=[make_token("edit", signature.pk)])
    context = {
        "signature": signature,
        "edit_url": edit_url,
        "editable": _editable(signature),
    }
    return render(request, "signers/signature_my_data.html", context)


@signature_link("edit")
def suggest(request: HttpRequest, signature: Signature) -> HttpResponse:
    if not _editable(signature):
        return _status_page(request, signature)
    letter = signature.letter
    revision = letter.current_revision or signature.revision
    form = forms.ChangeRequestForm(request.POST or None, revision=revision)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_request_create(
                revision=revision, signature=signature, **form.cleaned_data
            )
        except ValidationError as exc:  # withdrawn a moment ago
            form.add_error(None, exc)
        else:
            messages.success(
                request, _("Thank you: the organisers will see your request.")
            )
            return redirect(request.path)
    context = {"signature": signature, "letter": letter, "form": form}
    return render(
        request, "signers/change_request_form.html", {**context, **_text(revision)}
    )


@signature_link("refer")
def thanks(request: HttpRequest, signature: Signature) -> HttpResponse:
    if not _editable(signature):
        return _status_page(request, signature)
    form = forms.ReferralForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "leave_empty"}
        try:
            prospect = services.referral_create(signature=signature, **data)
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


# --- Organisers -------------------------------------------------------------------


def _organiser_letter(request: AuthedHttpRequest, slug: str, *, act: bool) -> Letter:
    """Non-members get a 404; viewers may look but not act."""
    letter = get_object_or_404(Letter.objects.for_user(request.user), slug=slug)
    if act and not selectors.organiser_can_act(letter=letter, user=request.user):
        raise PermissionDenied
    return letter


@login_required
def letter_signatures(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    letter = _organiser_letter(request, slug, act=False)
    filters = forms.SignatureFilterForm(request.GET or None, letter=letter)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    signatures = selectors.signature_list_for_organisers(
        letter=letter,
        status=chosen.get("status") or "",
        revision_number=chosen.get("revision"),
    )
    page = Paginator(signatures, 100).get_page(request.GET.get("page"))
    context = {
        "letter": letter,
        "filters": filters,
        "page": page,
        "by_revision": selectors.signature_counts_by_revision(letter=letter),
        "queue": selectors.signature_approval_queue(letter=letter),
        "change_requests": selectors.change_request_list(letter=letter),
        "count": selectors.signature_count_public(letter=letter),
        "can_act": selectors.organiser_can_act(letter=letter, user=request.user),
    }
    return render(request, "signers/signature_list.html", context)


def _detail_page(
    request: AuthedHttpRequest, letter: Letter, signature: Signature, **forms_: Form
) -> HttpResponse:
    context = {
        "letter": letter,
        "signature": signature,
        "can_act": selectors.organiser_can_act(letter=letter, user=request.user),
        "sort_form": forms.SortNameForm(initial={"sort_name": signature.sort_name}),
        "reject_form": forms.RejectForm(),
        "erase_form": forms.EraseForm(),
        **forms_,
    }
    status = 400 if forms_ else 200
    return render(request, "signers/signature_detail.html", context, status=status)


def _organiser_signature(letter: Letter, pk: int) -> Signature:
    try:
        return selectors.signature_for_organisers(letter=letter, pk=pk)
    except Signature.DoesNotExist as exc:
        raise Http404 from exc


@login_required
def signature_detail(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    letter = _organiser_letter(request, slug, act=False)
    return _detail_page(request, letter, _organiser_signature(letter, pk))


# --- Outreach: the prospect list, invitations, reminders, unsubscribe ------------


def _outreach_letter(
    request: AuthedHttpRequest, slug: str, *, edit: bool = False
) -> tuple[Letter, bool]:
    """The letter if the user organises it (404 otherwise), and whether they may
    change things; viewers get 403 on anything that writes."""
    letter = get_object_or_404(Letter.objects.for_user(request.user), slug=slug)
    role = selectors.organiser_role(letter=letter, user=request.user)
    can_edit = role in (Membership.Role.OWNER, Membership.Role.EDITOR)
    if edit and not can_edit:
        raise PermissionDenied
    return letter, can_edit


@login_required
@require_GET
def outreach(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    letter, can_edit = _outreach_letter(request, slug)
    organisers = selectors.letter_organisers(letter=letter)
    filters = ProspectFilterForm(request.GET, organisers=organisers)
    f = filters.cleaned_data if filters.is_valid() else {}
    today = timezone.localdate(timezone=ZoneInfo(letter.time_zone))
    prospects = selectors.prospect_list(
        letter=letter,
        q=f.get("q", ""),
        status=f.get("status", ""),
        owner=f.get("owner", ""),
        follow_up_due_on=today if f.get("follow_up") else None,
    )
    context = {
        "letter": letter,
        "can_edit": can_edit,
        "filters": filters,
        "page": Paginator(prospects, 100).get_page(request.GET.get("page")),
        "overview": selectors.outreach_overview(letter=letter, now=timezone.now()),
        "query": request.GET.copy().urlencode() if "page" not in request.GET else "",
    }
    return render(request, "signers/outreach_list.html", context)


@login_required
def prospect_add(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    letter, _edit = _outreach_letter(request, slug, edit=True)
    organisers = selectors.letter_organisers(letter=letter)
    form = ProspectForm(request.POST or None, organisers=organisers)
    if request.method == "POST" and form.is_valid():
        try:
            prospect = services.prospect_create(letter=letter, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("%(name)s added.") % {"name": prospect})
            return redirect("signers:outreach", slug=letter.slug)
    context = {"letter": letter, "form": form}
    return render(request, "signers/prospect_form.html", context)


@login_required
def prospect_edit(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    letter, _edit = _outreach_letter(request, slug, edit=True)
    prospect = get_object_or_404(letter.prospects, pk=pk)
    organisers = selectors.letter_organisers(letter=letter)
    form = ProspectForm(request.POST or None, instance=prospect, organisers=organisers)
    if request.method == "POST" and form.is_valid():
        try:
            services.prospect_update(prospect=prospect, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("%(name)s saved.") % {"name": prospect})
            return redirect("signers:outreach", slug=letter.slug)
    context = {"letter": letter, "form": form, "prospect": prospect}
    return render(request, "signers/prospect_form.html", context)


# Room in an upload's request for the multipart framing and the other fields.
UPLOAD_OVERHEAD = 64 * 1024


def _upload_too_large(request: HttpRequest) -> bool:
    """Whether a POST is larger than any the import pages take (a file at the
    limit with its form, or the prospect preview's confirm field, which
    DATA_UPLOAD_MAX_MEMORY_SIZE is set to take), by its Content-Length alone:
    nothing of its body has been read."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False  # Django reads no body then
    largest = max(
        settings.IMPORT_MAX_BYTES + UPLOAD_OVERHEAD,
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
    )
    return request.method == "POST" and length > largest


def _upload_refused(
    request: HttpRequest, template: str, context: dict[str, Any]
) -> HttpResponse:
    messages.error(request, spreadsheets.too_large_message())
    return render(request, template, context, status=413)


@login_required
@csrf_exempt  # checked by _prospect_import, once the body is known to be small
def prospect_import(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    """Upload → preview (nothing written) → confirm (all rows or none). A file
    over the import limit is refused before its body is read (the CSRF check
    would read it all)."""
    letter, _edit = _outreach_letter(request, slug, edit=True)
    if _upload_too_large(request):
        context = {"letter": letter, "upload": ProspectImportForm()}
        return _upload_refused(request, "signers/prospect_import.html", context)
    return _prospect_import(request, letter)


@csrf_protect
def _prospect_import(request: AuthedHttpRequest, letter: Letter) -> HttpResponse:
    upload = ProspectImportForm()
    context: dict[str, object] = {"letter": letter, "upload": upload}
    if request.method == "POST" and "payload" in request.POST:
        confirm = ProspectImportConfirmForm(request.POST)
        if confirm.is_valid():
            data = confirm.cleaned_data["payload"]
            try:
                count = services.prospects_import(
                    letter=letter, data=data, actor=request.user
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, _("%(n)d prospects imported.") % {"n": count})
                return redirect("signers:outreach", slug=letter.slug)
        else:
            messages.error(request, _("The preview expired. Upload the file again."))
    elif request.method == "POST":
        upload = ProspectImportForm(request.POST, request.FILES)
        context["upload"] = upload
        if upload.is_valid():
            data = upload.cleaned_data["file"]
            preview = selectors.prospect_import_preview(letter=letter, data=data)
            context["preview"] = preview
            if preview.can_import:
                payload = ProspectImportConfirmForm.payload_for(data)
                context["confirm"] = ProspectImportConfirmForm(
                    initial={"payload": payload}
                )
    return render(request, "signers/prospect_import.html", context)


@login_required
@require_GET
def prospect_export(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    letter, _edit = _outreach_letter(request, slug)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{letter.slug}-prospects.csv"'
    )
    response.write("\ufeff")  # spreadsheets read UTF-8 only with the mark
    spreadsheets.write_csv(
        response,
        chain([selectors.EXPORT_HEADER], selectors.prospect_export_rows(letter=letter)),
    )
    return response


@login_required
@require_POST
def signature_act(
    request: AuthedHttpRequest, slug: str, pk: int, action: str
) -> HttpResponse:
    """Approve, reject, erase, set the sort name, or decide a name change."""
    letter = _organiser_letter(request, slug, act=True)
    signature = _organiser_signature(letter, pk)
    form_class = {
        "reject": forms.RejectForm,
        "erase": forms.EraseForm,
        "sort-name": forms.SortNameForm,
    }.get(action)
    form = form_class(request.POST) if form_class else None
    if form is not None and not form.is_valid():
        key = {"reject": "reject_form", "erase": "erase_form"}.get(action, "sort_form")
        return _detail_page(request, letter, signature, **{key: form})
    data = form.cleaned_data if form is not None else {}
    try:
        message = _act(action, signature, request.user, data)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, message)
    return redirect("signers:signature-detail", slug=letter.slug, pk=signature.pk)


@login_required
@require_POST
def signature_export(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    """Everything held about one signer, as a JSON file, for owners and
    editors (like erasure, the answer to a signer's request about their
    data). A POST: the download is written in the letter's log."""
    letter = _organiser_letter(request, slug, act=True)
    signature = _organiser_signature(letter, pk)
    services.signature_record_export(signature=signature, actor=request.user)
    return _personal_data_download(signature)


def _act(action: str, signature: Signature, user: Any, data: dict[str, Any]) -> str:
    if action == "approve":
        done = services.signature_approve(signature=signature, actor=user)
        return _("Approved.") if done else _("Already done.")
    if action == "reject":
        done = services.signature_reject(
            signature=signature, actor=user, reason=data["reason"]
        )
        return _("Rejected; the signer is told why.") if done else _("Already done.")
    if action == "erase":
        done = services.signature_erase_personal_data(signature=signature, actor=user)
        return _("Personal data erased.") if done else _("Already done.")
    if action == "sort-name":
        services.signature_set_sort_name(
            signature=signature, actor=user, sort_name=data["sort_name"]
        )
        return _("Sort name saved.")
    if action in ("name-approve", "name-decline"):
        approve = action == "name-approve"
        done = services.signature_decide_name_change(
            signature=signature, actor=user, approve=approve
        )
        return _("Name change decided.") if done else _("Already done.")
    raise Http404


@login_required
@csrf_exempt  # checked by _signature_import, once the body is known to be small
def signature_import(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    """Organisers bring signers from a CSV file: all rows or none. A file over
    the import limit is refused before its body is read."""
    letter = _organiser_letter(request, slug, act=request.method == "POST")
    if _upload_too_large(request):
        context = {"letter": letter, "form": forms.ImportForm(), "report": []}
        return _upload_refused(request, "signers/signature_import.html", context)
    return _signature_import(request, letter)


@csrf_protect
def _signature_import(request: AuthedHttpRequest, letter: Letter) -> HttpResponse:
    form = forms.ImportForm(request.POST or None, request.FILES or None)
    report: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            rows = read_signer_csv(form.cleaned_data["file"])
            count = services.signature_import(letter=letter, rows=rows)
        except SignatureImportError as exc:
            report = exc.report()
        else:
            messages.success(request, _("%(n)d signers imported.") % {"n": count})
            return redirect("signers:letter-signatures", slug=letter.slug)
    context = {"letter": letter, "form": form, "report": report}
    return render(request, "signers/signature_import.html", context)


@login_required
@require_POST
def outreach_invite(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    letter, _edit = _outreach_letter(request, slug, edit=True)
    form = InviteForm(request.POST)
    ids = form.prospect_ids() if form.is_valid() else []
    if ids == []:
        messages.error(request, _("Choose who to invite."))
        return redirect("signers:outreach", slug=letter.slug)
    try:
        batch = services.invitations_send(
            letter=letter, actor=request.user, prospect_ids=ids
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if batch is None:
            messages.info(request, _("Already invited: nothing new to send."))
        else:
            messages.success(request, _("Sending the invitations."))
    return redirect("signers:outreach", slug=letter.slug)


@login_required
@require_GET
def outreach_batch(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    """A batch's progress and per-recipient results; HTMX polls the partial."""
    letter, _edit = _outreach_letter(request, slug)
    batch = get_object_or_404(letter.invitation_batches, pk=pk)
    compact = request.GET.get("compact") == "1"
    progress = selectors.batch_progress(batch=batch, with_rows=not compact)
    context = {"letter": letter, "progress": progress, "compact": compact}
    if request.headers.get("HX-Request") == "true":
        return render(request, "signers/_outreach_batch.html", context)
    return render(request, "signers/outreach_batch.html", context)


@login_required
def outreach_schedule(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    letter, _edit = _outreach_letter(request, slug, edit=True)
    schedule = reminders.schedule_for(letter)
    form = ReminderScheduleForm(request.POST or None, instance=schedule)
    if request.method == "POST" and form.is_valid():
        services.reminder_schedule_update(
            letter=letter, actor=request.user, **form.cleaned_data
        )
        messages.success(request, _("Reminder schedule saved."))
        return redirect("signers:outreach", slug=letter.slug)
    context = {"letter": letter, "form": form}
    return render(request, "signers/outreach_schedule.html", context)


# Mail programs' one-click unsubscribe (RFC 8058) posts without a CSRF token; the
# signed token in the address is what authorises the request.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows one button; only the POST unsubscribes."""
    try:
        pk = read_token("unsubscribe", token)
    except TokenError:
        return render(request, "signers/outreach_unsubscribe.html", status=404)
    delivery = get_object_or_404(Delivery.objects.select_related("letter"), pk=pk)
    context: dict[str, object] = {"delivery": delivery, "letter": delivery.letter}
    if request.method == "POST":
        context["done"] = True
        context["already"] = not services.delivery_unsubscribe(delivery=delivery)
    return render(request, "signers/outreach_unsubscribe.html", context)


# --- Coalition communications: updates, calls, re-issue --------------------------


def _update_of(letter: Letter, pk: int) -> Update:
    return get_object_or_404(letter.updates.select_related("letter"), pk=pk)


def _call_of(letter: Letter, pk: int) -> Call:
    return get_object_or_404(letter.calls.select_related("letter"), pk=pk)


@login_required
@require_GET
def updates(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    """The Updates tab: updates sent and drafted, the signer list digest, calls."""
    letter, can_edit = _outreach_letter(request, slug)
    schedule = reminders.schedule_for(letter)
    role = selectors.organiser_role(letter=letter, user=request.user)
    context = {
        "letter": letter,
        "can_edit": can_edit,
        "updates": selectors.update_list(letter=letter),
        "audience": selectors.update_audience_counts(letter=letter),
        "limit": settings.SIGNERS_UPDATES_PER_WEEK,
        "limit_error": services.update_limit_error(letter=letter, now=timezone.now()),
        "digest_form": SignerListDigestForm(
            initial={"signer_list_digest": schedule.signer_list_digest}
        ),
        "calls": selectors.call_list(letter=letter)[:5],
        "can_reissue": role == Membership.Role.OWNER
        and letter.status == Letter.Status.CLOSED,
        "reissues": selectors.reissue_opt_in_counts(letter=letter),
    }
    return render(request, "signers/update_list.html", context)


@login_required
def update_new(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    letter, _edit = _outreach_letter(request, slug, edit=True)
    form = UpdateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        update = services.update_create(
            letter=letter, actor=request.user, **form.cleaned_data
        )
        messages.success(request, _("Draft saved. Check the preview, then send."))
        return redirect("signers:update-detail", slug=letter.slug, pk=update.pk)
    context = {"letter": letter, "form": form}
    return render(request, "signers/update_form.html", context)


@login_required
def update_edit(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    letter, _edit = _outreach_letter(request, slug, edit=True)
    update = _update_of(letter, pk)
    initial = {f: getattr(update, f) for f in ("subject", "body", "audience")}
    form = UpdateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_edit(update=update, **form.cleaned_data)
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
    letter, can_edit = _outreach_letter(request, slug)
    update = _update_of(letter, pk)
    context = {
        "letter": letter,
        "update": update,
        "can_edit": can_edit,
        "body_html": render_markdown(update.body),
        "progress": selectors.update_progress(update=update),
        "recipients": selectors.update_recipient_count(update=update),
        "limit_error": services.update_limit_error(letter=letter, now=timezone.now()),
    }
    if request.headers.get("HX-Request") == "true":
        return render(request, "signers/_update_progress.html", context)
    return render(request, "signers/update_detail.html", context)


@login_required
@require_POST
def update_test(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    letter, _edit = _outreach_letter(request, slug, edit=True)
    update = _update_of(letter, pk)
    services.update_send_test(update=update, actor=request.user)
    messages.success(
        request, _("A test is on its way to %(email)s.") % {"email": request.user.email}
    )
    return redirect("signers:update-detail", slug=letter.slug, pk=update.pk)


@login_required
@require_POST
def update_send(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    letter, _edit = _outreach_letter(request, slug, edit=True)
    update = _update_of(letter, pk)
    try:
        count = services.update_send(update=update, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Sending to %(n)d recipients.") % {"n": count})
    return redirect("signers:update-detail", slug=letter.slug, pk=update.pk)


@login_required
@require_POST
def update_digest(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    letter, _edit = _outreach_letter(request, slug, edit=True)
    form = SignerListDigestForm(request.POST)
    if form.is_valid():
        services.signer_list_digest_set(
            letter=letter,
            actor=request.user,
            frequency=form.cleaned_data["signer_list_digest"],
        )
        messages.success(request, _("Signer list setting saved."))
    return redirect("signers:updates", slug=letter.slug)


@login_required
@require_GET
def calls(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    letter, can_edit = _outreach_letter(request, slug)
    rows = list(selectors.call_list(letter=letter))
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
                call = services.call_create(
                    letter=letter, actor=request.user, **form.cleaned_data
                )
                done = _("Call scheduled; the invitations are on their way.")
            else:
                call = services.call_update(
                    call=call, actor=request.user, **form.cleaned_data
                )
                done = _("Call saved.")
        except ValidationError as exc:
            _add_errors(form, exc, letter)
        else:
            messages.success(request, done)
            return redirect("signers:call-detail", slug=letter.slug, pk=call.pk)
    context = {"letter": letter, "form": form, "call": call}
    return render(request, "signers/call_form.html", context)


@login_required
def call_new(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    letter, _edit = _outreach_letter(request, slug, edit=True)
    return _call_form_page(request, letter, None)


@login_required
def call_edit(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    letter, _edit = _outreach_letter(request, slug, edit=True)
    return _call_form_page(request, letter, _call_of(letter, pk))


@login_required
@require_GET
def call_detail(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    letter, can_edit = _outreach_letter(request, slug)
    call = _call_of(letter, pk)
    context = {
        "letter": letter,
        "call": call,
        "can_edit": can_edit,
        "agenda_html": render_markdown(call.agenda),
        "notes_html": render_markdown(call.notes),
        "invitations": selectors.call_invitation_list(call=call),
        "started": call.starts_at <= timezone.now(),
    }
    return render(request, "signers/call_detail.html", context)


@login_required
def call_notes(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    letter, _edit = _outreach_letter(request, slug, edit=True)
    call = _call_of(letter, pk)
    form = CallNotesForm(request.POST or None, initial={"notes": call.notes})
    if request.method == "POST" and form.is_valid():
        try:
            sent = services.call_notes_post(
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


@_row_link(
    "rsvp", CallInvitation.objects.select_related("call__letter", "signature__letter")
)
def call_rsvp(request: HttpRequest, invitation: CallInvitation) -> HttpResponse:
    """GET shows the call and two buttons; only the POST records the answer.
    Sent to a signature now off the letter, it answers with that status."""
    if invitation.signature is not None and not _editable(invitation.signature):
        return _status_page(request, invitation.signature)
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
                context["changed"] = services.call_rsvp(
                    invitation_id=invitation.pk, response=answer
                )
            except ValidationError:  # its signature was withdrawn a moment ago
                signature = invitation.signature
                assert signature is not None  # nothing else is refused
                signature.refresh_from_db()
                return _status_page(request, signature)
            context["done"] = answer
    return render(request, "signers/call_rsvp.html", context)


@login_required
def reissue(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    """An owner sends a closed letter's text to a new addressee."""
    letter, _edit = _outreach_letter(request, slug, edit=True)
    role = selectors.organiser_role(letter=letter, user=request.user)
    if role != Membership.Role.OWNER:
        raise PermissionDenied
    initial = {"title": letter.title, "addressee": letter.addressee}
    form = ReissueForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            new = services.letter_reissue(
                letter=letter, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("The new letter is circulating; earlier signers are asked to join."),
            )
            return redirect("letters:detail", slug=new.slug)
    count = selectors.signature_count_public(letter=letter)
    context = {"letter": letter, "form": form, "count": count}
    return render(request, "signers/reissue_form.html", context)


@_row_link(
    "reissue",
    ReissueOptIn.objects.select_related(
        "reissue__letter__current_revision", "reissue__source", "earlier__letter"
    ),
)
def reissue_opt_in(request: HttpRequest, opt_in: ReissueOptIn) -> HttpResponse:
    """GET shows the new letter and one button; only the POST signs it. Once
    the earlier signature is off its letter, it answers with that status."""
    if opt_in.opted_in_at is None and not _editable(opt_in.earlier):
        return _status_page(request, opt_in.earlier)
    letter = opt_in.reissue.letter
    context: dict[str, Any] = {
        "opt_in": opt_in,
        "letter": letter,
        "source": opt_in.reissue.source,
        **_text(letter.current_revision),
    }
    if request.method == "POST" and opt_in.opted_in_at is None:
        try:
            context["signature"] = services.reissue_opt_in_accept(opt_in_id=opt_in.pk)
        except ValidationError as exc:
            context["error"] = " ".join(exc.messages)
        else:
            context["done"] = True
    elif opt_in.opted_in_at is not None:
        context["already"] = True
    return render(request, "signers/reissue_opt_in.html", context)
