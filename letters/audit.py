"""The letter's audit log: the one writer, every action it records, and each
action as a readable sentence."""

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, Protocol

from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from coalition.models import User
from letters.models import AuditEvent, Letter, Membership, Revision


class Action(StrEnum):
    """What the log records; the value is stored in ``AuditEvent.action``."""

    LETTER_CREATED = "letter.created"
    LETTER_DRAFT_EDITED = "letter.draft_edited"
    LETTER_SETTINGS_CHANGED = "letter.settings_changed"
    LETTER_CIRCULATING = "letter.circulating"
    LETTER_PUBLISHED = "letter.published"
    LETTER_CLOSED = "letter.closed"
    LETTER_REOPENED = "letter.reopened"
    LETTER_REISSUED = "letter.reissued"
    LETTER_REISSUED_FROM = "letter.reissued_from"
    REVISION_PUBLISHED = "revision.published"
    MEMBER_INVITED = "member.invited"
    MEMBER_JOINED = "member.joined"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_REMOVED = "member.removed"
    MEMBER_INVITATION_REVOKED = "member.invitation_revoked"
    SIGNATURE_SET_ASIDE = "signature.set_aside"
    SIGNATURE_LOOK_ALIKE_FOUND = "signature.look_alike_found"
    SIGNATURE_WITHDRAWN = "signature.withdrawn"
    SIGNATURE_APPROVED = "signature.approved"
    SIGNATURE_REJECTED = "signature.rejected"
    SIGNATURE_DETAILS_CHANGED = "signature.details_changed"
    SIGNATURE_NAME_APPROVED = "signature.name_approved"
    SIGNATURE_NAME_DECLINED = "signature.name_declined"
    SIGNATURE_RENAMED = "signature.renamed"
    SIGNATURE_SORT_NAME_SET = "signature.sort_name_set"
    SIGNATURE_ERASED = "signature.erased"
    SIGNATURE_EXPORTED = "signature.exported"
    SIGNATURE_LOGO_CHANGED = "signature.logo_changed"
    SIGNATURES_IMPORTED = "signatures.imported"
    PROSPECTS_IMPORTED = "prospects.imported"
    PROSPECTS_OWNER_SET = "prospects.owner_set"
    PROSPECTS_STATUS_SET = "prospects.status_set"
    INVITATIONS_QUEUED = "invitations.queued"
    EMAILS_RETRIED = "emails.retried"
    REMINDERS_SCHEDULE_CHANGED = "reminders.schedule_changed"
    SIGNER_LIST_SCHEDULE_CHANGED = "signer_list.schedule_changed"
    UPDATE_SENT = "update.sent"
    CALL_SCHEDULED = "call.scheduled"
    CALL_CHANGED = "call.changed"
    CALL_NOTES_SENT = "call.notes_sent"
    CHANGE_REQUEST_ACCEPTED = "change_request.accepted"
    CHANGE_REQUEST_DECLINED = "change_request.declined"
    CHANGE_REQUEST_ANSWERED = "change_request.answered"


# The status a letter moves to -> what the log calls it (reopening is its own).
STATUS_ACTIONS: Mapping[str, Action] = {
    Letter.Status.CIRCULATING: Action.LETTER_CIRCULATING,
    Letter.Status.PUBLISHED: Action.LETTER_PUBLISHED,
    Letter.Status.CLOSED: Action.LETTER_CLOSED,
}


class Signer(Protocol):
    """A signature, as the log names it (letters does not import signers)."""

    pk: Any
    letter_id: int
    display_name: str


def audit_record(
    about: Letter | int | Signer, actor: User | None, action: Action, /, **detail: Any
) -> AuditEvent:
    """Append one event to a letter's log; ``about`` is the letter (or its id),
    or a signature on it, named in the event by its id and its name.

    ``detail`` is stored as JSON: values must be JSON already (dates as ISO
    text). Erasing an individual's personal data finds their events by the
    signature's id and blanks the name.
    """
    if isinstance(about, int):
        letter_id = about
    elif isinstance(about, Letter):
        letter_id = about.pk
    else:
        letter_id = about.letter_id
        detail = {"signature": about.pk, "name": about.display_name, **detail}
    return AuditEvent.objects.create(
        letter_id=letter_id, actor=actor, action=str(action), detail=detail
    )


# --- Sentences ------------------------------------------------------------------


def _field_label(name: str) -> str:
    draft = {"points": _("points of unity"), "body": _("letter text")}
    if name in draft:
        return draft[name]
    try:
        field = Letter._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    return str(getattr(field, "verbose_name", name))


def _role(value: str) -> str:
    try:
        return str(Membership.Role(value).label).lower()
    except ValueError:
        return str(value)


def _name(d: Mapping[str, Any]) -> str:
    return str(d.get("name") or _("a signer"))


