"""Development email: each message kept as a file, one line on the terminal.

`make run` has a web process and a worker process that both send email, so the
messages go to files in ``DEV_EMAIL_DIR`` (``var/mail/``), which both can write
and the web process reads for the pages at ``/dev/emails/``. The terminal gets
one line per message with the address of its page, never the message itself.
"""

import os
import re
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage as DjangoEmailMessage
from django.urls import reverse
from django.utils import timezone

# A message's id is its file name: the time it was sent, then a random tail, so
# that names sort by time and two processes never pick the same one.
EMAIL_ID = re.compile(r"\d{8}-\d{6}-\d{6}-[0-9a-f]{16}")
LIST_LIMIT = 200


def mail_dir() -> Path:
    return Path(settings.DEV_EMAIL_DIR)


class DevMailBackend(BaseEmailBackend):
    """Keeps each message in ``DEV_EMAIL_DIR`` and prints one line for it."""

    def __init__(
        self, *args: Any, stream: IO[str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # The process's own standard output: the worker redirects sys.stdout
        # into its log, which would wrap the line in a log record.
        self.stream = stream

    def send_messages(self, email_messages: Sequence[DjangoEmailMessage]) -> int:
        directory = mail_dir()
        directory.mkdir(parents=True, exist_ok=True)
        stream = self.stream or sys.__stdout__ or sys.stdout
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            email_id = _new_id()
            _write_atomically(
                directory / f"{email_id}.eml",
                message.message().as_bytes(),
            )
            stream.write(_terminal_line(message, email_id) + "\n")
            stream.flush()
            sent += 1
        return sent


def _new_id() -> str:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
    return f"{stamp}-{secrets.token_hex(8)}"


def _write_atomically(path: Path, data: bytes) -> None:
    # Written whole, then renamed: the list never shows half a message.
    partial = path.with_suffix(".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def _terminal_line(message: DjangoEmailMessage, email_id: str) -> str:
    url = settings.SITE_URL + reverse("dev-email-detail", args=[email_id])
    recipients = ", ".join(message.recipients())
    # One line, whatever a subject or an address holds.
    return " ".join(f"email to {recipients}: {message.subject} - {url}".split())


@dataclass(frozen=True)
class StoredEmailSummary:
    id: str
    date: str
    to: str
    subject: str


@dataclass(frozen=True)
class StoredEmail:
    id: str
    headers: list[tuple[str, str]]
    subject: str
    text: str | None
    html: str | None


def stored_email_list(*, limit: int = LIST_LIMIT) -> list[StoredEmailSummary]:
    """The newest ``limit`` messages, newest first (headers only)."""
    directory = mail_dir()
    if not directory.is_dir():
        return []
    ids = sorted(
        (p.stem for p in directory.glob("*.eml") if EMAIL_ID.fullmatch(p.stem)),
        reverse=True,
    )[:limit]
    parser = BytesHeaderParser(policy=policy.default)
    summaries = []
    for email_id in ids:
        with open(directory / f"{email_id}.eml", "rb") as f:
            headers = parser.parse(f)
        summaries.append(
            StoredEmailSummary(
                id=email_id,
                date=str(headers.get("Date", "")),
                to=str(headers.get("To", "")),
                subject=str(headers.get("Subject", "")),
            )
        )
    return summaries


def stored_email_get(*, email_id: str) -> StoredEmail | None:
    """One message by its id, or None (also for anything that is not an id)."""
    if not EMAIL_ID.fullmatch(email_id):
        return None
    path = mail_dir() / f"{email_id}.eml"
    if not path.is_file():
        return None
    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return StoredEmail(
        id=email_id,
        headers=[(name, str(value)) for name, value in parsed.items()],
        subject=str(parsed.get("Subject", "")),
        text=_part(parsed, "plain"),
        html=_part(parsed, "html"),
    )


def _part(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return None
    content = part.get_content()
    return content if isinstance(content, str) else None
