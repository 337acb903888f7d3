"""Writes to coalitions and their members.

Only owners manage members and settings; a coalition always keeps one owner
(the coalition's row is locked while that is checked, so two owners leaving at
once cannot both go). Acting without the role raises ``PermissionDenied``; what
a person can correct raises ``ValidationError``.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from coalition.coalitions.audit import CoalitionAction, coalition_audit_record
from coalition.coalitions.selectors import coalition_member_for
from coalition.models import Coalition, CoalitionMember, User
from coalition.slugs import unique_slug

Role = CoalitionMember.Role


def require_coalition_role(
    coalition: Coalition, user: User, *roles: str
) -> CoalitionMember:
    """The user's membership, if it has one of ``roles``; else PermissionDenied."""
    member = coalition_member_for(coalition=coalition, user=user)
    if member is None or member.role not in roles:
        raise PermissionDenied
    return member


def _lock(coalition: Coalition) -> None:
    Coalition.objects.select_for_update().filter(pk=coalition.pk).first()


def _last_owner() -> ValidationError:
    return ValidationError(
        _("A coalition needs an owner: make someone else owner first.")
    )


@transaction.atomic
def coalition_create(
    *, owner: User, name: str, description: str = "", is_public: bool = False
) -> Coalition:
    """A new coalition with ``owner`` as its first owner."""
    if not name.strip():
        raise ValidationError({"name": _("Give the coalition a name.")})
    coalition = Coalition.objects.create(
        name=name.strip()[:200],
        slug=unique_slug(Coalition, name, fallback="coalition"),
        description=description.strip(),
        is_public=is_public,
    )
    CoalitionMember.objects.create(coalition=coalition, user=owner, role=Role.OWNER)
    coalition_audit_record(coalition, owner, CoalitionAction.CREATED)
    return coalition


@transaction.atomic
def coalition_update(
    *, coalition: Coalition, actor: User, name: str, description: str, is_public: bool
) -> Coalition:
    require_coalition_role(coalition, actor, Role.OWNER)
    if not name.strip():
        raise ValidationError({"name": _("Give the coalition a name.")})
    values = {
        "name": name.strip()[:200],
        "description": description.strip(),
        "is_public": is_public,
    }
    changed = [f for f, v in values.items() if getattr(coalition, f) != v]
    for field, value in values.items():
        setattr(coalition, field, value)
    coalition.save(update_fields=[*values, "updated_at"])
    if changed:
        coalition_audit_record(
            coalition, actor, CoalitionAction.SETTINGS_CHANGED, fields=changed
        )
    return coalition


@transaction.atomic
def coalition_member_add(
    *, coalition: Coalition, actor: User, email: str, role: str
) -> CoalitionMember:
    """Add a user who already has an account, by email address."""
    require_coalition_role(coalition, actor, Role.OWNER)
    user = User.objects.filter(email__iexact=email.strip()).first()
    if user is None:
        raise ValidationError(
            {"email": _("Nobody has an account with this address yet.")}
        )
    member, created = CoalitionMember.objects.get_or_create(
        coalition=coalition, user=user, defaults={"role": role}
    )
    if not created:
        raise ValidationError({"email": _("They are already a member.")})
    coalition_audit_record(
        coalition, actor, CoalitionAction.MEMBER_ADDED, email=user.email, role=role
    )
    return member


@transaction.atomic
def coalition_member_change_role(
    *, member: CoalitionMember, actor: User, role: str
) -> CoalitionMember:
    coalition = member.coalition
    _lock(coalition)
    require_coalition_role(coalition, actor, Role.OWNER)
    member.refresh_from_db()
    if member.role == Role.OWNER and role != Role.OWNER and _owners(coalition) <= 1:
        raise _last_owner()
    previous = member.role
    member.role = role
    member.save(update_fields=["role"])
    if previous != role:
        coalition_audit_record(
            coalition,
            actor,
            CoalitionAction.MEMBER_ROLE_CHANGED,
            email=member.user.email,
            previous=previous,
            role=role,
        )
    return member


@transaction.atomic
def coalition_member_remove(*, member: CoalitionMember, actor: User) -> None:
    """Owners remove anyone; every member may leave. The last owner stays."""
    coalition = member.coalition
    _lock(coalition)
    if member.user_id != actor.pk:
        require_coalition_role(coalition, actor, Role.OWNER)
    member.refresh_from_db()
    if member.role == Role.OWNER and _owners(coalition) <= 1:
        raise _last_owner()
    if member.user_id == actor.pk:
        coalition_audit_record(coalition, actor, CoalitionAction.MEMBER_LEFT)
    else:
        coalition_audit_record(
            coalition, actor, CoalitionAction.MEMBER_REMOVED, email=member.user.email
        )
    member.delete()


def _owners(coalition: Coalition) -> int:
    return CoalitionMember.objects.filter(coalition=coalition, role=Role.OWNER).count()
