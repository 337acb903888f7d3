"""Who may do what on a letter: the one check every organiser view and service
makes, and the one place a user's role on a letter is computed.

A letter's team has three roles, owner > editor > viewer (``Membership.has_role``).
Viewers read; editors also write the text, the outreach and the updates;
owners also run the team and the letter's life. A member of the letter's
coalition holds the role their coalition role grants (``COALITION_LETTER_ROLE``)
on every letter of the coalition, or their own on the letter's team if higher.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import Http404, HttpRequest

from coalition.models import CoalitionMember, User
from letters.models import COALITION_LETTER_ROLE, Letter, Membership


def _with_coalition_role(
    letter: Letter, user: User, membership: Membership | None
) -> Membership | None:
    """The higher of ``membership`` (the team's) and the coalition's grant.
    When the coalition grants more, or the user is not on the team, the row
    returned is not saved."""
    if membership is not None and membership.role == Membership.Role.OWNER:
        return membership  # nothing grants more
    in_coalition = (
        CoalitionMember.objects.filter(coalition_id=letter.coalition_id, user=user)
        .values_list("role", flat=True)
        .first()
    )
    if in_coalition is None:
        return membership
    granted = COALITION_LETTER_ROLE[in_coalition]
    if membership is not None and membership.has_role(granted):
        return membership
    return Membership(letter=letter, user=user, role=granted)


def letter_people(letter_ids: Iterable[int]) -> dict[int, dict[int, Membership]]:
    """Each letter's active people by user id, with the role they hold there
    (their team's, or their coalition's grant when higher: an unsaved row with
    its user loaded). Two queries for any number of letters."""
    ids = set(letter_ids)
    people: dict[int, dict[int, Membership]] = defaultdict(dict)
    for m in Membership.objects.filter(
        letter_id__in=ids, user__is_active=True
    ).select_related("user"):
        people[m.letter_id][m.user_id] = m
    granted = (
        CoalitionMember.objects.filter(coalition__letters__in=ids, user__is_active=True)
        .annotate(letter_id=F("coalition__letters__id"))
        .select_related("user")
    )
    for c in granted:
        role = COALITION_LETTER_ROLE[c.role]
        letter_id: int = c.letter_id
        held = people[letter_id].get(c.user_id)
        if held is None or not held.has_role(role):
            grant = Membership(letter_id=letter_id, user=c.user, role=role)
            people[letter_id][c.user_id] = grant
    return people


def membership_for(*, letter: Letter, user: User) -> Membership | None:
    """The user's place on the letter (team or coalition), or None."""
    if not user.is_authenticated:
        return None
    membership = Membership.objects.filter(letter=letter, user=user).first()
    if membership is not None:
        membership.letter = letter
    return _with_coalition_role(letter, user, membership)


def require_letter_role(
    who: HttpRequest | User, letter: Letter | str, role: str = Membership.Role.VIEWER
) -> Membership:
    """``who``'s membership of ``letter`` (the letter, or its slug), if it
    grants at least ``role``; its ``letter`` is loaded with the current revision.

    Raises Http404 when ``letter`` is a slug and ``who`` has no place on it (an
    organiser URL tells an outsider nothing, not even that the letter exists),
    PermissionDenied when the role is too low, or when ``letter`` is a letter
    the caller already holds and ``who`` has no place on it.
    """
    user = who.user if isinstance(who, HttpRequest) else who
    if not user.is_authenticated:
        raise Http404 if isinstance(letter, str) else PermissionDenied
    if isinstance(letter, str):
        membership = (
            Membership.objects.select_related("letter", "letter__current_revision")
            .filter(user=user, letter__slug=letter)
            .first()
        )
        found = (
            membership.letter
            if membership is not None
            else Letter.objects.select_related("current_revision")
            .filter(slug=letter)
            .first()
        )
        if found is None:
            raise Http404
        membership = _with_coalition_role(found, user, membership)
        if membership is None:
            raise Http404
    else:
        membership = membership_for(letter=letter, user=user)
        if membership is None:
            raise PermissionDenied
    if not membership.has_role(role):
        raise PermissionDenied
    return membership


def writing(request: HttpRequest, role: str) -> str:
    """``role`` for a POST; a viewer's for a GET (a page that shows read-only
    what only ``role`` may change)."""
    return role if request.method == "POST" else Membership.Role.VIEWER
