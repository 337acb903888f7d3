"""Readable sentences for the letter's audit log."""

from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext as _

from letters.models import AuditEvent, Letter, Membership, Revision


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


def describe(event: AuditEvent) -> str:
    """What happened, in a sentence; unknown actions show as they are stored."""
    d = event.detail or {}
    action = event.action
    if action == "letter.created":
        return _("Created the letter")
    if action == "letter.draft_edited":
        fields = sorted({_field_label(f) for f in d.get("fields", [])})
        return _("Edited the working draft: %(fields)s") % {"fields": ", ".join(fields)}
    if action == "letter.settings_changed":
        fields = sorted(_field_label(f) for f in d.get("changes", {}))
        return _("Changed settings: %(fields)s") % {"fields": ", ".join(fields)}
    if action == "revision.published":
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
    if action == "letter.circulating":
        return _("Started circulating the letter")
    if action == "letter.published":
        if d.get("scheduled"):
            return _("Published the letter at its release time")
        return _("Published the letter")
    if action == "letter.closed":
        return _("Closed the letter")
    if action == "letter.reopened":
        return _("Reopened the letter")
    if action == "member.invited":
        return _("Invited %(email)s to the team as %(role)s") % {
            "email": d.get("email"),
            "role": _role(d.get("role", "")),
        }
    if action == "member.joined":
        return _("Joined the team as %(role)s") % {"role": _role(d.get("role", ""))}
    if action == "member.role_changed":
        return _("Changed %(email)s from %(previous)s to %(role)s") % {
            "email": d.get("email"),
            "previous": _role(d.get("previous", "")),
            "role": _role(d.get("role", "")),
        }
    if action == "member.removed":
        return _("Removed %(email)s from the team") % {"email": d.get("email")}
    if action == "member.invitation_revoked":
        return _("Withdrew the team invitation to %(email)s") % {
            "email": d.get("email")
        }
    if action == "signature.exported":
        if d.get("by") == "signer":
            return _("%(name)s downloaded the data held about their signature") % {
                "name": d.get("name")
            }
        return _("Downloaded the personal data of %(name)s") % {"name": d.get("name")}
    if action == "signature.set_aside":
        return _(
            "Set aside the unconfirmed signature of %(name)s: a signer with a "
            "proven address signed for that name or address"
        ) % {"name": d.get("name")}
    if action == "signature.look_alike_found":
        return _(
            "%(name)s looks the same as %(other)s, who signed first; check "
            "whether both are real"
        ) % {"name": d.get("name"), "other": d.get("looks_like_name")}
    return action
