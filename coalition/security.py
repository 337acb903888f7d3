"""Pages whose URL carries a secret token, and CSRF checks that still work there.

A page opened from an emailed link has the token in its URL. It answers with
``Referrer-Policy: no-referrer`` so the token never leaves in a Referer header.
Browsers then also send ``Origin: null`` and no Referer when that page posts its
own form, which Django's CSRF middleware would refuse; for those views only,
the middleware below sets the origin and referer checks aside and still
requires the CSRF token, which is what protects the form.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware as DjangoCsrfViewMiddleware

View = Callable[..., HttpResponse]


def token_page(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        return response

    wrapper.token_page = True  # type: ignore[attr-defined]
    return wrapper


class CsrfViewMiddleware(DjangoCsrfViewMiddleware):
    def process_view(
        self,
        request: HttpRequest,
        callback: Callable[..., Any],
        callback_args: tuple[Any, ...],
        callback_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if getattr(callback, "token_page", False):
            if request.META.get("HTTP_ORIGIN") == "null":
                del request.META["HTTP_ORIGIN"]
            request._token_page = True  # type: ignore[attr-defined]
        return super().process_view(request, callback, callback_args, callback_kwargs)

    def _check_referer(self, request: HttpRequest) -> None:
        if getattr(request, "_token_page", False) and not request.META.get(
            "HTTP_REFERER"
        ):
            return
        super()._check_referer(request)
