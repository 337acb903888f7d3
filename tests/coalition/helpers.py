from datetime import timedelta

import time_machine
from allauth.mfa.totp.internal import auth as totp_auth
from django.contrib.auth.hashers import MD5PasswordHasher
from django.utils import timezone


def totp_code(secret: str) -> str:
    counter = next(totp_auth.yield_hotp_counters_from_time())
    return totp_auth.format_hotp_value(totp_auth.hotp_value(secret, counter))


def still_clock() -> time_machine.travel:
    """A clock that stands still between computing a TOTP code and posting it,
    so that a 30-second period cannot roll over in between on a slow machine."""
    start = timezone.now().replace(second=5, microsecond=0) + timedelta(minutes=1)
    return time_machine.travel(start, tick=False)


class CountingPasswordHasher(MD5PasswordHasher):
    """Counts the passwords it hashes: the costly step of creating an account."""

    algorithm = "counting_md5"
    calls = 0

    def encode(self, password: str, salt: str) -> str:
        type(self).calls += 1
        return super().encode(password, salt)
