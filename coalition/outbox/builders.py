"""The table of message kinds: for each, how its message is built at send time.

An app registers its kinds from its ``AppConfig.ready`` with
:func:`register`; the builders themselves stay in the app's ``emails.py``.
The dispatcher looks a row's kind up here, so this module imports no app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict, TypeVar

from django.core.mail import EmailMultiAlternatives

from coalition.outbox.mime import OutgoingEmail

if TYPE_CHECKING:
    from coalition.outbox.models import OutboxMessage


class Attachment(TypedDict):
    filename: str
    content: str
    mimetype: str


class BuiltEmail(TypedDict):
    """The JSON form of :class:`Email`, kept on a row once it has been built."""

    subject: str
    text: str
    html: str | None
    from_email: str
    to: list[str]
    reply_to: list[str]
    headers: dict[str, str]
    attachments: list[Attachment]


@dataclass(frozen=True)
class Email:
    """A built message: what the dispatcher sends (with the row's Message-ID)."""

    subject: str
    text: str
    to: list[str]
    from_email: str
    html: str | None = None
    reply_to: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)

    @classmethod
    def from_message(cls, message: EmailMultiAlternatives) -> Email:
        """From what ``coalition.emails.render_email`` returns."""
        html = next(
            (str(body) for body, mime in message.alternatives if mime == "text/html"),
            None,
        )
        attachments: list[Attachment] = []
        for item in message.attachments:
            if isinstance(item, tuple):
                filename, content, mimetype = item
                text = content.decode() if isinstance(content, bytes) else content
                attachments.append(
                    {
                        "filename": str(filename),
                        "content": str(text),
                        "mimetype": str(mimetype),
                    }
                )
        return cls(
            subject=str(message.subject),
            text=str(message.body),
            to=[str(address) for address in message.to],
            from_email=str(message.from_email),
            html=html,
            reply_to=[str(address) for address in message.reply_to],
            headers={str(k): str(v) for k, v in message.extra_headers.items()},
            attachments=attachments,
        )

    def as_dict(self) -> BuiltEmail:
        return {
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
            "from_email": self.from_email,
            "to": list(self.to),
            "reply_to": list(self.reply_to),
            "headers": dict(self.headers),
            "attachments": list(self.attachments),
        }

    @classmethod
    def from_dict(cls, data: BuiltEmail) -> Email:
        return cls(
            subject=data["subject"],
            text=data["text"],
            to=list(data["to"]),
            from_email=data["from_email"],
            html=data["html"],
            reply_to=list(data["reply_to"]),
            headers=dict(data["headers"]),
            attachments=list(data["attachments"]),
        )

    def to_message(self, *, message_id: str) -> EmailMultiAlternatives:
        message = OutgoingEmail(
            subject=self.subject,
            body=self.text,
            from_email=self.from_email,
            to=self.to,
            reply_to=self.reply_to or None,
            headers={**self.headers, "Message-ID": message_id},
        )
        if self.html is not None:
            message.attach_alternative(self.html, "text/html")
        for attachment in self.attachments:
            message.attach(
                attachment["filename"], attachment["content"], attachment["mimetype"]
            )
        return message


# Build one row's message; None when there is nothing to say any more (the row
# is then cancelled, not sent).
Builder = Callable[["OutboxMessage"], Email | None]
# Why each of a batch of rows must not go out after all ("" or absent: send).
# Checked before every attempt, for the whole batch of one kind at once.
Screen = Callable[[list["OutboxMessage"], datetime], dict[int, str]]
# What follows sending (a prospect becomes "invited"), in the transaction that
# marks the batch sent.
AfterSent = Callable[[list["OutboxMessage"], datetime], None]
# A recipient the server refused for good (a bounce).
Bounced = Callable[["OutboxMessage", str], None]
# What the builders of a batch's rows will read, loaded at once into the batch
# memo (:func:`remember`) instead of a query a row; kinds that share one are
# prepared together.
Prepare = Callable[[list["OutboxMessage"]], None]


@dataclass(frozen=True)
class Kind:
    name: str
    build: Builder
    screen: Screen | None = None
    after_sent: AfterSent | None = None
    bounced: Bounced | None = None
    prepare: Prepare | None = None
    # Related rows the builder reads, loaded with the batch in one query.
    select_related: tuple[str, ...] = ()


PREBUILT = "prebuilt"


def _prebuilt(message: OutboxMessage) -> Email | None:
    # Built at enqueue (an account email): ``built`` is always set, so the
    # dispatcher never calls this.
    return None


_KINDS: dict[str, Kind] = {PREBUILT: Kind(PREBUILT, _prebuilt)}


def register(*kinds: Kind) -> None:
    """Add kinds to the table (from an ``AppConfig.ready``); a name registered
    twice must be the same kind."""
    for kind in kinds:
        existing = _KINDS.get(kind.name)
        if existing is not None and existing != kind:
            raise ValueError(f"outbox kind {kind.name!r} is registered twice")
        _KINDS[kind.name] = kind


def kind_for(name: str) -> Kind:
    try:
        return _KINDS[name]
    except KeyError:
        raise LookupError(f"no outbox kind {name!r} is registered") from None


def registered() -> Iterable[str]:
    return sorted(_KINDS)


# --- What builders of one batch share ------------------------------------------------

_T = TypeVar("_T")
_memo: ContextVar[dict[object, object] | None] = ContextVar("outbox_memo", default=None)


@contextmanager
def batch_memo() -> Iterator[None]:
    """While a batch is built: what :func:`memoised` keeps lives this long."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def in_batch() -> bool:
    """Whether a batch is being built (:func:`batch_memo`)."""
    return _memo.get() is not None


def memoised(key: object, make: Callable[[], _T]) -> _T:
    """``make()`` once per ``key`` within a batch (every time outside one): a
    row many messages of a batch read, such as their invitation batch."""
    memo = _memo.get()
    if memo is None:
        return make()
    if key not in memo:
        memo[key] = make()
    return memo[key]  # type: ignore[return-value]


def remember(key: object, value: object) -> None:
    """What :func:`memoised` will give for ``key`` in this batch (a
    ``Kind.prepare`` loading many rows' values at once); nothing outside one."""
    memo = _memo.get()
    if memo is not None:
        memo[key] = value
