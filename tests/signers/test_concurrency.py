import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, connections

from signers.models import Signature
from tests.signers.conftest import make_letter
from tests.signers.helpers import sign

SPELLINGS = ["Friends of the Park", "The Friends of the Park", "FRIENDS OF THE PARK"]


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_submissions_of_one_organisation_make_one_signature():
    letter = make_letter(open_joining=True, status="published")
    barrier = threading.Barrier(20)
    outcomes: list[object] = []

    def submit(n: int) -> None:
        try:
            barrier.wait()
            sign(
                letter,
                source=Signature.Source.OPEN_JOIN,
                display_name=SPELLINGS[n % 3],
                # Some share an address too, as colleagues forwarding a form do.
                email=f"person{n % 7}@friends.example.org",
            )
            outcomes.append("signed")
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Signature.objects.filter(letter=letter).count() == 1
    assert outcomes.count("signed") == 1
    refused = [o for o in outcomes if o != "signed"]
    assert len(refused) == 19
    if connection.vendor == "postgresql":
        # The database constraint decides; everyone else is told kindly.
        assert all(isinstance(o, ValidationError) for o in refused)
        assert all(o.code == "duplicate" for o in refused)
    else:
        # SQLite serialises writers with a file lock: a writer that cannot get it
        # fails with "database is locked" instead; still nothing is duplicated.
        assert all(isinstance(o, ValidationError | OperationalError) for o in refused)
