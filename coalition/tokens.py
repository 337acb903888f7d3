"""Signed, purpose-bound, expiring tokens for every emailed link.

A token carries a row's primary key, signed with a salt per purpose so that a
withdraw link cannot be used to confirm, and checked with a maximum age. Tokens
do not carry state: whether a link may still act (single use) is decided by the
row's status, so a second click finds the work done.
"""

import functools
import hashlib
import hmac
import time
import zlib
from datetime import timedelta
from typing import Final

from django.conf import settings
from django.core import signing
from django.utils.encoding import force_bytes

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
    """``signing.dumps(pk, salt="signers.<purpose>", compress=True)``: the
    same string, with the salt's derived key computed once per process (a
    batch of emails signs thousands of links; a test holds the two equal)."""
    if purpose not in MAX_AGE:
        raise ValueError(f"unknown token purpose {purpose!r}")
    salt = f"signers.{purpose}"
    if type(pk) is not int:
        return signing.dumps(pk, salt=salt, compress=True)
    data = str(pk).encode()  # what signing's JSON serializer writes for an int
    compressed = zlib.compress(data)
    if len(compressed) < len(data) - 1:
        value = "." + signing.b64_encode(compressed).decode()
    else:
        value = signing.b64_encode(data).decode()
    value = f"{value}:{signing.b62_encode(int(time.time()))}"
    mac = _keyed(salt, settings.SECRET_KEY).copy()
    mac.update(value.encode())
    return f"{value}:{signing.b64_encode(mac.digest()).decode()}"


@functools.lru_cache(maxsize=64)
def _keyed(salt: str, secret: str | bytes) -> hmac.HMAC:
    """The HMAC a ``TimestampSigner(salt=salt)`` signs with (``salted_hmac``
    with the signer's key salt and SHA-256), keyed and ready to copy."""
    key = hashlib.sha256(force_bytes(f"{salt}signer") + force_bytes(secret)).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


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