def _revision_published(d: Mapping[str, Any]) -> str:
    try:
        kind = str(Revision.Kind(d.get("kind", "")).label)
    except ValueError:
        kind = str(d.get("kind"))
    text = _("Published revision %(number)s — %(kind)s") % {
        "number": d.get("number"),
        "kind": kind,
    }
    if d.get("change_note"):
        text += f": “{d['change_note']}”"
    return text


def _published(d: Mapping[str, Any]) -> str:
    if d.get("scheduled"):
        return _("Published the letter at its release time")
    return _("Published the letter")


def _exported(d: Mapping[str, Any]) -> str:
    if d.get("by") == "signer":
        return _("%(name)s downloaded the data held about their signature") % {
            "name": _name(d)
        }
    return _("Downloaded the personal data of %(name)s") % {"name": _name(d)}


def _fields(d: Mapping[str, Any], key: str) -> str:
    return ", ".join(sorted({_field_label(f) for f in d.get(key, [])}))


def _n(d: Mapping[str, Any], key: str) -> int:
    return int(d.get(key) or 0)


def _signer_list_schedule(d: Mapping[str, Any]) -> str:
    if d.get("frequency") == "off":
        return _("Stopped sending signers the list of who has signed")
    return _("Set signers to be sent the list of who has signed every week")


def _prospects_owner_set(d: Mapping[str, Any]) -> str:
    n = _n(d, "count")
    if d.get("owner"):
        return ngettext(
            "Gave %(n)d prospect to %(owner)s to hold",
            "Gave %(n)d prospects to %(owner)s to hold",
            n,
        ) % {"n": n, "owner": d["owner"]}
    return ngettext(
        "Left %(n)d prospect held by nobody",
        "Left %(n)d prospects held by nobody",
        n,
    ) % {"n": n}


def _prospects_status_set(d: Mapping[str, Any]) -> str:
    n = _n(d, "count")
    # The label was stored in English (the source language); shown translated.
    label = _(str(d.get("label") or d.get("status") or ""))
    return ngettext(
        "Set %(n)d prospect to “%(status)s”",
        "Set %(n)d prospects to “%(status)s”",
        n,
    ) % {"n": n, "status": label}


def _call_changed(d: Mapping[str, Any]) -> str:
    if d.get("moved"):
        return _("Moved a coalition call to a new time; invitees were told")
    return _("Changed the details of a coalition call")


