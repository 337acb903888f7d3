"""Outreach: the prospect list, invitations, reminders, unsubscribe."""

from itertools import chain
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from coalition import spreadsheets
from coalition.outbox.models import OutboxMessage
from coalition.tokens import TokenError, read_token
from coalition.types import AuthedHttpRequest
from letters.models import Letter, Membership
from letters.permissions import require_letter_role
from signers.emails import invitation_default_wording, invitation_preview
from signers.forms.outreach import (
    InvitationComposeForm,
    InviteForm,
    ProspectFilterForm,
    ProspectForm,
    ProspectImportConfirmForm,
    ProspectImportForm,
    ReminderScheduleForm,
)
from signers.forms.prospects import ProspectBulkForm, ProspectSortForm
from signers.models import Prospect
from signers.planning.reminders import schedule_for
from signers.selectors.outreach import (
    EXPORT_HEADER,
    batch_progress,
    invitation_candidates,
    outreach_overview,
    prospect_export_rows,
    prospect_import_preview,
    prospect_list,
)
from signers.selectors.signatures import letter_organisers
from signers.services.outreach import (
    delivery_unsubscribe,
    invitations_compose_send,
    outreach_emails_retry,
    prospect_create,
    prospect_update,
    prospects_import,
    reminder_schedule_update,
)
from signers.views.organiser import upload_refused, upload_too_large
from signers.views.prospects import sort_columns

# --- Outreach: the prospect list, invitations, reminders, unsubscribe ------------


