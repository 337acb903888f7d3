import pytest
from django.core.management import call_command

from coalition.management.commands.seed_demo import DEMO_SLUG
from signers.models import Signature
from signers.selectors.signatures import signature_count_public

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_signers_through_the_service_and_is_idempotent():
    call_command("seed_demo", "--quiet", "--signers", "30")
    call_command("seed_demo", "--quiet", "--signers", "30")

    signatures = Signature.objects.filter(letter__slug=DEMO_SLUG)
    assert signatures.count() == 30
    assert signature_count_public(letter=signatures[0].letter) == 30
    assert len(set(signatures.values_list("normalised_name", flat=True))) == 30
    assert all(s.sort_name and s.source == "import" for s in signatures)
