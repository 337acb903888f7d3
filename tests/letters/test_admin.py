import pytest
from django.urls import reverse

from tests.factories import circulating_letter

pytestmark = pytest.mark.django_db


def test_staff_cannot_repoint_the_text_signatures_count_against(admin_client):
    letter = circulating_letter()

    response = admin_client.get(
        reverse("admin:letters_letter_change", args=[letter.pk])
    )

    html = response.content.decode()
    assert response.status_code == 200
    for field in (
        "current_revision",
        "last_material_revision_number",
        "signers_version",
        "signers_removed_version",
    ):
        assert f'name="{field}"' not in html
