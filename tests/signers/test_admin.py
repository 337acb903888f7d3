import pytest
from django.urls import reverse

from letters.models import AuditEvent
from signers.models import Signature
from signers.names import name_keys
from tests.factories import SignatureFactory, circulating_letter
from tests.letters.public_fixtures import published_letter, sign

pytestmark = pytest.mark.django_db


def test_staff_cannot_speak_for_a_signer(admin_client):
    signature = SignatureFactory(letter=circulating_letter())

    response = admin_client.get(
        reverse("admin:signers_signature_change", args=[signature.pk])
    )

    html = response.content.decode()
    assert response.status_code == 200
    # Abuse handling renames through its own form, which the services back.
    assert reverse("admin:signers_signature_rename", args=[signature.pk]) in html
    for field in (
        "display_name", "sort_name", "city", "website", "email", "kind",
        "attested", "consent_listed", "status", "revision",
    ):  # fmt: skip
        assert f'name="{field}"' not in html
    assert 'name="phone"' in html  # private contact details stay editable
    assert "signer__name" not in html  # the stored public markup is not shown


def rename(admin_client, signature, name):
    url = reverse("admin:signers_signature_rename", args=[signature.pk])
    return admin_client.post(url, {"display_name": name})


def test_a_rename_recomputes_the_keys_logs_and_leaves_the_public_page(
    admin_client, client
):
    letter = published_letter()
    signature = sign(letter, "Rude Name Group")
    page = reverse("signers:public", args=[letter.slug])
    assert "Rude Name Group" in client.get(page).content.decode()  # cached now

    response = rename(admin_client, signature, "Alder Group")

    assert response.status_code == 302
    signature.refresh_from_db()
    assert signature.display_name == "Alder Group"
    assert signature.sort_name == "alder group"
    assert (signature.normalised_name, signature.skeleton_name) == name_keys(
        "Alder Group"
    )
    event = AuditEvent.objects.get(letter=letter)
    assert event.action == "signature.renamed"
    assert event.actor.is_staff
    assert event.detail["previous"] == "Rude Name Group"
    html = client.get(page).content.decode()
    assert "Alder Group" in html
    assert "Rude Name Group" not in html


def test_a_rename_to_another_signers_name_is_refused(admin_client):
    letter = published_letter()
    sign(letter, "Alder Group", normalised_name=name_keys("Alder Group")[0])
    other = sign(letter, "Birch Group")

    response = rename(admin_client, other, "Alder Group")

    assert "already has the name Alder Group" in response.content.decode()
    other.refresh_from_db()
    assert other.display_name == "Birch Group"
    assert not AuditEvent.objects.exists()


def test_signatures_are_not_added_in_the_admin(admin_client):
    response = admin_client.get(reverse("admin:signers_signature_add"))

    assert response.status_code == 403
    assert not Signature.objects.exists()
