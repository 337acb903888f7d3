"""Every organiser URL, walked from the URL patterns as every kind of visitor.

A new URL under workspace/letters/<slug>/ is walked without anyone listing it;
one served by letters.views must also be sorted into a role below.
"""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client
from django.urls import reverse

from letters import urls as letter_urls
from letters.models import AuditEvent, Membership, TeamInvitation
from letters.permissions import require_letter_role
from letters.services.revisions import revision_publish
from tests.factories import LetterFactory, UserFactory
from tests.letters.helpers import edit_draft

VIEWER_READS = {
    "detail",
    "settings",
    "revisions",
    "revision",
    "diff",
    "team",
    "activity",
}
EDITOR_WRITES = {"edit", "settings", "revision-publish"}
OWNER_WRITES = {
    "team",
    "member-role",
    "member-remove",
    "invitation-revoke",
    "start-circulating",
    "publish",
    "close",
    "reopen",
}
Role = Membership.Role
NOT_LETTER_SCOPED = {"dashboard", "after-login", "create", "team-accept"}


def organiser_patterns():
    for pattern in letter_urls.urlpatterns:
        if str(pattern.pattern).startswith("workspace/"):
            yield pattern


def letter_patterns():
    return [p for p in organiser_patterns() if "slug" in p.pattern.converters]


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(db):
    owner, editor, viewer = UserFactory(), UserFactory(), UserFactory()
    letter = LetterFactory(owner=owner)
    Membership.objects.create(letter=letter, user=editor, role="editor")
    Membership.objects.create(letter=letter, user=viewer, role="viewer")
    revision_publish(letter=letter, author=owner, change_note="")
    edit_draft(letter, owner, body="A changed body.")
    revision_publish(letter=letter, author=owner, change_note="Second")
    invitation = TeamInvitation.objects.create(
        letter=letter, email="new@example.org", invited_by=owner
    )
    owner_membership = letter.memberships.get(user=owner)
    values = {
        "slug": letter.slug,
        "number": 1,
        "pk": {
            "member-role": owner_membership.pk,
            "member-remove": owner_membership.pk,
            "invitation-revoke": invitation.pk,
        },
    }
    return {
        "letter": letter,
        "owner": owner,
        "editor": editor,
        "viewer": viewer,
        "stranger": UserFactory(),
        "values": values,
    }


def url_of(pattern, values):
    kwargs = {}
    for name in pattern.pattern.converters:
        value = values[name]
        if isinstance(value, dict):
            assert pattern.name in value, f"give {pattern.name} a value for <{name}>"
            value = value[pattern.name]
        kwargs[name] = value
    return reverse(f"letters:{pattern.name}", kwargs=kwargs)


def test_every_letters_view_is_sorted_into_a_role():
    names = {
        p.name for p in organiser_patterns() if p.callback.__module__ == "letters.views"
    }

    assert names == VIEWER_READS | EDITOR_WRITES | OWNER_WRITES | NOT_LETTER_SCOPED


def test_anonymous_visitors_are_sent_to_log_in(world):
    client = Client()
    for pattern in organiser_patterns():
        if pattern.name == "team-accept":
            continue
        url = url_of(pattern, world["values"])
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login")), url


def test_a_stranger_gets_404_from_every_letter_url(world):
    client = client_for(world["stranger"])
    before = AuditEvent.objects.count()
    for pattern in letter_patterns():
        url = url_of(pattern, world["values"])
        assert client.get(url).status_code == 404, url
        # 405 comes before any lookup, so it tells nothing about the letter.
        assert client.post(url).status_code in (404, 405), url
    assert AuditEvent.objects.count() == before


def test_a_viewer_reads_but_every_write_is_refused(world):
    client = client_for(world["viewer"])
    before = AuditEvent.objects.count()
    for pattern in letter_patterns():
        if pattern.callback.__module__ != "letters.views":
            continue
        url = url_of(pattern, world["values"])
        expected = 200 if pattern.name in VIEWER_READS else 403
        assert client.get(url).status_code == expected, url
        assert client.post(url).status_code in (403, 405), url
    assert AuditEvent.objects.count() == before


def test_an_editor_is_refused_what_only_owners_do(world):
    client = client_for(world["editor"])
    before = AuditEvent.objects.count()
    for pattern in letter_patterns():
        if pattern.name not in OWNER_WRITES:
            continue
        url = url_of(pattern, world["values"])
        assert (
            client.post(url, {"role": "viewer", "email": "x@example.org"}).status_code
            == 403
        ), url
    assert AuditEvent.objects.count() == before
    for name in EDITOR_WRITES:
        url = url_of(
            next(p for p in letter_patterns() if p.name == name), world["values"]
        )
        assert client.get(url).status_code == 200, url


def test_the_owner_can_open_every_page(world):
    client = client_for(world["owner"])
    for pattern in letter_patterns():
        if pattern.name in VIEWER_READS | EDITOR_WRITES:
            url = url_of(pattern, world["values"])
            assert client.get(url).status_code == 200, url


# --- The one check ------------------------------------------------------------------


def test_require_letter_role_answers_404_to_an_outsider_asking_by_address(world):
    with pytest.raises(Http404):
        require_letter_role(world["stranger"], world["letter"].slug)
    with pytest.raises(Http404):
        require_letter_role(AnonymousUser(), world["letter"].slug)


def test_require_letter_role_refuses_an_outsider_the_caller_holds_a_letter_for(world):
    with pytest.raises(PermissionDenied):
        require_letter_role(world["stranger"], world["letter"], Role.VIEWER)


@pytest.mark.parametrize(
    ("member", "role", "allowed"),
    [
        ("viewer", Role.VIEWER, True),
        ("viewer", Role.EDITOR, False),
        ("editor", Role.EDITOR, True),
        ("editor", Role.OWNER, False),
        ("owner", Role.OWNER, True),
    ],
)
def test_require_letter_role_ranks_owner_over_editor_over_viewer(
    world, member, role, allowed
):
    user, letter = world[member], world["letter"]
    if not allowed:
        with pytest.raises(PermissionDenied):
            require_letter_role(user, letter.slug, role)
        return

    membership = require_letter_role(user, letter.slug, role)

    assert (membership.user, membership.letter) == (user, letter)
    assert membership.role == member
