import uuid
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth.hashers import make_password
from django.http import HttpRequest
from django.utils.crypto import get_random_string

from coalition.emails import render_email
from coalition.outbox.builders import Email
from coalition.outbox.services import outbox_enqueue_email


class AccountAdapter(DefaultAccountAdapter):
    """allauth's emails go through the site's renderer and the outbox;
    failed logins lock an account from one address only; sign-up takes the same
    work whether or not the address already has an account."""

    def _get_login_attempts_cache_key(
        self, request: HttpRequest, **credentials: Any
    ) -> str:
        # allauth keys the failed-login limit on the account alone, so anyone's
        # five wrong passwords would lock its owner out; add the client address.
        account = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{account}:{self.get_client_ip(request)}"

    def send_account_already_exists_mail(self, email: str) -> None:
        # A new account costs a password hash; without one here, the quicker
        # answer would tell a stranger that the address already has an account.
        # (Both paths send one email, in the same way.)
        make_password(get_random_string(32))
        super().send_account_already_exists_mail(email)

    def send_mail(self, template_prefix: str, email: str, context: Any) -> None:
        # allauth names templates "account/email/<name>" (or "mfa/email/<name>");
        # ours live in emails/account/<name>.{subject.txt,txt,html}.
        name = template_prefix.rsplit("/", 1)[-1]
        ctx = dict(context)
        ctx.setdefault("current_site", self._get_current_site())
        message = render_email(
            f"account/{name}", ctx, to=[email], fallback_prefix=template_prefix
        )
        # Built now (its context holds keys and the request), sent by the
        # dispatcher, retried there: the person waiting for it is never dropped.
        # Each is its own message: asking for a link again sends another.
        outbox_enqueue_email(
            key=f"account:{name}:{uuid.uuid4().hex}",
            email=Email.from_message(message),
        )

    def _get_current_site(self) -> Any:
        from django.contrib.sites.shortcuts import get_current_site

        return get_current_site(self.request)
