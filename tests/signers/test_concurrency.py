import threading
from datetime import timedelta
from functools import partial

import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from letters.models import Letter, Revision
from letters.services.revisions import revision_publish
from signers.models import Signature
from signers.selectors.consent import consent_violations
from signers.services.signatures import (
    signature_approve,
    signature_confirm,
    signature_reconfirm,
)
from signers.services.signing import signature_create
from tests.factories import ProspectFactory, UserFactory
from tests.letters.helpers import race
from tests.signers.conftest import make_letter
from tests.signers.helpers import sign, sign_form

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


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_join_forms_of_one_organisation_make_one_signature(settings):
    """Through the form, whose sign-ups share the letter's lock, with an
    unconfirmed signature past its time in everyone's way."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no shared lock: its sign-ups queue one by one")
    settings.SIGNERS_JOIN_LIMIT_PER_IP = 100
    letter = make_letter(open_joining=True, status="published")
    stale = sign(letter, source=Signature.Source.OPEN_JOIN, email="old@example.org")
    Signature.objects.filter(pk=stale.pk).update(
        created_at=Signature.pending_expiry_cutoff(timezone.now()) - timedelta(hours=1)
    )
    url = reverse("signers:join", args=[letter.slug])

    def submit(n: int) -> object:
        data = sign_form(
            letter,
            display_name=SPELLINGS[n % 3],
            email=f"person{n % 7}@friends.example.org",
        )
        return Client().post(url, data).status_code

    outcomes = race(*(partial(submit, n) for n in range(20)))

    assert sorted(outcomes, key=str) == [200] * 19 + [302]
    live = Signature.objects.filter(letter=letter).exclude(
        status=Signature.Status.EXPIRED
    )
    assert live.count() == 1
    assert Signature.objects.get(pk=stale.pk).status == Signature.Status.EXPIRED


# --- Signing against a material revision published at the same moment ----------

ROUNDS = 30


def join(letter, name):
    """A pending signature from the open form."""
    email = f"{name.lower().replace(' ', '-')}@groups.example.org"
    return sign(
        letter, source=Signature.Source.OPEN_JOIN, display_name=name, email=email
    )


def publish_material(letter, author, round_):
    """A publisher's work: a new body, frozen as a material revision."""
    Letter.objects.filter(pk=letter.pk).update(body=f"Round {round_}: act now.")

    def work():
        return revision_publish(
            letter=Letter.objects.get(pk=letter.pk),
            author=author,
            change_note=f"Round {round_}",
            kind=Revision.Kind.MATERIAL,
        )

    return work


def assert_consent_kept(letter, signed, published):
    """The publisher always succeeds; the signer either signed first (and now
    waits to re-confirm) or was told the text changed; nobody is counted on a
    text before the last material revision."""
    assert isinstance(published, Revision), published
    if isinstance(signed, Exception):
        assert isinstance(signed, ValidationError), signed
        assert signed.code == "revision_changed"
    assert consent_violations(letter=letter) == []
    letter.refresh_from_db()
    assert not Signature.objects.filter(
        letter=letter,
        status=Signature.Status.CONFIRMED,
        revision__number__lt=letter.last_material_revision_number,
    ).exists()


@pytest.mark.django_db(transaction=True)
def test_a_confirmation_racing_a_material_revision_never_counts_on_the_old_text():
    owner = UserFactory()
    letter = make_letter(owner=owner, open_joining=True, status="published")
    for n in range(ROUNDS):
        pending = join(letter, f"Joining Group {n}")
        shown = Letter.objects.get(pk=letter.pk).current_revision_id

        signed, published = race(
            partial(signature_confirm, signature_id=pending.pk, revision_id=shown),
            publish_material(letter, owner, n),
        )

        assert_consent_kept(letter, signed, published)


@pytest.mark.django_db(transaction=True)
def test_an_invitation_signed_racing_a_material_revision_never_counts_on_the_old_text():
    owner = UserFactory()
    letter = make_letter(owner=owner)
    for n in range(ROUNDS):
        prospect = ProspectFactory(letter=letter, organisation=f"Invited Group {n}")

        def sign_invitation(prospect=prospect):
            shown = Letter.objects.get(pk=letter.pk)  # as the page was read
            return signature_create(
                letter=shown,
                revision_id=shown.current_revision_id,
                source=Signature.Source.INVITATION,
                prospect=prospect,
                display_name=prospect.organisation,
                email=prospect.email,
                attested=True,
            )

        signed, published = race(sign_invitation, publish_material(letter, owner, n))

        assert_consent_kept(letter, signed, published)


@pytest.mark.django_db(transaction=True)
def test_a_reconfirmation_racing_a_material_revision_never_counts_on_the_old_text():
    owner = UserFactory()
    letter = make_letter(owner=owner)
    signature = sign(letter)
    publish_material(letter, owner, "first")()
    for n in range(ROUNDS):
        shown = Letter.objects.get(pk=letter.pk).current_revision_id

        signed, published = race(
            partial(signature_reconfirm, signature_id=signature.pk, revision_id=shown),
            publish_material(letter, owner, n),
        )

        assert_consent_kept(letter, signed, published)
        signature.refresh_from_db()
        assert signature.status == Signature.Status.NEEDS_RECONFIRMATION


@pytest.mark.django_db(transaction=True)
def test_an_approval_racing_a_material_revision_never_counts_on_the_old_text():
    owner = UserFactory()
    letter = make_letter(
        owner=owner, open_joining=True, join_requires_approval=True, status="published"
    )
    for n in range(ROUNDS):
        waiting = join(letter, f"Waiting Group {n}")
        signature_confirm(
            signature_id=waiting.pk,
            revision_id=Letter.objects.get(pk=letter.pk).current_revision_id,
        )

        approved, published = race(
            partial(signature_approve, signature=waiting, actor=owner),
            publish_material(letter, owner, n),
        )

        assert_consent_kept(letter, approved, published)


@pytest.mark.django_db(transaction=True)
def test_an_open_join_racing_a_material_revision_signs_only_the_text_it_read(
    settings,
):
    """The join form reads the letter once, under a shared lock: the sign-up
    either commits before the revision (and its pending signature can only
    be confirmed on the new text) or sees the new text and saves nothing."""
    settings.SIGNERS_JOIN_LIMIT_PER_IP = 10 * ROUNDS
    owner = UserFactory()
    letter = make_letter(owner=owner, open_joining=True, status="published")
    url = reverse("signers:join", args=[letter.slug])
    for n in range(ROUNDS):
        shown = Letter.objects.get(pk=letter.pk).current_revision_id
        data = sign_form(
            letter, display_name=f"Racing Group {n}", email=f"racer{n}@example.org"
        )
        data["revision"] = shown

        answer, published = race(
            lambda data=data: Client().post(url, data),
            publish_material(letter, owner, n),
        )

        assert isinstance(published, Revision), published
        signed = Signature.objects.filter(display_name=f"Racing Group {n}").first()
        if answer.status_code == 302:
            assert signed is not None
            assert signed.revision_id == shown
            assert signed.status == Signature.Status.PENDING
            with pytest.raises(ValidationError) as exc:
                signature_confirm(signature_id=signed.pk, revision_id=shown)
            assert exc.value.code == "revision_changed"
        else:
            assert answer.status_code == 200
            assert signed is None
            assert "text has changed" in answer.content.decode()
        assert consent_violations(letter=letter) == []
