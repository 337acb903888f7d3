import pytest
from django.core.management import call_command

from coalition.management.commands.seed_demo import (
    DEMO_EDITOR_EMAIL,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DEMO_SLUG,
    PUBLIC_DEMO_SLUG,
)
from coalition.models import User
from letters.models import Letter, Membership
from signers.models import Prospect
from tests.signers.helpers import update_messages


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_the_demo_organiser_can_log_in(client):
    call_command("seed_demo", "--quiet")
    call_command("seed_demo", "--quiet")

    assert User.objects.filter(email=DEMO_EMAIL).count() == 1
    letter = Letter.objects.get(slug=DEMO_SLUG)
    owner = letter.memberships.get(role=Membership.Role.OWNER)
    assert owner.user.email == DEMO_EMAIL
    client.post("/accounts/login/", {"login": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert letter.title in client.get("/workspace/").content.decode()


@pytest.mark.django_db
def test_seed_demo_letter_has_two_revisions_and_a_team_of_two():
    call_command("seed_demo", "--quiet")
    call_command("seed_demo", "--quiet")

    letter = Letter.objects.get(slug=DEMO_SLUG)
    assert list(letter.revisions.values_list("number", flat=True)) == [1, 2]
    assert letter.current_revision.number == 2
    assert letter.revisions.get(number=2).author.email == DEMO_EDITOR_EMAIL
    assert sorted(letter.memberships.values_list("role", flat=True)) == [
        "editor",
        "owner",
    ]
    assert not letter.has_unpublished_changes


@pytest.mark.django_db
def test_seed_demo_publishes_an_open_letter_with_signers_listed_a_to_z(client):
    call_command("seed_demo", "--quiet")
    call_command("seed_demo", "--quiet")

    letter = Letter.objects.get(slug=PUBLIC_DEMO_SLUG)
    assert letter.status == Letter.Status.PUBLISHED and letter.open_joining
    page = client.get(f"/letters/{PUBLIC_DEMO_SLUG}/").content.decode()
    # Leading articles ignored, accents folded: Cycling (The) files under C,
    # Écoles under E, Radler (Die) under R; the unlisted individual is absent.
    assert page.index("Asthma Action") < page.index("The Cycling Collective")
    assert page.index("The Cycling Collective") < page.index("Écoles Ouvertes")
    assert page.index("Écoles Ouvertes") < page.index("Die Radler")
    assert "Sam Ellis" not in page
    assert "32" in page or "31" in page


@pytest.mark.django_db
def test_seed_demo_adds_a_prospect_in_every_status_once():
    call_command("seed_demo", "--quiet")
    call_command("seed_demo", "--quiet")

    letter = Letter.objects.get(slug=DEMO_SLUG)
    statuses = sorted(letter.prospects.values_list("status", flat=True))
    assert statuses == sorted(Prospect.Status.values)


@pytest.mark.django_db
def test_seed_demo_letter_has_one_sent_update_and_one_scheduled_call():
    call_command("seed_demo", "--quiet")
    call_command("seed_demo", "--quiet")

    letter = Letter.objects.get(slug=DEMO_SLUG)
    (update,) = letter.updates.all()
    assert update.sent_at is not None
    assert update_messages(update).exists()
    (call,) = letter.calls.all()
    assert call.invitations.exists()


@pytest.mark.django_db
def test_seed_demo_makes_a_coalition_directory_across_five_letters():
    from coalition.models import Coalition
    from signers.models import Partner, Signature

    call_command("seed_demo", "--quiet")
    counts = (Partner.objects.count(), Signature.objects.count())
    call_command("seed_demo", "--quiet")

    assert (Partner.objects.count(), Signature.objects.count()) == counts
    coalition = Coalition.objects.get(slug="clean-air-coalition")
    assert coalition.letters.count() == 5
    assert sorted(coalition.members.values_list("role", flat=True)) == [
        "organiser",
        "owner",
    ]
    partners = coalition.partners.all()
    assert 55 <= partners.count() <= 65
    assert len({p.kind for p in partners}) >= 6
    assert len({p.influence for p in partners}) == 4
    assert partners.filter(holder__isnull=True).exists()
    assert partners.filter(holder__isnull=False).exists()
    assert partners.filter(contacts__consent_to_contact=True).distinct().count() > 40
    linked = Signature.objects.filter(partner__coalition=coalition)
    assert linked.values("letter").distinct().count() >= 4
    assert linked.count() > 60
