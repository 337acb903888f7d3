"""Pages whose URL carries a secret, and CSRF checks that still work there.

A route with a ``token`` or ``key`` argument (every emailed link: signing,
withdrawal, team invitations, allauth's confirmation and reset links) carries
a secret in its URL. Its responses say ``Referrer-Policy: no-referrer`` so the
secret never leaves in a Referer header. Browsers then also send ``Origin: null``
and no Referer when that page posts its own form, which Django's CSRF middleware
would refuse; for those routes only, the middleware below stands in the site's
own origin, and Django's middleware still requires the CSRF token, which is what
protects the form.
"""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

SECRET_URL_KWARGS = frozenset({"token", "key"})


def carries_secret(url_kwargs: dict[str, Any]) -> bool:
    return not SECRET_URL_KWARGS.isdisjoint(url_kwargs)


class SecretUrlMiddleware:
    """Goes before Django's CsrfViewMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = request.resolver_match
        if match is not None and carries_secret(match.kwargs):
            response["Referrer-Policy"] = "no-referrer"
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        if not carries_secret(view_kwargs):
            return
        if request.META.get("HTTP_ORIGIN") == "null":
            del request.META["HTTP_ORIGIN"]
        if request.is_secure() and not request.META.get("HTTP_REFERER"):
            request.META["HTTP_REFERER"] = request.build_absolute_uri("/")
