import pytest
from django.urls import reverse

from tests.factories import SignatureFactory, circulating_letter

pytestmark = pytest.mark.django_db


def test_staff_cannot_speak_for_a_signer(admin_client):
    signature = SignatureFactory(letter=circulating_letter())

    response = admin_client.get(
        reverse("admin:signers_signature_change", args=[signature.pk])
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="display_name"' in html  # abuse handling can still rename
    for field in ("kind", "attested", "consent_listed", "status", "revision"):
        assert f'name="{field}"' not in html
