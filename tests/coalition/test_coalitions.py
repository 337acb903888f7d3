"""Coalitions: their pages, their members, and the letter access their roles grant."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from coalition.coalitions import services
from coalition.coalitions import urls as coalition_urls
from coalition.models import Coalition, CoalitionMember
from letters.models import AuditEvent, Letter, Membership, TeamInvitation
from letters.permissions import membership_for
from letters.services.letters import letter_create
from letters.services.revisions import revision_publish
from tests.factories import (
    CoalitionFactory,
    CoalitionMemberFactory,
    LetterFactory,
    UserFactory,
)
from tests.letters.test_permissions import (
    EDITOR_WRITES,
    OWNER_WRITES,
    VIEWER_READS,
    client_for,
    letter_patterns,
    url_of,
)
from tests.letters.test_views import draft_data

pytestmark = pytest.mark.django_db
Role = CoalitionMember.Role


@pytest.fixture
def network():
    """A coalition with one member of each role and a letter none of them is on
    the team of, and another coalition with a member of its own."""
    coalition = CoalitionFactory()
    people = {
        role: CoalitionMemberFactory(coalition=coalition, role=role).user
        for role in Role.values
    }
    team_owner = UserFactory()
    letter = LetterFactory(coalition=coalition, owner=team_owner)
    revision_publish(letter=letter, author=team_owner, change_note="")
    other = CoalitionMemberFactory(role=Role.OWNER)
    return {
        "coalition": coalition,
        "letter": letter,
        "other": other.user,
        "other_coalition": other.coalition,
        **people,
    }


def coalition_urls_of(coalition, member_pk):
    for pattern in coalition_urls.urlpatterns:
        kwargs = {}
        if "coalition" in pattern.pattern.converters:
            kwargs["coalition"] = coalition.slug
        if "member" in pattern.pattern.converters:
            kwargs["member"] = member_pk
        if kwargs:
            yield reverse(f"coalitions:{pattern.name}", kwargs=kwargs)


# --- Letter access through the coalition ----------------------------------------


@pytest.mark.parametrize(
    ("role", "letter_role"),
    [("owner", "owner"), ("organiser", "editor"), ("viewer", "viewer")],
)
def test_a_coalition_role_grants_its_letter_role_on_every_letter(
    network, role, letter_role
):
    membership = membership_for(letter=network["letter"], user=network[role])

    assert membership.role == letter_role
    assert not Membership.objects.filter(user=network[role]).exists()


def test_the_higher_of_team_and_coalition_role_counts(network):
    viewer = network["viewer"]
    Membership.objects.create(letter=network["letter"], user=viewer, role="owner")
    assert membership_for(letter=network["letter"], user=viewer).role == "owner"

    organiser = network["organiser"]
    Membership.objects.create(letter=network["letter"], user=organiser, role="viewer")
    assert membership_for(letter=network["letter"], user=organiser).role == "editor"


def test_a_coalition_viewer_reads_every_letter_page_and_changes_nothing(network):
    client = client_for(network["viewer"])
    letter = network["letter"]
    team = letter.memberships.get()
    invitation = TeamInvitation.objects.create(letter=letter, email="x@example.org")
    pks = {"member-role": team.pk, "member-remove": team.pk}
    values = {"slug": letter.slug, "number": 1, "pk": pks}
    pks["invitation-revoke"] = invitation.pk
    for pattern in letter_patterns():
        if pattern.callback.__module__ != "letters.views":
            continue
        url = url_of(pattern, values)
        expected = 200 if pattern.name in VIEWER_READS else 403
        assert client.get(url).status_code == expected, url
        assert client.post(url).status_code in (403, 404, 405), url
    assert letter.memberships.get() == team
    assert TeamInvitation.objects.get().is_pending
    assert not AuditEvent.objects.exclude(action="revision.published").exists()


def test_a_coalition_organiser_edits_and_an_owner_publishes(network):
    letter = network["letter"]
    assert "edit" in EDITOR_WRITES and "publish" in OWNER_WRITES
    editor = client_for(network["organiser"])
    response = editor.post(
        reverse("letters:edit", args=[letter.slug]),
        {
            "title": "Renamed by the coalition",
            "addressee": letter.addressee,
            "point_1": "One.",
            "body": "Body.",
            "base_version": letter.draft_version,
        },
    )
    assert response.status_code == 302
    letter.refresh_from_db()
    assert letter.title == "Renamed by the coalition"
    assert editor.post(reverse("letters:close", args=[letter.slug])).status_code == 403


def test_a_letters_own_team_reaches_that_letter_only(network):
    team_owner = network["letter"].memberships.get().user
    sister = LetterFactory(coalition=network["coalition"])
    client = client_for(team_owner)

    assert client.get(network["letter"].get_absolute_url()).status_code == 200
    assert client.get(sister.get_absolute_url()).status_code == 404
    detail = reverse("coalitions:detail", args=[network["coalition"].slug])
    assert client.get(detail).status_code == 404


def test_the_dashboard_lists_the_coalitions_letters(network):
    response = client_for(network["viewer"]).get(reverse("letters:dashboard"))

    assert network["letter"].title in response.content.decode()


# --- Another coalition sees nothing ----------------------------------------------


def test_another_coalitions_member_gets_404_everywhere(network):
    client = client_for(network["other"])
    member = network["coalition"].members.get(role=Role.VIEWER)
    for url in coalition_urls_of(network["coalition"], member.pk):
        # 405 comes before any lookup, so it tells nothing about the coalition.
        for response in (client.get(url), client.post(url, {"role": "owner"})):
            assert response.status_code in (404, 405), url
            assert network["coalition"].name.encode() not in response.content
    letter = network["letter"]
    assert client.get(letter.get_absolute_url()).status_code == 404
    assert network["coalition"].members.count() == 3


def test_the_coalition_list_shows_only_the_users_coalitions(network):
    page = client_for(network["viewer"]).get(reverse("coalitions:list"))

    assert network["coalition"].name in page.content.decode()
    assert network["other_coalition"].name not in page.content.decode()


# --- Members -----------------------------------------------------------------------


def test_an_owner_adds_an_existing_user_by_email(network):
    newcomer = UserFactory(email="newcomer@example.org")
    client = client_for(network["owner"])
    url = reverse("coalitions:members", args=[network["coalition"].slug])

    response = client.post(url, {"email": "NEWCOMER@example.org", "role": "viewer"})

    assert response.status_code == 302
    member = CoalitionMember.objects.get(user=newcomer)
    assert (member.coalition, member.role) == (network["coalition"], "viewer")


def test_adding_an_unknown_address_or_a_member_again_is_explained(network):
    owner, coalition = network["owner"], network["coalition"]
    with pytest.raises(ValidationError, match="Nobody has an account"):
        services.coalition_member_add(
            coalition=coalition, actor=owner, email="nobody@example.org", role="viewer"
        )
    with pytest.raises(ValidationError, match="already a member"):
        services.coalition_member_add(
            coalition=coalition,
            actor=owner,
            email=network["viewer"].email,
            role="viewer",
        )


@pytest.mark.parametrize("role", ["organiser", "viewer"])
def test_only_owners_manage_members(network, role):
    client = client_for(network[role])
    coalition = network["coalition"]
    viewer = coalition.members.get(role=Role.VIEWER)
    UserFactory(email="newcomer@example.org")

    slug = coalition.slug
    urls = [
        ("coalitions:members", [slug], {"email": "newcomer@example.org"}),
        ("coalitions:member-role", [slug, viewer.pk], {"role": "owner"}),
        ("coalitions:settings", [slug], {"name": "Taken over"}),
    ]
    for name, args, data in urls:
        response = client.post(reverse(name, args=args), {"role": "owner", **data})
        assert response.status_code == 403, name
    coalition.refresh_from_db()
    assert coalition.members.count() == 3 and coalition.name != "Taken over"
    assert coalition.members.get(pk=viewer.pk).role == Role.VIEWER


def test_an_owner_changes_a_role_and_removes_a_member(network):
    client = client_for(network["owner"])
    coalition = network["coalition"]
    viewer = coalition.members.get(role=Role.VIEWER)
    organiser = coalition.members.get(role=Role.ORGANISER)

    client.post(
        reverse("coalitions:member-role", args=[coalition.slug, viewer.pk]),
        {"role": "organiser"},
    )
    client.post(
        reverse("coalitions:member-remove", args=[coalition.slug, organiser.pk])
    )

    assert sorted(coalition.members.values_list("role", flat=True)) == [
        "organiser",
        "owner",
    ]
    assert coalition.members.get(pk=viewer.pk).role == Role.ORGANISER


def test_a_viewer_may_leave(network):
    coalition = network["coalition"]
    viewer = coalition.members.get(role=Role.VIEWER)

    response = client_for(network["viewer"]).post(
        reverse("coalitions:member-remove", args=[coalition.slug, viewer.pk])
    )

    assert response.status_code == 302
    assert not coalition.members.filter(pk=viewer.pk).exists()


def test_the_last_owner_can_neither_leave_nor_step_down(network):
    coalition = network["coalition"]
    owner = coalition.members.get(role=Role.OWNER)

    with pytest.raises(ValidationError):
        services.coalition_member_remove(member=owner, actor=network["owner"])
    with pytest.raises(ValidationError):
        services.coalition_member_change_role(
            member=owner, actor=network["owner"], role="viewer"
        )
    services.coalition_member_change_role(
        member=coalition.members.get(role=Role.VIEWER),
        actor=network["owner"],
        role="owner",
    )
    services.coalition_member_remove(member=owner, actor=network["owner"])
    assert not coalition.members.filter(pk=owner.pk).exists()
    assert coalition.members.get(role=Role.OWNER).user == network["viewer"]


def test_get_on_member_pages_changes_nothing(network):
    client = client_for(network["owner"])
    coalition = network["coalition"]
    viewer = coalition.members.get(role=Role.VIEWER)

    response = client.get(
        reverse("coalitions:member-remove", args=[coalition.slug, viewer.pk])
    )

    assert response.status_code == 405
    assert coalition.members.filter(pk=viewer.pk).exists()


def test_an_owner_changes_the_settings(network):
    coalition = network["coalition"]
    client_for(network["owner"]).post(
        reverse("coalitions:settings", args=[coalition.slug]),
        {"name": "Clean Air Coalition", "description": "Air.", "is_public": "on"},
    )

    coalition.refresh_from_db()
    assert (coalition.name, coalition.is_public) == ("Clean Air Coalition", True)


# --- Creating coalitions and letters in them ---------------------------------------


def test_anyone_starts_a_coalition_and_owns_it():
    user = UserFactory()
    response = client_for(user).post(reverse("coalitions:list"), {"name": "New One"})

    coalition = Coalition.objects.get(name="New One")
    assert response.url == reverse("coalitions:detail", args=[coalition.slug])
    assert coalition.members.get().user == user and coalition.members.get().is_owner


def test_a_letter_is_created_inside_a_chosen_coalition(network):
    client = client_for(network["organiser"])
    coalition = network["coalition"]
    page = client.get(reverse("letters:create") + f"?coalition={coalition.slug}")
    assert f'<option value="{coalition.pk}" selected>' in page.content.decode()

    client.post(
        reverse("letters:create"),
        draft_data(title="Second ask", coalition=coalition.pk, time_zone="UTC"),
    )

    letter = Letter.objects.get(title="Second ask")
    assert letter.coalition == coalition
    assert letter.memberships.get().user == network["organiser"]
    assert membership_for(letter=letter, user=network["viewer"]).role == "viewer"


def test_a_viewer_cannot_create_a_letter_in_the_coalition(network):
    coalition = network["coalition"]
    response = client_for(network["viewer"]).post(
        reverse("letters:create"),
        draft_data(title="Not mine", coalition=coalition.pk, time_zone="UTC"),
    )

    assert response.status_code == 200  # the choice is not offered
    assert not Letter.objects.filter(title="Not mine").exists()
    with pytest.raises(PermissionDenied):
        letter_create(owner=network["viewer"], title="Not mine", coalition=coalition)


def test_a_letter_without_a_coalition_gets_its_own():
    user = UserFactory()
    letter = letter_create(owner=user, title="On its own")

    assert letter.coalition.name == "On its own"
    assert letter.coalition.members.get().user == user
