"""Helpers shared by the letter services: the row lock, audit values."""

from datetime import datetime

from letters.models import (
    Letter,
)


def lock_letter(letter: Letter) -> None:
    """Lock the letter's row and reload it, so rules see what others committed."""
    letter.refresh_from_db(from_queryset=Letter.objects.filter(pk=letter.pk).locked())


def audit_json(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value
