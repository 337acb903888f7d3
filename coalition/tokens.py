"""Signed, purpose-bound, expiring tokens for every emailed link.

A token carries a row's primary key, signed with a salt per purpose so that a
withdraw link cannot be used to confirm, and checked with a maximum age. Tokens
do not carry state: whether a link may still act (single use) is decided by the
row's status, so a second click finds the work done.
"""

from datetime import timedelta
from typing import Final

from django.core import signing

DAY: Final = timedelta(days=1)

MAX_AGE: Final[dict[str, timedelta]] = {
    "invite": 120 * DAY,  # an invitation, open until the letter closes
    "decline": 120 * DAY,
    "confirm": 7 * DAY,  # open-join email confirmation
    "reconfirm": 120 * DAY,  # re-confirm after a material revision
    "withdraw": 3 * 365 * DAY,
    "edit": 3 * 365 * DAY,  # self-service correction of public details
    "refer": 30 * DAY,  # the thank-you page: "who else should sign?"
    "unsubscribe": 5 * 365 * DAY,
    "team": 14 * DAY,  # an invitation to join a letter's organising team
    "rsvp": 365 * DAY,  # answer a coalition call invitation
    "reissue": 120 * DAY,  # opt in to a re-issued letter
}


class TokenError(Exception):
    """The link is not valid: tampered with, or for another purpose."""


class TokenExpired(TokenError):
    """The link was valid but is too old."""


def make_token(purpose: str, pk: int) -> str:
    if purpose not in MAX_AGE:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return signing.dumps(pk, salt=f"signers.{purpose}", compress=True)


def read_token(purpose: str, token: str) -> int:
    """Return the primary key in ``token``; raise TokenExpired or TokenError."""
    try:
        value = signing.loads(
            token, salt=f"signers.{purpose}", max_age=MAX_AGE[purpose]
        )
    except signing.SignatureExpired as exc:
        raise TokenExpired(purpose) from exc
    except signing.BadSignature as exc:
        raise TokenError(purpose) from exc
    if not isinstance(value, int):
        raise TokenError(purpose)
    return value
