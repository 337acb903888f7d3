import logging
import smtplib
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.http import HttpRequest
from django.utils.crypto import get_random_string

from coalition.emails import message_to_dict, render_email, send_message
from coalition.queue import enqueue

logger = logging.getLogger(__name__)


class AccountAdapter(DefaultAccountAdapter):
    """allauth's emails go through the site's renderer and retry on failure;
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
        try:
            send_message(message)
        except (smtplib.SMTPException, OSError):
            # The person is waiting for this email: never drop it, retry it.
            logger.warning("email to %s failed, queued for retry", email)

            payload = message_to_dict(message)
            transaction.on_commit(
                lambda: enqueue("coalition.tasks.email_send_task", payload)
            )

    def _get_current_site(self) -> Any:
        from django.contrib.sites.shortcuts import get_current_site

        return get_current_site(self.request)
