"""A letter's team: invitations, roles and removals."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.models import User
from coalition.queue import enqueue_on_commit
from letters import emails
from letters.models import (
    Letter,
    Membership,
    TeamInvitation,
)
from letters.services.common import audit, lock_letter, require_role

# --- Team ---------------------------------------------------------------------


@transaction.atomic
def team_invitation_create(
    *, letter: Letter, actor: User, email: str, role: str
) -> TeamInvitation:
    """Invite ``email`` to the team (owner only) and queue the email.

    Inviting an address with a pending invitation updates its role and sends it
    again; an address already on the team raises ValidationError.
    """

    lock_letter(letter)
    require_role(letter, actor, Membership.Role.OWNER)
    email = email.strip().lower()
    if Membership.objects.filter(letter=letter, user__email__iexact=email).exists():
        raise ValidationError(
            {"email": _("This person is already on the team.")}, code="member"
        )
    invitation, _created = TeamInvitation.objects.update_or_create(
        letter=letter,
        email=email,
        accepted_at=None,
        revoked_at=None,
        defaults={"role": role, "invited_by": actor, "sent_at": None},
    )
    audit(letter, actor, "member.invited", email=email, role=role)
    enqueue_on_commit("letters.tasks.team_invitation_send_task", invitation.pk)
    return invitation


def team_invitation_send(*, invitation_id: int) -> bool:
    """Email a pending invitation unless it was sent already; True if sent.

    Claims the row first so a redelivered task does not send twice; releases
    the claim if the SMTP server refuses, so the retry sends.
    """
    claimed = TeamInvitation.objects.filter(
        pk=invitation_id,
        sent_at__isnull=True,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    ).update(sent_at=timezone.now())
    if not claimed:
        return False
    invitation = TeamInvitation.objects.select_related("letter", "invited_by").get(
        pk=invitation_id
    )
    try:
        emails.send_team_invitation(invitation=invitation)
    except Exception:
        TeamInvitation.objects.filter(pk=invitation_id).update(sent_at=None)
        raise
    return True


@transaction.atomic
def team_invitation_accept(
    *, invitation: TeamInvitation, user: User
) -> tuple[Membership, bool]:
    """Join the team as the invited role; ``(membership, joined_now)``.

    A second click finds the invitation used and, when ``user`` is the member
    it made, returns that membership with ``joined_now`` False. A withdrawn or
    already-used invitation raises ValidationError.
    """
    claimed = TeamInvitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(accepted_at=timezone.now(), accepted_by=user)
    invitation.refresh_from_db()
    existing = Membership.objects.filter(letter=invitation.letter, user=user).first()
    if not claimed:
        if invitation.revoked_at:
            raise ValidationError(
                _("This invitation was withdrawn by the letter's owners."),
                code="revoked",
            )
        if existing:
            return existing, False
        raise ValidationError(_("This invitation has already been used."), code="used")
    if existing:  # invited again while already a member: keep the role they have
        return existing, False
    membership = Membership.objects.create(
        letter=invitation.letter, user=user, role=invitation.role
    )
    audit(
        invitation.letter,
        user,
        "member.joined",
        email=user.email,
        role=invitation.role,
        invited_as=invitation.email,
    )
    return membership, True


@transaction.atomic
def team_invitation_revoke(*, invitation: TeamInvitation, actor: User) -> None:
    """Withdraw a pending invitation (owner only); its link stops working."""
    lock_letter(invitation.letter)
    require_role(invitation.letter, actor, Membership.Role.OWNER)
    revoked = TeamInvitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if revoked:
        audit(
            invitation.letter,
            actor,
            "member.invitation_revoked",
            email=invitation.email,
        )


def _last_owner_error() -> ValidationError:
    return ValidationError(
        _("A letter must keep at least one owner: make someone else owner first."),
        code="last_owner",
    )


def _owner_count(letter: Letter) -> int:
    return Membership.objects.filter(letter=letter, role=Membership.Role.OWNER).count()


@transaction.atomic
def membership_change_role(
    *, membership: Membership, actor: User, role: str
) -> Membership:
    """Give a member another role (owner only); never demote the last owner."""
    letter = membership.letter
    lock_letter(letter)
    require_role(letter, actor, Membership.Role.OWNER)
    membership.refresh_from_db()
    if membership.role == role:
        return membership
    if membership.is_owner and _owner_count(letter) <= 1:
        raise _last_owner_error()
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit(
        letter,
        actor,
        "member.role_changed",
        email=membership.user.email,
        previous=before,
        role=role,
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User) -> None:
    """Take a member off the team: owners remove anyone, members themselves.

    The last owner can never be removed.
    """
    letter = membership.letter
    lock_letter(letter)
    if membership.user_id != actor.pk:
        require_role(letter, actor, Membership.Role.OWNER)
    membership.refresh_from_db()
    if membership.is_owner and _owner_count(letter) <= 1:
        raise _last_owner_error()
    email = membership.user.email
    membership.delete()
    audit(letter, actor, "member.removed", email=email, role=membership.role)
