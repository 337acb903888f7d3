"""Organisations' logos: served to everyone once shown, and the organisers'
upload, removal and preview on a signature's page."""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from coalition.types import AuthedHttpRequest
from letters.models import Letter, Membership
from letters.permissions import require_letter_role, writing
from signers.forms.logos import LogoForm
from signers.logos import CONTENT_TYPES, Logo
from signers.models import Signature
from signers.selectors.public import logo_shown_publicly
from signers.selectors.signatures import signature_for_organisers
from signers.services.logos import signature_logo_set

# The names signers.models.signatures.logo_path gives; anything else is not one.
LOGO_NAME = re.compile(r"[A-Za-z0-9_-]{32}\.(png|jpg)")
LOGO_FOLDER = "signers/logos/"
# A logo's address changes with the logo; withdrawn consent shows within this.
LOGO_MAX_AGE = 60 * 60


def _image_response(name: str) -> FileResponse:
    """The stored image, as an image of the type it was encoded to and
    nothing else: never sniffed, never a document that runs anything."""
    extension = name.rsplit(".", 1)[-1]
    try:
        stored = default_storage.open(name, "rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(stored, content_type=CONTENT_TYPES[extension])
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Content-Disposition"] = f'inline; filename="logo.{extension}"'
    return response


def signing_logo_form(request: HttpRequest, letter: Letter) -> LogoForm | None:
    """The logo field of a signing page, for a letter organisations sign."""
    if not letter.allows_organisations:
        return None
    if request.method == "POST":
        return LogoForm(request.POST, request.FILES)
    return LogoForm()


def logo_valid(form: LogoForm | None) -> bool:
    return form is None or form.is_valid()


def chosen_logo(form: LogoForm | None) -> Logo | None:
    """The logo given with a valid signing form, if any."""
    return form.cleaned_data.get("logo") if form is not None else None


@require_safe
def logo(request: HttpRequest, name: str) -> FileResponse:
    """A logo shown on a public page: its organisation is listed and agreed."""
    match = LOGO_NAME.fullmatch(name)
    stored = LOGO_FOLDER + name
    if match is None or not logo_shown_publicly(name=stored):
        raise Http404
    response = _image_response(stored)
    patch_cache_control(response, public=True, max_age=LOGO_MAX_AGE)
    return response


@login_required
@require_safe
def signature_logo_file(request: AuthedHttpRequest, slug: str, pk: int) -> FileResponse:
    """The logo a signer gave, to the letter's organisers, shown or not."""
    letter = require_letter_role(request, slug).letter
    try:
        signature = signature_for_organisers(letter=letter, pk=pk)
    except Signature.DoesNotExist as exc:
        raise Http404 from exc
    if not signature.logo.name:
        raise Http404
    response = _image_response(signature.logo.name)
    add_never_cache_headers(response)
    return response


@login_required
@require_POST
def signature_logo(request: AuthedHttpRequest, slug: str, pk: int) -> HttpResponse:
    """An organiser gives a signer's logo (sent to them by email, say) or
    removes it; whether it is shown stays the signer's consent."""
    letter = require_letter_role(
        request, slug, writing(request, Membership.Role.EDITOR)
    ).letter
    try:
        signature = signature_for_organisers(letter=letter, pk=pk)
    except Signature.DoesNotExist as exc:
        raise Http404 from exc
    form = LogoForm(request.POST, request.FILES, has_logo=bool(signature.logo))
    if form.is_valid():
        changes, new = form.change()
        try:
            if changes:
                signature_logo_set(
                    signature_id=signature.pk, logo=new, actor=request.user
                )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if changes:
                messages.success(
                    request, _("Logo removed.") if new is None else _("Logo saved.")
                )
    else:
        for error in form.errors.get("logo", []):
            messages.error(request, str(error))
    return redirect("signers:signature-detail", slug=letter.slug, pk=signature.pk)
