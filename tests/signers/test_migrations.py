"""Data migrations, run on rows as the previous code left them."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from letters.audit import describe
from letters.models import AuditEvent
from signers.models import Signature
from tests.factories import SignatureFactory, circulating_letter

pytestmark = pytest.mark.django_db

Status = Signature.Status
lookalike_names = importlib.import_module(
    "signers.migrations.0006_lookalike_names_and_pending_expiry"
)


def schema_editor():
    """What RunPython passes, for what the migration uses of it."""
    return SimpleNamespace(
        connection=connection, execute=lambda sql: connection.cursor().execute(sql)
    )


def legacy(letter, name, **kwargs):
    """A signature as saved before look-alike keys: one folded key, no other."""
    return SignatureFactory(
        letter=letter,
        display_name=name,
        sort_name=name.lower(),
        normalised_name=name.lower(),
        skeleton_name="",
        **kwargs,
    )


def test_keys_are_recomputed_and_names_lose_invisible_characters():
    letter = circulating_letter()
    hidden = legacy(letter, "Zero\u200b Width\u00ad Group")
    gone = legacy(letter, "Gone Group", status=Status.WITHDRAWN)

    lookalike_names.recompute_name_keys(apps, schema_editor())

    hidden.refresh_from_db()
    gone.refresh_from_db()
    assert hidden.display_name == "Zero Width Group"
    assert hidden.sort_name == "zero width group"
    assert hidden.skeleton_name
    assert gone.skeleton_name and gone.status == Status.WITHDRAWN


def test_live_look_alikes_found_are_kept_and_shown_to_the_organisers():
    letter = circulating_letter()
    fake = legacy(letter, "S\u0456erra Club", status=Status.CONFIRMED)
    real = legacy(letter, "Sierra Club", status=Status.CONFIRMED)
    pending = legacy(letter, "SIERRA\u200b CLUB", status=Status.PENDING)
    real.created_at = fake.created_at.replace(year=fake.created_at.year - 1)
    real.save(update_fields=["created_at"])

    lookalike_names.recompute_name_keys(apps, schema_editor())

    rows = {s.pk: s for s in Signature.objects.all()}
    # The older confirmed one takes the keys; nobody's status changes.
    assert rows[real.pk].normalised_name == "sierra club"
    assert rows[real.pk].skeleton_name == "sierra club"
    assert rows[fake.pk].normalised_name == "s\u0456erra club"
    assert rows[fake.pk].skeleton_name == ""
    assert [r.status for r in rows.values()].count(Status.CONFIRMED) == 2
    assert rows[pending.pk].status == Status.PENDING
    found = AuditEvent.objects.filter(action="signature.look_alike_found")
    assert sorted(e.detail["signature"] for e in found) == sorted([fake.pk, pending.pk])
    assert {e.detail["looks_like"] for e in found} == {real.pk}
    assert "looks the same as Sierra Club" in describe(found[0])


# --- Every email into the one outbox (0007) -------------------------------------

BEFORE_OUTBOX = [
    ("signers", "0006_lookalike_names_and_pending_expiry"),
    ("outbox", "0001_initial"),
]
# The partner directory's columns (which the factories fill) beside the old
# tables: a branch of the graph of its own, applied forwards after going back.
WITH_PARTNERS = [("signers", "0007_partner_directory")]
MOVED = [("signers", "0007_move_emails_to_outbox")]


def migrate(targets):
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    from django.db.migrations.loader import MigrationLoader

    return MigrationLoader(connection).graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_unsent_and_sent_emails_of_the_old_tables_move_into_the_outbox():
    migrate(BEFORE_OUTBOX)
    old = migrate(WITH_PARTNERS)
    try:
        letter = circulating_letter()
        # Made with the model of that time: today's has columns added since.
        OldSignature = old.get_model("signers", "Signature")

        def old_signature(name, email, **kwargs):
            return OldSignature.objects.create(
                letter_id=letter.pk, revision_id=letter.current_revision_id,
                kind="organisation", status="confirmed", source="invitation",
                display_name=name, sort_name=name.lower(),
                normalised_name=name.lower(), email=email, attested=True, **kwargs,
            )  # fmt: skip

        signature = old_signature("Friends", "rosa@friends.example.org")
        erased = old_signature("Erased", "e@example.org", erased_at=timezone.now())
        Delivery = old.get_model("signers", "Delivery")
        SignatureEmail = old.get_model("signers", "SignatureEmail")
        InvitationBatch = old.get_model("signers", "InvitationBatch")
        batch = InvitationBatch.objects.create(letter_id=letter.pk)
        common = {"letter_id": letter.pk, "due_at": timezone.now()}
        planned = Delivery.objects.create(
            key=f"{letter.pk}:invitation:p1:once", message_id="<a@x>",
            kind="invitation",
            email="a@example.org", status="planned", batch_id=batch.pk, basis="once",
            **common,
        )  # fmt: skip
        claimed = Delivery.objects.create(
            key="k-claimed", message_id="<b@x>", kind="soft_reminder",
            email="b@example.org", status="claimed", attempts=1, basis="2026/3d",
            **common,
        )  # fmt: skip
        sent = Delivery.objects.create(
            key="k-sent", message_id="<c@x>", kind="soft_reminder",
            email="c@example.org", status="sent", sent_at=timezone.now(),
            basis="2026/1d", **common,
        )  # fmt: skip
        failed = Delivery.objects.create(
            key="k-failed", message_id="<d@x>", kind="digest", email="d@example.org",
            status="failed", last_error="451", attempts=9, basis="day", **common,
        )  # fmt: skip
        receipt = SignatureEmail.objects.create(
            signature_id=signature.pk, kind="receipt", revision_id=signature.revision_id
        )
        SignatureEmail.objects.create(
            signature_id=erased.pk, kind="withdrawn", revision_id=erased.revision_id
        )
        SignatureEmail.objects.create(
            signature_id=signature.pk, kind="status", revision_id=signature.revision_id,
            sent_at=timezone.now(),
        )  # fmt: skip

        new = migrate(MOVED)

        Outbox = new.get_model("outbox", "OutboxMessage")
        rows = {row.key: row for row in Outbox.objects.all()}
        assert len(rows) == 7
        # Deliveries keep their id (unsubscribe links), key and Message-ID.
        moved = Outbox.objects.get(pk=planned.pk)
        assert (moved.key, moved.message_id, moved.status) == (
            planned.key, "<a@x>", "queued",
        )  # fmt: skip
        assert (moved.to, moved.group, moved.params) == (
            "a@example.org", f"batch:{batch.pk}", {"basis": "once"},
        )  # fmt: skip
        assert Outbox.objects.get(pk=claimed.pk).status == "queued"
        assert Outbox.objects.get(pk=sent.pk).status == "sent"
        assert (Outbox.objects.get(pk=failed.pk).status, rows["k-failed"].attempts) == (
            "failed", 9,
        )  # fmt: skip
        key = f"signature:{signature.pk}:receipt:{signature.revision_id}"
        mail = rows[key]
        assert (mail.status, mail.to, mail.params) == (
            "queued", "rosa@friends.example.org", {"revision": signature.revision_id},
        )  # fmt: skip
        assert mail.signature_id == signature.pk and mail.letter_id == letter.pk
        assert mail.pk > failed.pk  # new ids after the deliveries'
        gone = rows[f"signature:{erased.pk}:withdrawn:{erased.revision_id}"]
        assert gone.status == "cancelled"
        status = rows[f"signature:{signature.pk}:status:{signature.revision_id}:0"]
        assert status.status == "sent"
        assert receipt.pk
    finally:
        migrate(latest())


@pytest.mark.django_db(transaction=True)
def test_the_stored_rows_are_filled_for_signatures_made_before_them():
    from django.db.migrations.executor import MigrationExecutor

    from signers.views.public import _signer_lists, _signer_lists_from_rows
    from tests.letters.public_fixtures import published_letter, sign

    if connection.vendor != "postgresql":
        pytest.skip("the stored rows are read on PostgreSQL")
    letter = published_letter()
    sign(letter, "<b>Before</b> & after", city="O'Town", website="https://e.org/")
    executor = MigrationExecutor(connection)
    executor.migrate([("signers", "0012_signature_import_job")])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'signers_signature' AND column_name = 'public_row'"
        )
        assert cursor.fetchone() == (0,)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes("signers"))

    assert _signer_lists(letter)[0] == _signer_lists_from_rows(letter)
    assert "&lt;b&gt;Before&lt;/b&gt; &amp; after" in _signer_lists(letter)[0][0].html