@login_required
@require_GET
def outreach(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    membership = require_letter_role(request, slug)
    letter, can_edit = membership.letter, membership.can_edit
    organisers = letter_organisers(letter=letter)
    filters = ProspectFilterForm(request.GET, organisers=organisers)
    f = filters.cleaned_data if filters.is_valid() else {}
    today = timezone.localdate(timezone=ZoneInfo(letter.time_zone))
    sort, descending = ProspectSortForm(request.GET).chosen()
    prospects = prospect_list(
        letter=letter,
        q=f.get("q", ""),
        status=f.get("status", ""),
        owner=f.get("owner", ""),
        follow_up_due_on=today if f.get("follow_up") else None,
        sort=sort,
        descending=descending,
    )
    context = {
        "letter": letter,
        "can_edit": can_edit,
        "filters": filters,
        "columns": sort_columns(request.GET, sort, descending),
        "sorting": {"sort": sort, "dir": "desc" if descending else "asc"},
        "bulk_form": ProspectBulkForm(organisers=organisers, auto_id="bulk-%s"),
        "page": Paginator(prospects, 100).get_page(request.GET.get("page")),
        "overview": outreach_overview(letter=letter, now=timezone.now()),
        "query": request.GET.copy().urlencode() if "page" not in request.GET else "",
    }
    return render(request, "signers/outreach_list.html", context)


@login_required
def prospect_add(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    letter = require_letter_role(request, slug, Membership.Role.EDITOR).letter
    organisers = letter_organisers(letter=letter)
    form = ProspectForm(request.POST or None, organisers=organisers)
    if request.method == "POST" and form.is_valid():
        try:
            prospect = prospect_create(letter=letter, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("%(name)s added.") % {"name": prospect})
            return redirect("signers:outreach", slug=letter.slug)
    context = {"letter": letter, "form": form}
    return render(request, "signers/prospect_form.html", context)


@login_required
def prospect_edit(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    letter = require_letter_role(request, slug, Membership.Role.EDITOR).letter
    prospect = get_object_or_404(letter.prospects, pk=pk)
    organisers = letter_organisers(letter=letter)
    form = ProspectForm(request.POST or None, instance=prospect, organisers=organisers)
    if request.method == "POST" and form.is_valid():
        try:
            prospect_update(prospect=prospect, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("%(name)s saved.") % {"name": prospect})
            return redirect("signers:outreach", slug=letter.slug)
    context = {"letter": letter, "form": form, "prospect": prospect}
    return render(request, "signers/prospect_form.html", context)


@login_required
@csrf_exempt  # checked by _prospect_import, once the body is known to be small
def prospect_import(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    """Upload → preview (nothing written) → confirm (all rows or none). A file
    over the import limit is refused before its body is read (the CSRF check
    would read it all)."""
    letter = require_letter_role(request, slug, Membership.Role.EDITOR).letter
    if upload_too_large(request):
        context = {"letter": letter, "upload": ProspectImportForm()}
        return upload_refused(request, "signers/prospect_import.html", context)
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
                count = prospects_import(letter=letter, data=data, actor=request.user)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(
                    request,
                    ngettext(
                        "%(n)d prospect imported.", "%(n)d prospects imported.", count
                    )
                    % {"n": count},
                )
                return redirect("signers:outreach", slug=letter.slug)
        else:
            messages.error(request, _("The preview expired. Upload the file again."))
    elif request.method == "POST":
        upload = ProspectImportForm(request.POST, request.FILES)
        context["upload"] = upload
        if upload.is_valid():
            data = upload.cleaned_data["file"]
            preview = prospect_import_preview(letter=letter, data=data)
            context["preview"] = preview
            if preview.can_import:
                payload = ProspectImportConfirmForm.payload_for(data)
                context["confirm"] = ProspectImportConfirmForm(
                    initial={"payload": payload}
                )
    return render(request, "signers/prospect_import.html", context)


@login_required
@require_GET
def prospect_export(request: AuthedHttpRequest, slug: str) -> StreamingHttpResponse:
    letter = require_letter_role(request, slug).letter
    rows = chain([EXPORT_HEADER], prospect_export_rows(letter=letter))
    return spreadsheets.csv_response(rows, f"{letter.slug}-prospects.csv")


def _compose_form(
    request: AuthedHttpRequest, letter: Letter, prospects: list[Prospect]
) -> InvitationComposeForm:
    """The send step's form, bound once it has been shown (it has a subject)."""
    data = request.POST if request.method == "POST" else request.GET
    subject, opening = invitation_default_wording(letter)
    return InvitationComposeForm(
        data if "subject" in data else None,
        default_subject=subject,
        default_opening=opening,
        prospects=prospects,
    )


def _compose_page(
    request: AuthedHttpRequest,
    letter: Letter,
    who: InviteForm,
    prospects: list[Prospect],
    form: InvitationComposeForm,
) -> HttpResponse:
    """The send step: who is invited, the words, and the exact email the
    chosen (or first) prospect would get. Nothing is saved."""
    context: dict[str, object] = {
        "letter": letter,
        "who": who.cleaned_data if who.is_valid() else {},
        "prospects": prospects,
        "form": form,
    }
    if prospects:
        valid = form.is_bound and form.is_valid()
        data = form.cleaned_data if valid else {}
        chosen = {p.pk: p for p in prospects}.get(data.get("preview") or 0)
        prospect = chosen or prospects[0]
        note_name = form.note_names.get(prospect.pk)
        context["preview_of"] = prospect
        context["preview"] = invitation_preview(
            prospect=prospect,
            sender=request.user,
            subject=data.get("subject", ""),
            opening=data.get("opening", ""),
            note=data.get(note_name or "", prospect.personal_note),
        )
    if request.htmx:
        return render(request, "signers/_invitation_preview.html", context)
    return render(request, "signers/outreach_compose.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def outreach_compose(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    """Before sending: the subject, the opening and personal notes, with a
    preview; "Preview" posts here again, "Send" posts to ``outreach_invite``."""
    letter = require_letter_role(request, slug, Membership.Role.EDITOR).letter
    who = InviteForm(request.POST if request.method == "POST" else request.GET)
    ids = who.prospect_ids() if who.is_valid() else []
    prospects = invitation_candidates(letter=letter, prospect_ids=ids)
    form = _compose_form(request, letter, prospects)
    return _compose_page(request, letter, who, prospects, form)


@login_required
@require_POST
def outreach_invite(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    letter = require_letter_role(request, slug, Membership.Role.EDITOR).letter
    who = InviteForm(request.POST)
    ids = who.prospect_ids() if who.is_valid() else []
    if ids == []:
        messages.error(request, _("Choose who to invite."))
        return redirect("signers:outreach", slug=letter.slug)
    prospects = invitation_candidates(letter=letter, prospect_ids=ids)
    form = _compose_form(request, letter, prospects)
    if form.is_bound and not form.is_valid():
        return _compose_page(request, letter, who, prospects, form)
    words = form.cleaned_data if form.is_bound else {}
    try:
        batch = invitations_compose_send(
            letter=letter,
            actor=request.user,
            prospect_ids=ids,
            notes=form.notes() if form.is_bound else {},
            subject=words.get("subject", ""),
            opening=words.get("opening", ""),
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
@require_POST
def outreach_retry(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    """Send again the emails that failed after every attempt (one, or all)."""
    letter = require_letter_role(request, slug, Membership.Role.EDITOR).letter
    ids = [int(pk) for pk in request.POST.getlist("message") if pk.isdigit()]
    count = outreach_emails_retry(letter=letter, actor=request.user, message_ids=ids)
    messages.success(
        request,
        ngettext(
            "%(count)d email will be sent again.",
            "%(count)d emails will be sent again.",
            count,
        )
        % {"count": count},
    )
    return redirect("signers:outreach", slug=letter.slug)


@login_required
@require_GET
def outreach_batch(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    """A batch's progress and per-recipient results; HTMX polls the partial."""
    letter = require_letter_role(request, slug).letter
    batch = get_object_or_404(letter.invitation_batches, pk=pk)
    compact = request.GET.get("compact") == "1"
    progress = batch_progress(batch=batch, with_rows=not compact)
    context = {"letter": letter, "progress": progress, "compact": compact}
    if request.htmx:
        return render(request, "signers/_outreach_batch.html", context)
    return render(request, "signers/outreach_batch.html", context)


@login_required
def outreach_schedule(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    letter = require_letter_role(request, slug, Membership.Role.EDITOR).letter
    schedule = schedule_for(letter)
    form = ReminderScheduleForm(request.POST or None, instance=schedule)
    if request.method == "POST" and form.is_valid():
        reminder_schedule_update(letter=letter, actor=request.user, **form.cleaned_data)
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
    delivery = get_object_or_404(
        OutboxMessage.objects.select_related("letter"), pk=pk, letter__isnull=False
    )
    context: dict[str, object] = {"delivery": delivery, "letter": delivery.letter}
    if request.method == "POST":
        context["done"] = True
        context["already"] = not delivery_unsubscribe(delivery=delivery)
    return render(request, "signers/outreach_unsubscribe.html", context)
