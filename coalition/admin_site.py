"""The Django admin, entered only through the site's own login.

Django's admin login page checks a password and nothing else: no two-factor
step, no rate limit. Here it has no form at all; it sends the visitor through
allauth's login (rate-limited, with the TOTP step when the account has one), and
the admin opens only to a staff session that allauth authenticated, with a
second factor when the account has one.
"""

from typing import Any

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache


def session_has_site_login(request: HttpRequest) -> bool:
    """True if allauth authenticated this session's user, with a second factor
    when the user has one (a session made any other way has no such record)."""
    records = get_authentication_records(request, request.user)
    if not records:
        return False
    if is_mfa_enabled(request.user):
        return any(record.get("method") == "mfa" for record in records)
    return True


class SiteAdmin(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and session_has_site_login(request)

    @method_decorator(never_cache)
    def login(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Never checks a password: sends the visitor to the site's login, or,
        for a staff session without the needed record, to confirm who they are
        again (with the second factor when the account has one)."""
        index = reverse("admin:index", current_app=self.name)
        next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=False
        ):
            next_url = index
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(next_url, resolve_url(settings.LOGIN_URL))
        if not (user.is_active and user.is_staff):
            raise PermissionDenied
        if not session_has_site_login(request):
            if is_mfa_enabled(user):
                return redirect_to_login(next_url, reverse("mfa_reauthenticate"))
            return redirect_to_login(next_url, reverse("account_reauthenticate"))
        return HttpResponseRedirect(next_url)
