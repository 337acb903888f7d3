"""Data migrations, run on rows as the previous code left them."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

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
