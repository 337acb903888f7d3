"""Invitations and deadline reminders rendered once per group of a dispatch
batch, then filled in per prospect (``coalition.outbox.batch_render``).

What a prospect's invitation or reminder says of its own is the
organisation, the contact's name and the links; everything else is the
letter's, the invitation batch's or the kind's, which make the group key
with whether the contact has a name. A prospect with a personal note, or
with a value a placeholder cannot stand for, gets the full rendering of
``signers.emails``: the reference these builders must equal.
"""

from collections.abc import Callable, Mapping

from django.conf import settings
from django.db import models

from coalition.links import token_url
from coalition.outbox.batch_render import UNPLACED, Filled, shape_for
from coalition.outbox.builders import Email, memoised
from coalition.outbox.models import OutboxMessage
from letters.models import Letter
from signers.email_batches import invitation_batch_of
from signers.emails import (
    build_deadline_reminder,
    build_invitation,
    deadline_reminder_message,
    invitation_message,
    prospect_links,
    reply_to_of,
    unsubscribe_headers,
)
from signers.models import InvitationBatch, Prospect

_LINKS = ("sign_url", "decline_url")


def _stand_in(
    prospect: Prospect, letter: Letter, values: Mapping[str, str]
) -> Prospect:
    """The group's prospect: placeholders where the row's values go, and
    :data:`UNPLACED` in every other text field but the (empty) note."""
    stand_in = Prospect(pk=prospect.pk, letter=letter)
    for field in Prospect._meta.concrete_fields:
        text = isinstance(field, models.CharField | models.TextField)
        if text and not field.choices:
            setattr(stand_in, field.attname, values[UNPLACED])
    stand_in.organisation = values["organisation"]
    stand_in.contact_name = values.get("contact_name", "")
    stand_in.personal_note = ""
    return stand_in


def _filled(
    row: OutboxMessage,
    prospect: Prospect,
    letter: Letter,
    render: Callable[[Prospect, Mapping[str, str]], Email],
    links: tuple[str, ...],
    group: object = None,
) -> tuple[Filled, dict[str, str]] | None:
    """The row's subject, text and HTML from its group's rendering, and the
    links they carry; None when the row must be rendered in full. ``group``:
    what else the rendering depends on besides the kind and the letter."""
    named = ("contact_name",) if prospect.contact_name else ()
    names = ("organisation", *named, *links)
    shape = shape_for(
        (row.kind, letter.pk, group, names),
        names,
        lambda values: render(_stand_in(prospect, letter, values), values),
    )
    if shape is None:
        return None
    urls = prospect_links(prospect)
    if "unsubscribe_url" in links:
        urls["unsubscribe_url"] = token_url("unsubscribe", "unsubscribe", row.pk)
    values = {
        "organisation": prospect.organisation,
        "contact_name": prospect.contact_name,
        **urls,
    }
    filled = shape.fill(values)
    return (filled, urls) if filled is not None else None


def _from_email(batch: InvitationBatch | None) -> str:
    if batch is None:
        return str(settings.DEFAULT_FROM_EMAIL)
    return memoised(("invitation-from", batch.pk), lambda: batch.from_email)


def _email(
    filled: Filled,
    row: OutboxMessage,
    *,
    to: str,
    from_email: str,
    reply_to: list[str],
    unsubscribe_url: str = "",
) -> Email:
    return Email(
        subject=filled.subject,
        text=filled.text,
        html=filled.html,
        to=[to],
        from_email=from_email,
        reply_to=list(reply_to),
        headers=unsubscribe_headers(row, unsubscribe_url),
    )


def build_invitation_once(row: OutboxMessage) -> Email | None:
    """:func:`signers.emails.build_invitation`, rendered once per group."""
    prospect, letter = row.prospect, row.letter
    if prospect is None or letter is None or prospect.personal_note.strip():
        return build_invitation(row)
    prospect.letter = letter
    batch = invitation_batch_of(row)

    def render(stand_in: Prospect, values: Mapping[str, str]) -> Email:
        links = {name: values[name] for name in _LINKS}
        message = invitation_message(prospect=stand_in, batch=batch, links=links)
        return Email.from_message(message)

    found = _filled(row, prospect, letter, render, _LINKS, batch.pk if batch else None)
    if found is None:
        return build_invitation(row)
    return _email(
        found[0],
        row,
        to=prospect.email,
        from_email=_from_email(batch),
        reply_to=reply_to_of(prospect, batch),
    )


def build_deadline_reminder_once(row: OutboxMessage) -> Email | None:
    """:func:`signers.emails.build_deadline_reminder`, rendered once per
    group."""
    prospect, letter = row.prospect, row.letter
    if prospect is None or letter is None:
        return build_deadline_reminder(row)
    prospect.letter = letter

    def render(stand_in: Prospect, values: Mapping[str, str]) -> Email:
        message = deadline_reminder_message(
            row,
            stand_in,
            links={name: values[name] for name in _LINKS},
            unsubscribe_url=values["unsubscribe_url"],
        )
        return Email.from_message(message)

    found = _filled(row, prospect, letter, render, (*_LINKS, "unsubscribe_url"))
    if found is None:
        return build_deadline_reminder(row)
    filled, urls = found
    batch = invitation_batch_of(row)
    return _email(
        filled,
        row,
        to=row.to,
        from_email=_from_email(batch),
        reply_to=reply_to_of(prospect, batch),
        unsubscribe_url=urls["unsubscribe_url"],
    )
