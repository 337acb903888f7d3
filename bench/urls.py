"""The bench's URL configuration: every URL of the site, plus two bare views to
measure it against, served by the same gunicorn with the same settings and
middleware (``bench/compare_settings.py``). Never part of the site.
"""

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import include, path
from django.views.decorators.http import require_POST, require_safe

# A table of the bench's own, created in the throwaway database by the bench.
BASELINE_TABLE = "bench_compare_row"


@require_safe
def hello(request: HttpRequest) -> HttpResponse:
    """The least a view can do: what any page pays for Django and its middleware."""
    return HttpResponse("Hello, world")


@require_POST
def insert(request: HttpRequest) -> HttpResponse:
    """A form POST (CSRF-checked like the join form) that inserts one row and
    commits: what any signing request pays at the least."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {BASELINE_TABLE} (payload) VALUES (%s)",  # noqa: S608
            [request.POST.get("display_name", "")],
        )
    return HttpResponseRedirect("/bench/hello/")


urlpatterns = [
    path("bench/hello/", hello, name="bench-hello"),
    path("bench/insert/", insert, name="bench-insert"),
    path("", include("coalition.urls")),
]

handler404 = "coalition.views.page_not_found"
handler403 = "coalition.views.permission_denied"
handler500 = "coalition.views.server_error"
