"""Pages whose URL carries a secret token, and CSRF checks that still work there.

A page opened from an emailed link has the token in its URL. It answers with
``Referrer-Policy: no-referrer`` so the token never leaves in a Referer header.
Browsers then also send ``Origin: null`` and no Referer when that page posts its
own form, which Django's CSRF middleware would refuse; for those views only,
the middleware below stands in the site's own origin, and Django's middleware
still requires the CSRF token, which is what protects the form.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse

View = Callable[..., HttpResponse]


def token_page(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        return response

    wrapper.token_page = True  # type: ignore[attr-defined]
    return wrapper


class TokenPageCsrfMiddleware:
    """Runs before Django's CsrfViewMiddleware, for token pages only.

    The browser withheld the page's origin and referer because the page asked it
    to; the request comes from that same page, so stand in the site's own origin
    for them. Django's middleware then checks the CSRF token as for any form.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        if not getattr(view_func, "token_page", False):
            return
        if request.META.get("HTTP_ORIGIN") == "null":
            del request.META["HTTP_ORIGIN"]
        if request.is_secure() and not request.META.get("HTTP_REFERER"):
            request.META["HTTP_REFERER"] = request.build_absolute_uri("/")
