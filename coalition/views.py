from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from coalition import health


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
