"""What a signer does after signing: edit details, download data, suggest others."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from coalition.tokens import make_token
from signers.forms.logos import LogoForm
from signers.forms.signing import ChangeRequestForm, PublicDetailsForm
from signers.models import (
    Signature,
)
from signers.selectors.personal_data import signature_personal_data
from signers.services.logos import signature_logo_set
from signers.services.personal_data import signature_record_export
from signers.services.responses import change_request_create
from signers.services.signatures import PUBLIC_DETAILS, signature_update_public_details
from signers.views.links import revision_text, signature_link, status_page


def editable(signature: Signature) -> bool:
    """Whether the signature's links may still change anything: once it is
    withdrawn, rejected or erased, each answers with its status instead."""
    return signature.status in Signature.LIVE_STATUSES and not signature.erased_at


@signature_link("edit")
def edit(request: HttpRequest, signature: Signature) -> HttpResponse:
    if not editable(signature):
        return status_page(request, signature)
    initial = {f: getattr(signature, f) for f in ("display_name", *PUBLIC_DETAILS)}
    initial["display_name"] = signature.requested_display_name or signature.display_name
    form = PublicDetailsForm(request.POST or None, signature=signature, initial=initial)
    logo_form = _logo_form(request, signature)
    valid = form.is_valid() & (logo_form is None or logo_form.is_valid())
    if request.method == "POST" and valid:
        waiting = signature_update_public_details(
            signature_id=signature.pk, **form.cleaned_data
        )
        changes, logo = logo_form.change() if logo_form else (False, None)
        if changes:
            signature_logo_set(signature_id=signature.pk, logo=logo, actor=None)
        messages.success(request, _("Your details are saved."))
        if waiting:
            messages.info(request, _name_waiting_message())
        return redirect(request.path)
    token = make_token("edit", signature.pk)
    context = {
        "signature": signature,
        "form": form,
        "logo_form": logo_form,
        "suggest_url": reverse("signers:suggest", args=[token]),
        "my_data_url": reverse("signers:my-data", args=[token]),
    }
    return render(request, "signers/signature_edit.html", context)


def _logo_form(request: HttpRequest, signature: Signature) -> LogoForm | None:
    """An organisation's logo: given, replaced or removed with its details."""
    if signature.kind != Signature.Kind.ORGANISATION:
        return None
    has_logo = bool(signature.logo)
    if request.method == "POST":
        return LogoForm(request.POST, request.FILES, has_logo=has_logo)
    return LogoForm(has_logo=has_logo)


def _name_waiting_message() -> str:
    return _("The new name will be shown once the organisers have checked it.")


def personal_data_download(signature: Signature) -> HttpResponse:
    data = signature_personal_data(signature=signature)
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
        signature_record_export(signature=signature, actor=None)
        return personal_data_download(signature)
    edit_url = reverse("signers:edit", args=[make_token("edit", signature.pk)])
    context = {
        "signature": signature,
        "edit_url": edit_url,
        "editable": editable(signature),
    }
    return render(request, "signers/signature_my_data.html", context)


@signature_link("edit")
def suggest(request: HttpRequest, signature: Signature) -> HttpResponse:
    if not editable(signature):
        return status_page(request, signature)
    letter = signature.letter
    revision = letter.current_revision or signature.revision
    form = ChangeRequestForm(request.POST or None, revision=revision)
    if request.method == "POST" and form.is_valid():
        try:
            change_request_create(
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
        request,
        "signers/change_request_form.html",
        {**context, **revision_text(revision)},
    )
