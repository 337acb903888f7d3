"""Migrations that move today's data into coalitions, run on a copy of the demo.

The schema is taken back to just before coalitions were required (the demo
data made by the current code stays), the coalitions are removed, and the
migrations run forward as they would on a site that never had them.
"""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from coalition.models import CoalitionMember
from letters.models import Letter, Membership
from signers.models import Prospect, Signature
from tests.factories import SignatureFactory, UserFactory

BEFORE = [("letters", "0005_consent_list_versions"), ("coalition", "0002_coalitions")]

ROLE = {"owner": "owner", "editor": "organiser", "viewer": "viewer"}


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _leaves():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def _snapshot():
    return {
        "letters": sorted(Letter.objects.values_list("pk", "slug", "status")),
        "team": sorted(Membership.objects.values_list("letter", "user", "role")),
        "signatures": sorted(
            Signature.objects.values_list("pk", "letter", "status", "revision")
        ),
        "prospects": sorted(Prospect.objects.values_list("pk", "letter", "status")),
    }


@pytest.mark.django_db(transaction=True)
def test_each_letter_gets_a_coalition_of_its_team_and_nothing_is_lost():
    call_command("seed_demo", "--quiet", "--signers", "5")
    letter = Letter.objects.get(slug="clean-air-for-every-school")
    Membership.objects.create(letter=letter, user=UserFactory(), role="viewer")
    SignatureFactory(letter=letter, status=Signature.Status.WITHDRAWN)
    before = _snapshot()
    assert len(before["letters"]) == 5 and len(before["signatures"]) > 30

    leaves = _leaves()
    try:
        old = _migrate(BEFORE)
        old.get_model("coalition", "CoalitionMember").objects.all().delete()
        old.get_model("coalition", "Coalition").objects.all().delete()
    finally:
        _migrate(leaves)

    assert _snapshot() == before
    for letter in Letter.objects.select_related("coalition"):
        assert letter.coalition.name == letter.title
        assert letter.coalition.slug == letter.slug
        assert not letter.coalition.is_public
        members = CoalitionMember.objects.filter(coalition=letter.coalition)
        assert sorted(members.values_list("user", "role")) == sorted(
            (m.user_id, ROLE[m.role]) for m in letter.memberships.all()
        )
    demo = Letter.objects.get(slug="clean-air-for-every-school")
    assert sorted(demo.coalition.members.values_list("role", flat=True)) == [
        "organiser",
        "owner",
        "viewer",
    ]
