"""The coalition's log: members, settings and the partner directory.

One writer (:func:`coalition_audit_record`), every action it records, and
each as a sentence. Partners are organisations and are named; contacts are
people and are not (the log outlives them).
"""

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from coalition.models import Coalition, CoalitionEvent, CoalitionMember, User


class CoalitionAction(StrEnum):
    """What the log records; the value is stored in ``CoalitionEvent.action``."""

    CREATED = "coalition.created"
    SETTINGS_CHANGED = "coalition.settings_changed"
    MEMBER_ADDED = "member.added"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_REMOVED = "member.removed"
    MEMBER_LEFT = "member.left"
    PARTNER_CREATED = "partner.created"
    PARTNER_CHANGED = "partner.changed"
    PARTNER_DELETED = "partner.deleted"
    PARTNERS_MERGED = "partner.merged"
    CONTACT_ADDED = "contact.added"
    CONTACT_CHANGED = "contact.changed"
    CONTACT_REMOVED = "contact.removed"
    AGREEMENT_ADDED = "agreement.added"
    AGREEMENT_CHANGED = "agreement.changed"
    AGREEMENT_REMOVED = "agreement.removed"
    MATCH_CONFIRMED = "match.confirmed"
    MATCH_REJECTED = "match.rejected"
    MATCHES_SCANNED = "match.scanned"


def coalition_audit_record(
    coalition: Coalition | int,
    actor: User | None,
    action: CoalitionAction,
    /,
    **detail: Any,
) -> CoalitionEvent:
    """Append one event to a coalition's log; ``detail`` must be JSON already."""
    coalition_id = coalition if isinstance(coalition, int) else coalition.pk
    return CoalitionEvent.objects.create(
        coalition_id=coalition_id, actor=actor, action=str(action), detail=detail
    )


# --- Sentences ------------------------------------------------------------------


def _role(value: object) -> str:
    try:
        return str(CoalitionMember.Role(str(value)).label).lower()
    except ValueError:
        return str(value)


def _partner(d: Mapping[str, Any]) -> str:
    return str(d.get("partner") or _("a partner"))


def _fields(d: Mapping[str, Any], model: str) -> str:
    """The changed fields by their labels (the log stores their names)."""
    meta = apps.get_model(model)._meta
    labels = []
    for name in d.get("fields", []):
        try:
            labels.append(str(getattr(meta.get_field(name), "verbose_name", name)))
        except FieldDoesNotExist:
            labels.append(str(name))
    return ", ".join(labels)


def _scanned(d: Mapping[str, Any]) -> str:
    n = int(d.get("proposed") or 0)
    return ngettext(
        "Looked for matches: %(n)d new proposal",
        "Looked for matches: %(n)d new proposals",
        n,
    ) % {"n": n}


_SENTENCES: Mapping[CoalitionAction, Callable[[Mapping[str, Any]], str]] = {
    CoalitionAction.CREATED: lambda d: _("Created the coalition"),
    CoalitionAction.SETTINGS_CHANGED: lambda d: (
        _("Changed settings: %(fields)s")
        % {"fields": _fields(d, "coalition.Coalition")}
    ),
    CoalitionAction.MEMBER_ADDED: lambda d: (
        _("Added %(email)s as %(role)s")
        % {"email": d.get("email"), "role": _role(d.get("role"))}
    ),
    CoalitionAction.MEMBER_ROLE_CHANGED: lambda d: (
        _("Changed %(email)s from %(previous)s to %(role)s")
        % {
            "email": d.get("email"),
            "previous": _role(d.get("previous")),
            "role": _role(d.get("role")),
        }
    ),
    CoalitionAction.MEMBER_REMOVED: lambda d: (
        _("Removed %(email)s from the coalition") % {"email": d.get("email")}
    ),
    CoalitionAction.MEMBER_LEFT: lambda d: _("Left the coalition"),
    CoalitionAction.PARTNER_CREATED: lambda d: (
        _("Added the partner %(partner)s") % {"partner": _partner(d)}
    ),
    CoalitionAction.PARTNER_CHANGED: lambda d: (
        _("Changed the partner %(partner)s: %(fields)s")
        % {"partner": _partner(d), "fields": _fields(d, "signers.Partner")}
    ),
    CoalitionAction.PARTNER_DELETED: lambda d: (
        _("Deleted the partner %(partner)s") % {"partner": _partner(d)}
    ),
    CoalitionAction.PARTNERS_MERGED: lambda d: (
        _("Merged %(absorbed)s into %(partner)s")
        % {"absorbed": d.get("absorbed"), "partner": _partner(d)}
    ),
    CoalitionAction.CONTACT_ADDED: lambda d: (
        _("Added a contact to %(partner)s") % {"partner": _partner(d)}
    ),
    CoalitionAction.CONTACT_CHANGED: lambda d: (
        _("Changed a contact of %(partner)s") % {"partner": _partner(d)}
    ),
    CoalitionAction.CONTACT_REMOVED: lambda d: (
        _("Removed a contact of %(partner)s") % {"partner": _partner(d)}
    ),
    CoalitionAction.AGREEMENT_ADDED: lambda d: (
        _("Added the agreement “%(title)s” with %(partner)s")
        % {"title": d.get("title"), "partner": _partner(d)}
    ),
    CoalitionAction.AGREEMENT_CHANGED: lambda d: (
        _("Changed the agreement “%(title)s” with %(partner)s")
        % {"title": d.get("title"), "partner": _partner(d)}
    ),
    CoalitionAction.AGREEMENT_REMOVED: lambda d: (
        _("Removed the agreement “%(title)s” with %(partner)s")
        % {"title": d.get("title"), "partner": _partner(d)}
    ),
    CoalitionAction.MATCH_CONFIRMED: lambda d: (
        _("Confirmed that %(name)s is the partner %(partner)s")
        % {"name": d.get("name"), "partner": _partner(d)}
    ),
    CoalitionAction.MATCH_REJECTED: lambda d: (
        _("Decided that %(name)s is not the partner %(partner)s")
        % {"name": d.get("name"), "partner": _partner(d)}
    ),
    CoalitionAction.MATCHES_SCANNED: _scanned,
}


def coalition_event_sentence(event: CoalitionEvent) -> str:
    """The event as a sentence for the log page; an unknown action as itself."""
    try:
        sentence = _SENTENCES[CoalitionAction(event.action)]
    except ValueError:
        return event.action
    return sentence(event.detail or {})
