import re

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from coalition import devmail, health
from coalition.emails import text_paragraphs


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("letters:dashboard")
    return render(request, "coalition/home.html")


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer, 503 otherwise.

    The age of beat's last tick and the number of consent violations (names
    or a PDF on offer without their consent to the text; 0 is the only good
    answer) are reported; they do not fail the check, since a web node can be
    healthy while beat restarts, and taking nodes out does not mend data.
    """
    db = health.database_ok()
    broker = health.broker_ok()
    age = health.beat_age() if db else None
    body = {
        "database": "ok" if db else "unreachable",
        "broker": "ok" if broker else "unreachable",
        "beat_age_seconds": int(age.total_seconds()) if age is not None else None,
        "consent_violations": health.consent_violation_count() if db else None,
    }
    return JsonResponse(body, status=200 if db and broker else 503)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "403_csrf.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "403.html", status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors that could fail again: a plain template render.
    from django.template import loader

    return HttpResponse(loader.get_template("500.html").render(), status=500)


# --- Development email (DEBUG only) -------------------------------------------------
# The HTML part is the site's own escaped output, but strangers wrote parts of it:
# it is shown only in a sandboxed frame, from its own URL, under a policy that
# lets it run nothing and load nothing but the site's images and its own styles.
DEV_EMAIL_HTML_POLICY = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
    "sandbox; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
LINK = re.compile(r"https?://[^\s<>\"']+")


def _dev_email_gate(request: HttpRequest) -> HttpResponse | None:
    """404 unless DEBUG; the login page for visitors; staff and organisers only."""
    if not settings.DEBUG:
        raise Http404
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not (request.user.is_staff or request.user.memberships.exists()):
        raise PermissionDenied
    return None


@require_GET
@never_cache
def dev_email_list(request: HttpRequest) -> HttpResponse:
    if response := _dev_email_gate(request):
        return response
    emails = devmail.stored_email_list()
    return render(request, "coalition/dev_email_list.html", {"emails": emails})


@require_GET
@never_cache
def dev_email_detail(request: HttpRequest, email_id: str) -> HttpResponse:
    if response := _dev_email_gate(request):
        return response
    email = devmail.stored_email_get(email_id=email_id)
    if email is None:
        raise Http404
    text = email.text or ""
    paragraphs = text_paragraphs(text, links=LINK.findall(text)) if text else []
    return render(
        request,
        "coalition/dev_email_detail.html",
        {"email": email, "paragraphs": paragraphs},
    )


@require_GET
@never_cache
@xframe_options_sameorigin
def dev_email_html(request: HttpRequest, email_id: str) -> HttpResponse:
    if response := _dev_email_gate(request):
        return response
    email = devmail.stored_email_get(email_id=email_id)
    if email is None or email.html is None:
        raise Http404
    response = HttpResponse(email.html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = DEV_EMAIL_HTML_POLICY
    response["X-Content-Type-Options"] = "nosniff"
    return response
