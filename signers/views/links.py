"""Helpers for the pages opened from emailed links: reading tokens, status pages."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from coalition.tokens import TokenError, TokenExpired, make_token, read_token
from letters.markdown import render_revision_body
from letters.models import Letter, Revision
from signers.models import (
    CallInvitation,
    Prospect,
    ReissueOptIn,
    Signature,
)

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


def row_link(
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
    return row_link(purpose, rows)


def prospect_link(purpose: str) -> Callable[[ProspectView], LinkView]:
    return row_link(
        purpose, Prospect.objects.select_related("letter__current_revision")
    )


def revision_text(revision: Revision | None) -> dict[str, Any]:
    """The exact text of a revision, for the page that asks to sign it."""
    if revision is None:
        return {}
    return {"revision": revision, "body_html": render_revision_body(revision)}


def status_page(request: HttpRequest, signature: Signature) -> HttpResponse:
    """Where a used link lands: what state the signature is in now."""
    return render(request, "signers/signature_status.html", {"signature": signature})


def closed_page(request: HttpRequest, letter: Letter, reason: str) -> HttpResponse:
    context = {"letter": letter, "reason": reason}
    return render(request, "signers/signing_closed.html", context)


def add_form_errors(form: Form, exc: ValidationError, letter: Letter) -> None:
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


def opened_url(prospect: Prospect) -> str:
    return reverse(
        "signers:invitation-opened", args=[make_token("invite", prospect.pk)]
    )


def thanks_url(signature: Signature) -> str:
    return reverse("signers:thanks", args=[make_token("refer", signature.pk)])


def signing_page(
    request: HttpRequest, template: str, letter: Letter, form: Form, **extra: Any
) -> HttpResponse:
    context = {"letter": letter, "form": form, **revision_text(letter.current_revision)}
    status = 429 if extra.pop("limited", False) else 200
    return render(request, template, {**context, **extra}, status=status)
