from typing import Any

from django.http import Http404, HttpRequest, HttpResponse


def not_built(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """Placeholder for a page another piece of work fills in."""
    raise Http404
