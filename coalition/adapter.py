import logging
import smtplib
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction

from coalition.emails import message_to_dict, render_email, send_message

logger = logging.getLogger(__name__)


class AccountAdapter(DefaultAccountAdapter):
    """allauth's emails go through the site's renderer and retry on failure."""

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
            from coalition.tasks import email_send_task

            payload = message_to_dict(message)
            transaction.on_commit(lambda: email_send_task.delay(payload))

    def _get_current_site(self) -> Any:
        from django.contrib.sites.shortcuts import get_current_site

        return get_current_site(self.request)
