import io

import pytest
from django.core.management import call_command

from tests.factories import SignatureFactory
from tests.signers.conftest import make_letter
from tests.signers.helpers import sign

pytestmark = pytest.mark.django_db


def run() -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("check_consent", stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_says_0_consent_violations_and_exits_0_when_all_is_well():
    sign(make_letter())

    code, out = run()

    assert code == 0
    assert out.splitlines() == ["0 consent violations"]


@pytest.mark.consent_violation_expected
def test_prints_each_violation_and_exits_non_zero():
    letter = make_letter()
    sign(letter)
    unattested = SignatureFactory(letter=letter, attested=False)

    code, out = run()

    assert code == 1
    assert out.splitlines() == [
        f"{letter.slug}, signature {unattested.pk}: counted without attesting the "
        "authority to sign for the organisation",
        "1 consent violation",
    ]
