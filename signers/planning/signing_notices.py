"""Who is told that someone signed, and when: one email per organiser per
quarter of an hour at most, listing who signed in it.

A confirmed signature (from an invitation, an open join once confirmed or
approved, a re-confirmation) is reported to its prospect's relationship holder,
or to the letter's owners when nobody holds the relationship; the letter's
people are its team and its coalition's members, with the role each holds
(``letters.permissions.letter_people``). Each closed
15-minute window gives one outbox row per recipient, keyed by the letter, the
recipient and the window: a second planner, or the same one a minute later,
adds nothing. Organisers' imports are their own doing and are not reported.
"""

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.utils.translation import gettext_noop

from coalition.models import User
from coalition.outbox.models import OutboxMessage
from coalition.outbox.services import JSONScalar, outbox_message
from letters.models import Membership
from letters.permissions import letter_people
from signers.models import EmailKind, Signature, SigningNoticeOptOut

WINDOW = timedelta(minutes=15)
# A signature's transaction may commit a moment after its confirmed_at: a
# window is planned only once this much later than its end.
GRACE = timedelta(minutes=2)
# Windows this old are not planned any more (the planner was down).
LOOKBACK = timedelta(hours=3)

OPTED_OUT = gettext_noop("Turned off emails when someone signs.")
NOT_ON_TEAM = gettext_noop("No longer on the letter's team.")


def window_start(when: datetime) -> datetime:
    """The start of the 15-minute window (UTC) ``when`` falls in."""
    when = when.astimezone(UTC)
    return when.replace(minute=when.minute - when.minute % 15, second=0, microsecond=0)


def notice_key(letter_id: int, user_id: int, start: datetime) -> str:
    return f"signing-notice:{letter_id}:{user_id}:{start:%Y%m%dT%H%MZ}"


def recipients(signature: Signature, team: dict[int, Membership]) -> list[User]:
    """The prospect's relationship holder if they are on the team, or else
    the letter's owners."""
    prospect = signature.prospect
    if prospect is not None and prospect.owner_id in team:
        return [team[prospect.owner_id].user]
    return [m.user for m in team.values() if m.role == Membership.Role.OWNER]


def due_deliveries(*, now: datetime) -> list[OutboxMessage]:
    """One unsaved row per recipient per closed window with signatures in it."""
    until = window_start(now - GRACE)
    signed = (
        Signature.objects.filter(
            status__in=Signature.SIGNED_STATUSES,
            confirmed_at__gte=until - LOOKBACK,
            confirmed_at__lt=until,
            erased_at__isnull=True,
        )
        .exclude(source=Signature.Source.IMPORT)
        .select_related("prospect")
        .order_by("confirmed_at", "id")
    )
    signatures = list(signed)
    if not signatures:
        return []
    teams = letter_people(s.letter_id for s in signatures)
    opted_out = set(
        SigningNoticeOptOut.objects.filter(letter_id__in=list(teams)).values_list(
            "letter_id", "user_id"
        )
    )
    buckets: dict[tuple[int, User, datetime], list[JSONScalar]] = defaultdict(list)
    for s in signatures:
        assert s.confirmed_at is not None
        for user in recipients(s, teams.get(s.letter_id, {})):
            if (s.letter_id, user.pk) not in opted_out:
                buckets[(s.letter_id, user, window_start(s.confirmed_at))].append(s.pk)
    return [
        outbox_message(
            kind=EmailKind.SIGNING_NOTICE,
            key=notice_key(letter_id, user.pk, start),
            to=user.email,
            params={"signatures": ids, "window": start.isoformat()},
            letter_id=letter_id,
            user_id=user.pk,
            send_at=now,
        )
        for (letter_id, user, start), ids in buckets.items()
    ]


def screen(rows: list[OutboxMessage], now: datetime) -> dict[int, str]:
    """At send time: the recipient may have turned the notices off, or left
    the letter (its team and its coalition), since the row was planned."""
    pairs = {(r.letter_id, r.user_id) for r in rows}
    off = set(
        SigningNoticeOptOut.objects.filter(
            letter_id__in={p[0] for p in pairs}, user_id__in={p[1] for p in pairs}
        ).values_list("letter_id", "user_id")
    )
    people = letter_people(p[0] for p in pairs if p[0] is not None)
    on_team = {(letter, user) for letter, users in people.items() for user in users}

    def reason(row: OutboxMessage) -> str:
        if (row.letter_id, row.user_id) in off:
            return OPTED_OUT
        return "" if (row.letter_id, row.user_id) in on_team else NOT_ON_TEAM

    return {row.pk: reason(row) for row in rows}
