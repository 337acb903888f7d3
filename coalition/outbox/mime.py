"""The bytes of an outgoing message, written directly.

Django builds a tree of ``email.mime`` objects and the standard library's
generator walks it again to write it: a few milliseconds per message, more
than a loopback SMTP conversation. The dispatcher's messages have one shape
(a text part and an HTML part, in UTF-8), so :class:`OutgoingEmail` writes
that shape's bytes in one pass: the same headers, encoded by Django's own
functions (a newline in a header is still refused), and the same parts. Any
other shape (attachments, a line too long for 8bit, another charset) and any
other use of the message than its bytes take Django's way.
"""

import re
from email.generator import _make_boundary  # type: ignore[attr-defined]
from email.utils import formatdate
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import (
    RFC5322_EMAIL_LINE_LENGTH_LIMIT,
    forbid_multi_line_headers,
)

_NEWLINES = re.compile(r"\r\n|\r|\n")
_HANDLED = {"from", "to", "cc", "reply-to"}


class OutgoingEmail(EmailMultiAlternatives):
    """An ``EmailMultiAlternatives`` whose ``message().as_bytes()`` is written
    directly (see the module); everything else is Django's."""

    def message(self, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:  # a caller that asks for more than the bytes
            return self.django_message(*args, **kwargs)
        return _Message(self)

    def django_message(self, *args: Any, **kwargs: Any) -> Any:
        return super().message(*args, **kwargs)


class _Message:
    """What ``message()`` returns: the bytes written directly when the shape
    allows, Django's message for anything else."""

    def __init__(self, email: OutgoingEmail) -> None:
        self.email = email
        self._django: Any = None
        # Built now, as Django's message() would be: a bad header fails here.
        self._bytes = _write(email)
        if self._bytes is None:
            self._django = email.django_message()

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        if self._bytes is not None and linesep == "\r\n" and not unixfrom:
            return self._bytes
        return self.django.as_bytes(unixfrom=unixfrom, linesep=linesep)

    @property
    def django(self) -> Any:
        if self._django is None:
            self._django = self.email.django_message()
        return self._django

    def __getattr__(self, name: str) -> Any:
        return getattr(self.django, name)

    def __getitem__(self, name: str) -> Any:
        return self.django[name]


def _write(email: OutgoingEmail) -> bytes | None:
    encoding = email.encoding or settings.DEFAULT_CHARSET
    html = [body for body, mime in email.alternatives if mime == "text/html"]
    if (
        email.attachments
        or email.cc
        or len(email.alternatives) != 1
        or len(html) != 1
        or email.content_subtype != "plain"
        or encoding.lower() not in ("utf-8", "utf8")
    ):
        return None
    text_part = _part("plain", str(email.body))
    html_part = _part("html", str(html[0]))
    if text_part is None or html_part is None:
        return None
    headers = _headers(email, encoding)
    limit = RFC5322_EMAIL_LINE_LENGTH_LIMIT
    if headers is None or any(len(line) > limit for line in headers):
        return None
    boundary = _make_boundary()
    head = [
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"',
        "MIME-Version: 1.0",
        *headers,
    ]
    return b"".join(
        [
            "\r\n".join(head).encode("ascii"),
            f"\r\n\r\n--{boundary}\r\n".encode("ascii"),
            text_part,
            f"\r\n--{boundary}\r\n".encode("ascii"),
            html_part,
            f"\r\n--{boundary}--\r\n".encode("ascii"),
        ]
    )


# ASCII words, single spaces between them, short enough not to be folded.
_PLAIN_SUBJECT = re.compile(r"[!-~]+(?: [!-~]+)*")


def plain_subject(value: str) -> bool:
    """Whether ``Header(value).encode()``, which Django applies to an ASCII
    subject (a twentieth of a millisecond), gives ``value`` back as it is: a
    test compares the two on many strings. A newline is never plain."""
    return (
        len(value) <= 76 and "=?" not in value and bool(_PLAIN_SUBJECT.fullmatch(value))
    )


def _headers(email: OutgoingEmail, encoding: str) -> list[str] | None:
    lines: list[str] = []

    def add(name: str, value: str) -> None:
        if name == "Subject" and plain_subject(value):
            lines.append(f"Subject: {value}")
            return
        name, value = forbid_multi_line_headers(name, value, encoding)
        # An encoded header Header.encode() folded: the lines go out with CRLF.
        lines.append(f"{name}: {_NEWLINES.sub(chr(13) + chr(10), str(value))}")

    add("Subject", str(email.subject))
    extra = {str(k): str(v) for k, v in email.extra_headers.items()}
    add("From", extra.get("From", str(email.from_email)))
    add("To", ", ".join(str(a) for a in email.to))
    if email.reply_to:
        add("Reply-To", ", ".join(str(a) for a in email.reply_to))
    names = {name.lower() for name in extra}
    if "date" not in names:
        add("Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME))
    if "message-id" not in names:
        return None  # the dispatcher always sets it; Django makes one otherwise
    for name, value in extra.items():
        if name.lower() not in _HANDLED:
            add(name, value)
    return lines


def _part(subtype: str, text: str) -> bytes | None:
    """One UTF-8 part, as Django writes it (8bit, or 7bit when ASCII); None
    when a line is too long for either (Django then uses quoted-printable)."""
    lines = _NEWLINES.split(text)
    data = [line.encode("utf-8", errors="surrogateescape") for line in lines]
    if any(len(line) > RFC5322_EMAIL_LINE_LENGTH_LIMIT for line in data):
        return None
    body = b"\r\n".join(data)
    transfer = "7bit" if body.isascii() else "8bit"
    head = (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "MIME-Version: 1.0\r\n"
        f"Content-Transfer-Encoding: {transfer}\r\n\r\n"
    )
    return head.encode("ascii") + body
