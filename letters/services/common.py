"""Helpers shared by the letter services: the row lock, the audit log, roles."""

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied

from coalition.models import User
from letters.models import (
    AuditEvent,
    Letter,
    Membership,
)
from letters.selectors import membership_for


def lock_letter(letter: Letter) -> None:
    """Lock the letter's row and reload it, so rules see what others committed."""
    letter.refresh_from_db(from_queryset=Letter.objects.filter(pk=letter.pk).locked())


def audit(letter: Letter, actor: User | None, action: str, **detail: Any) -> None:
    AuditEvent.objects.create(letter=letter, actor=actor, action=action, detail=detail)


def audit_json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def require_role(letter: Letter, user: User, role: str) -> Membership:
    membership = membership_for(letter=letter, user=user)
    if membership is None or not membership.has_role(role):
        raise PermissionDenied
    return membership
