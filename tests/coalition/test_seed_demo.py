import pytest
from django.core.management import call_command

from coalition.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD
from coalition.models import User
from letters.models import Letter
from signers.models import Prospect


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_the_demo_organiser_can_log_in(client):
    call_command("seed_demo", "--quiet")
    call_command("seed_demo", "--quiet")

    assert User.objects.filter(email=DEMO_EMAIL).count() == 1
    letter = Letter.objects.get()
    assert letter.memberships.get().user.email == DEMO_EMAIL
    client.post("/accounts/login/", {"login": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert letter.title in client.get("/workspace/").content.decode()


@pytest.mark.django_db
def test_seed_demo_adds_a_prospect_in_every_status_once():
    call_command("seed_demo", "--quiet")
    call_command("seed_demo", "--quiet")

    letter = Letter.objects.get()
    statuses = sorted(letter.prospects.values_list("status", flat=True))
    assert statuses == sorted(Prospect.Status.values)
