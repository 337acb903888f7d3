"""The organiser's Signers tab: the list, one signature, moderation, import."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST, require_safe

from coalition import spreadsheets
from coalition.types import AuthedHttpRequest
from letters.models import Letter, Membership
from letters.permissions import require_letter_role, writing
from signers.forms.logos import LogoForm
from signers.forms.organiser import (
    EraseForm,
    ImportForm,
    RejectForm,
    SignatureFilterForm,
    SignatureImportConfirmForm,
    SortNameForm,
)
from signers.importing import SignatureImportError, read_signer_csv
from signers.models import (
    Signature,
    SignatureImportJob,
)
from signers.selectors.importing import signature_import_preview
from signers.selectors.signatures import (
    change_request_list,
    signature_approval_queue,
    signature_count_public,
    signature_counts_by_revision,
    signature_for_organisers,
    signature_list_for_organisers,
)
from signers.services import signatures as signatures_services
from signers.services.imports import import_job_create, import_job_progress
from signers.services.personal_data import (
    signature_erase_personal_data,
    signature_record_export,
)
from signers.services.signatures import (
    signature_approve,
    signature_decide_name_change,
    signature_reject,
    signature_set_sort_name,
)
from signers.views.self_service import personal_data_download

# --- Organisers -------------------------------------------------------------------


@login_required
@require_safe
def letter_signatures(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    membership = require_letter_role(request, slug)
    letter = membership.letter
    filters = SignatureFilterForm(request.GET or None, letter=letter)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    signatures = signature_list_for_organisers(
        letter=letter,
        status=chosen.get("status") or "",
        revision_number=chosen.get("revision"),
    )
    page = Paginator(signatures, 100).get_page(request.GET.get("page"))
    context = {
        "letter": letter,
        "filters": filters,
        "page": page,
        "by_revision": signature_counts_by_revision(letter=letter),
        "queue": signature_approval_queue(letter=letter),
        "change_requests": change_request_list(letter=letter),
        "count": signature_count_public(letter=letter),
        "can_act": membership.can_edit,
    }
    return render(request, "signers/signature_list.html", context)


def _detail_page(
    request: AuthedHttpRequest, letter: Letter, signature: Signature, **forms_: Form
) -> HttpResponse:
    context = {
        "letter": letter,
        "signature": signature,
        "can_act": require_letter_role(request, letter).can_edit,
        "sort_form": SortNameForm(initial={"sort_name": signature.sort_name}),
        "reject_form": RejectForm(),
        "erase_form": EraseForm(),
        "logo_form": LogoForm(has_logo=bool(signature.logo)),
        **forms_,
    }
    status = 400 if forms_ else 200
    return render(request, "signers/signature_detail.html", context, status=status)


def _organiser_signature(letter: Letter, pk: int) -> Signature:
    try:
        return signature_for_organisers(letter=letter, pk=pk)
    except Signature.DoesNotExist as exc:
        raise Http404 from exc


@login_required
@require_safe
def signature_detail(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    letter = require_letter_role(request, slug).letter
    return _detail_page(request, letter, _organiser_signature(letter, pk))


# Room in an upload's request for the multipart framing and the other fields.
UPLOAD_OVERHEAD = 64 * 1024


def upload_too_large(request: HttpRequest) -> bool:
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


def upload_refused(
    request: HttpRequest, template: str, context: dict[str, Any]
) -> HttpResponse:
    messages.error(request, spreadsheets.too_large_message())
    return render(request, template, context, status=413)


@login_required
@require_POST
def signature_act(
    request: AuthedHttpRequest, slug: str, pk: int, action: str
) -> HttpResponse:
    """Approve, reject, erase, set the sort name, or decide a name change."""
    letter = require_letter_role(request, slug, Membership.Role.EDITOR).letter
    signature = _organiser_signature(letter, pk)
    form_class = {
        "reject": RejectForm,
        "erase": EraseForm,
        "sort-name": SortNameForm,
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
    letter = require_letter_role(request, slug, Membership.Role.EDITOR).letter
    signature = _organiser_signature(letter, pk)
    signature_record_export(signature=signature, actor=request.user)
    return personal_data_download(signature)


def _act(action: str, signature: Signature, user: Any, data: dict[str, Any]) -> str:
    if action == "approve":
        done = signature_approve(signature=signature, actor=user)
        return _("Approved.") if done else _("Already done.")
    if action == "reject":
        done = signature_reject(signature=signature, actor=user, reason=data["reason"])
        return _("Rejected; the signer is told why.") if done else _("Already done.")
    if action == "erase":
        done = signature_erase_personal_data(signature=signature, actor=user)
        return _("Personal data erased.") if done else _("Already done.")
    if action == "sort-name":
        signature_set_sort_name(
            signature=signature, actor=user, sort_name=data["sort_name"]
        )
        return _("Sort name saved.")
    if action in ("name-approve", "name-decline"):
        approve = action == "name-approve"
        done = signature_decide_name_change(
            signature=signature, actor=user, approve=approve
        )
        return _("Name change decided.") if done else _("Already done.")
    raise Http404


@login_required
@csrf_exempt  # checked by _signature_import, once the body is known to be small
def signature_import(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    """Organisers bring signers from a CSV file, previewed first: all rows or
    none. A file over the import limit is refused before its body is read."""
    letter = require_letter_role(
        request, slug, writing(request, Membership.Role.EDITOR)
    ).letter
    if upload_too_large(request):
        context = {"letter": letter, "upload": ImportForm()}
        return upload_refused(request, "signers/signature_import.html", context)
    return _signature_import(request, letter)


@csrf_protect
def _signature_import(request: AuthedHttpRequest, letter: Letter) -> HttpResponse:
    """Upload → preview (nothing written) → confirm, which reads the signed
    file again and imports all its rows or none."""
    context: dict[str, Any] = {"letter": letter, "upload": ImportForm()}
    if request.method == "POST" and "payload" in request.POST:
        confirm = SignatureImportConfirmForm(request.POST)
        if not confirm.is_valid():
            messages.error(request, _("The preview expired. Upload the file again."))
            return render(request, "signers/signature_import.html", context)
        payload = confirm.cleaned_data["payload"]
        try:
            rows = read_signer_csv(payload)
            if len(rows) > settings.SIGNERS_IMPORT_INLINE_MAX_ROWS:
                # Too long for the request: a worker imports it (all or none).
                job = import_job_create(
                    letter=letter,
                    actor=request.user,
                    payload=payload,
                    total_rows=len(rows),
                )
                return redirect("signers:signature-import-job", letter.slug, job.pk)
            count = signatures_services.signature_import(
                letter=letter, rows=rows, actor=request.user
            )
        except SignatureImportError as exc:
            context["report"] = exc.report()
        else:
            messages.success(
                request,
                ngettext("%(n)d signer imported.", "%(n)d signers imported.", count)
                % {"n": count},
            )
            return redirect("signers:letter-signatures", slug=letter.slug)
    elif request.method == "POST":
        upload = context["upload"] = ImportForm(request.POST, request.FILES)
        if upload.is_valid():
            data = upload.cleaned_data["file"]
            preview = context["preview"] = signature_import_preview(
                letter=letter, data=data
            )
            if preview.can_import:
                payload = SignatureImportConfirmForm.payload_for(data)
                context["confirm"] = SignatureImportConfirmForm(
                    initial={"payload": payload}
                )
    return render(request, "signers/signature_import.html", context)


@login_required
@require_safe
def signature_import_job(
    request: AuthedHttpRequest, slug: str, job: int
) -> HttpResponse:
    """A background import's progress (HTMX polls the partial while it runs),
    then its outcome."""
    letter = require_letter_role(request, slug).letter
    found = get_object_or_404(
        SignatureImportJob.objects.defer("payload"), pk=job, letter=letter
    )
    context = {"letter": letter, "job": found, "done": import_job_progress(found)}
    if request.htmx:
        return render(request, "signers/_import_job.html", context)
    return render(request, "signers/signature_import_job.html", context)