_SENTENCES: Mapping[Action, Callable[[Mapping[str, Any]], str]] = {
    Action.LETTER_CREATED: lambda d: _("Created the letter"),
    Action.LETTER_DRAFT_EDITED: lambda d: (
        _("Edited the working draft: %(fields)s") % {"fields": _fields(d, "fields")}
    ),
    Action.LETTER_SETTINGS_CHANGED: lambda d: (
        _("Changed settings: %(fields)s") % {"fields": _fields(d, "changes")}
    ),
    Action.LETTER_CIRCULATING: lambda d: _("Started circulating the letter"),
    Action.LETTER_PUBLISHED: _published,
    Action.LETTER_CLOSED: lambda d: _("Closed the letter"),
    Action.LETTER_REOPENED: lambda d: _("Reopened the letter"),
    Action.LETTER_REISSUED: lambda d: (
        ngettext(
            "Reissued the letter; %(n)d earlier signer was asked to sign again",
            "Reissued the letter; %(n)d earlier signers were asked to sign again",
            _n(d, "asked"),
        )
        % {"n": _n(d, "asked")}
    ),
    Action.LETTER_REISSUED_FROM: lambda d: _(
        "Started as a reissue of an earlier letter"
    ),
    Action.REVISION_PUBLISHED: _revision_published,
    Action.MEMBER_INVITED: lambda d: (
        _("Invited %(email)s to the team as %(role)s")
        % {"email": d.get("email"), "role": _role(d.get("role", ""))}
    ),
    Action.MEMBER_JOINED: lambda d: (
        _("Joined the team as %(role)s") % {"role": _role(d.get("role", ""))}
    ),
    Action.MEMBER_ROLE_CHANGED: lambda d: (
        _("Changed %(email)s from %(previous)s to %(role)s")
        % {
            "email": d.get("email"),
            "previous": _role(d.get("previous", "")),
            "role": _role(d.get("role", "")),
        }
    ),
    Action.MEMBER_REMOVED: lambda d: (
        _("Removed %(email)s from the team") % {"email": d.get("email")}
    ),
    Action.MEMBER_INVITATION_REVOKED: lambda d: (
        _("Withdrew the team invitation to %(email)s") % {"email": d.get("email")}
    ),
    Action.SIGNATURE_SET_ASIDE: lambda d: (
        _(
            "Set aside the unconfirmed signature of %(name)s: a signer with a "
            "proven address signed for that name or address"
        )
        % {"name": _name(d)}
    ),
    Action.SIGNATURE_LOOK_ALIKE_FOUND: lambda d: (
        _(
            "%(name)s looks the same as %(other)s, who signed first; check "
            "whether both are real"
        )
        % {"name": _name(d), "other": d.get("looks_like_name")}
    ),
    Action.SIGNATURE_WITHDRAWN: lambda d: (
        _("%(name)s withdrew their signature") % {"name": _name(d)}
    ),
    Action.SIGNATURE_APPROVED: lambda d: (
        _("Approved the signature of %(name)s") % {"name": _name(d)}
    ),
    Action.SIGNATURE_REJECTED: lambda d: (
        _("Rejected the signature of %(name)s") % {"name": _name(d)}
    ),
    Action.SIGNATURE_DETAILS_CHANGED: lambda d: (
        _("%(name)s changed their public details") % {"name": _name(d)}
    ),
    Action.SIGNATURE_NAME_APPROVED: lambda d: (
        _("Approved the new name %(requested)s for %(name)s")
        % {"requested": d.get("requested") or _("asked for"), "name": _name(d)}
    ),
    Action.SIGNATURE_NAME_DECLINED: lambda d: (
        _("Declined the new name %(name)s asked for") % {"name": _name(d)}
    ),
    Action.SIGNATURE_RENAMED: lambda d: (
        _("Renamed the signer %(previous)s to %(name)s")
        % {"previous": d.get("previous") or _("a signer"), "name": _name(d)}
    ),
    Action.SIGNATURE_SORT_NAME_SET: lambda d: (
        _("Set where %(name)s sorts in the list") % {"name": _name(d)}
    ),
    Action.SIGNATURE_ERASED: lambda d: (
        _("Erased the personal data of %(name)s") % {"name": _name(d)}
    ),
    Action.SIGNATURE_EXPORTED: _exported,
    Action.SIGNATURE_LOGO_CHANGED: lambda d: (
        (
            _("Removed the logo of %(name)s")
            if d.get("removed")
            else _("Gave %(name)s a new logo")
        )
        % {"name": _name(d)}
    ),
    Action.SIGNATURES_IMPORTED: lambda d: (
        ngettext("Imported %(n)d signer", "Imported %(n)d signers", _n(d, "count"))
        % {"n": _n(d, "count")}
    ),
    Action.PROSPECTS_IMPORTED: lambda d: (
        ngettext("Imported %(n)d prospect", "Imported %(n)d prospects", _n(d, "count"))
        % {"n": _n(d, "count")}
    ),
    Action.PROSPECTS_OWNER_SET: _prospects_owner_set,
    Action.PROSPECTS_STATUS_SET: _prospects_status_set,
    Action.INVITATIONS_QUEUED: lambda d: (
        ngettext(
            "Started sending %(n)d invitation",
            "Started sending %(n)d invitations",
            _n(d, "count"),
        )
        % {"n": _n(d, "count")}
    ),
    Action.EMAILS_RETRIED: lambda d: (
        ngettext(
            "Sent %(n)d failed email again",
            "Sent %(n)d failed emails again",
            _n(d, "count"),
        )
        % {"n": _n(d, "count")}
    ),
    Action.REMINDERS_SCHEDULE_CHANGED: lambda d: _("Changed the reminder schedule"),
    Action.SIGNER_LIST_SCHEDULE_CHANGED: _signer_list_schedule,
    Action.UPDATE_SENT: lambda d: (
        ngettext(
            "Sent an update to %(n)d recipient",
            "Sent an update to %(n)d recipients",
            _n(d, "recipients"),
        )
        % {"n": _n(d, "recipients")}
    ),
    Action.CALL_SCHEDULED: lambda d: (
        _("Scheduled the coalition call %(title)s") % {"title": d.get("title")}
    ),
    Action.CALL_CHANGED: _call_changed,
    Action.CALL_NOTES_SENT: lambda d: _("Sent the notes of a coalition call"),
    Action.CHANGE_REQUEST_ACCEPTED: lambda d: (
        _("Accepted the change %(name)s asked for, in revision %(number)s")
        % {"name": _name(d), "number": d.get("number")}
    ),
    Action.CHANGE_REQUEST_DECLINED: lambda d: (
        _("Declined the change %(name)s asked for") % {"name": _name(d)}
    ),
    Action.CHANGE_REQUEST_ANSWERED: lambda d: (
        _("Replied to the change %(name)s asked for") % {"name": _name(d)}
    ),
}


def describe(event: AuditEvent) -> str:
    """What happened, in a sentence; unknown actions show as they are stored."""
    try:
        sentence = _SENTENCES[Action(event.action)]
    except (ValueError, KeyError):
        return event.action
    return sentence(event.detail or {})
