"""The signature and its first email written in one statement (PostgreSQL)
write the very rows the ORM writes: a field added to either model cannot be
left out of one way silently."""

import pytest
from django.db import connection, transaction
from django.utils import timezone

from coalition.outbox.models import OutboxMessage
from letters.models import Letter
from signers.models import EmailKind, Signature
from signers.services import signature_insert as inserting
from signers.services import signing
from tests.factories import ProspectFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the statement is PostgreSQL's"
    ),
]

# Set at insert, so different each time; the Message-ID is made before the
# signature has its id, from a random value (it is stored with the row).
CHANGING = {
    "id",
    "created_at",
    "updated_at",
    "message_id",
    "signature_id",
    "next_attempt_at",
}


def unsaved(letter, **overrides):
    """A signature with every field given a value of its own."""
    now = timezone.now()
    values = {
        "letter": letter,
        "revision_id": letter.current_revision_id,
        "kind": Signature.Kind.ORGANISATION,
        "status": Signature.Status.PENDING,
        "source": Signature.Source.OPEN_JOIN,
        "display_name": "Friends of the Park",
        "sort_name": "friends of the park",
        "normalised_name": "friends park",
        "skeleton_name": "frlends park",
        "affiliation": "Parks",
        "city": "Springfield",
        "country": "United Kingdom",
        "website": "https://friends.example.org",
        "contact_name": "Rosa Parks",
        "contact_title": "Chair",
        "email": "rosa@friends.example.org",
        "phone": "+44 1234",
        "comment": "<b>Gladly</b> 'signed'",
        "consent_listed": True,
        "consent_updates": True,
        "consent_logo": True,
        "attested": True,
        "prospect": None,
        "confirmed_at": None,
    }
    values.update(overrides)
    for field in ("created_at", "updated_at"):
        values.setdefault(field, now)
    return Signature(**values)


def written(letter, insert, email_kind, **overrides):
    """The rows ``insert`` wrote, read back, then rolled away."""
    with transaction.atomic():
        signature = unsaved(letter, **overrides)
        assert insert(signature, email_kind)
        row = Signature.objects.filter(pk=signature.pk).values().get()
        got = {f.attname: getattr(signature, f.attname) for f in Signature._meta.fields}
        messages = list(
            OutboxMessage.objects.filter(signature_id=signature.pk).values()
        )
        transaction.set_rollback(True)
    assert got == row  # the instance returned is the row written
    for message in messages:
        assert message["key"].startswith(f"signature:{signature.pk}:")
        message["key"] = message["key"].replace(f":{signature.pk}:", ":N:")
        assert message["signature_id"] == signature.pk
        assert message["next_attempt_at"] <= timezone.now()  # due at once
    return (
        {k: v for k, v in row.items() if k not in CHANGING},
        [{k: v for k, v in m.items() if k not in CHANGING} for m in messages],
    )


def in_one_statement(signature, email_kind):
    return inserting.signature_insert(signature, email_kind=email_kind)


@pytest.mark.parametrize(
    ("email_kind", "overrides"),
    [
        (EmailKind.CONFIRM_REQUEST, {}),
        (
            EmailKind.RECEIPT,
            {"status": Signature.Status.CONFIRMED, "confirmed_at": timezone.now()},
        ),
        (None, {"source": Signature.Source.IMPORT, "prospect": None}),
    ],
)
def test_one_statement_writes_the_rows_the_orm_writes(letter, email_kind, overrides):
    overrides.setdefault("prospect", ProspectFactory(letter=letter))
    orm = written(letter, inserting._insert_orm, email_kind, **overrides)
    sql = written(letter, in_one_statement, email_kind, **overrides)

    differ = {k: (v, orm[0][k]) for k, v in sql[0].items() if orm[0].get(k) != v}
    assert differ == {}
    assert sql[0].keys() == orm[0].keys()
    assert sql[1] == orm[1]
    assert len(sql[1]) == (0 if email_kind is None else 1)


def test_a_refused_signature_writes_no_email_and_needs_no_savepoint(letter):
    assert inserting.signature_insert(
        unsaved(letter), email_kind=EmailKind.CONFIRM_REQUEST
    )
    again = unsaved(letter, display_name="Another name", normalised_name="x")

    assert not inserting.signature_insert(again, email_kind=EmailKind.CONFIRM_REQUEST)

    assert again.pk is None
    assert Signature.objects.count() == 1  # the transaction goes on
    assert OutboxMessage.objects.count() == 1


def test_each_first_email_has_a_message_id_of_its_own(letter):
    for n in range(3):
        signature = unsaved(
            letter,
            email=f"n{n}@example.org",
            display_name=f"Org {n}",
            normalised_name=f"org {n}",
            skeleton_name=f"org {n}",
        )
        assert inserting.signature_insert(
            signature, email_kind=EmailKind.CONFIRM_REQUEST
        )

    ids = set(OutboxMessage.objects.values_list("message_id", flat=True))
    assert len(ids) == 3
    assert all(i.startswith("<") and i.endswith(">") for i in ids)


def test_the_letter_read_to_join_is_the_letter_the_orm_reads(open_letter):
    by_orm = Letter.objects.get(pk=open_letter.pk)

    with transaction.atomic():
        by_hand = signing.letter_lock_to_join(slug=open_letter.slug)

    for field in Letter._meta.concrete_fields:
        expected = getattr(by_orm, field.attname)
        got = getattr(by_hand, field.attname)
        assert (type(got), got) == (type(expected), expected), field.name
    assert by_hand._state.adding is False
    assert by_hand.current_revision == by_orm.current_revision
