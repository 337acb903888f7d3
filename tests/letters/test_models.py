from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from letters.models import Letter, Revision, RevisionImmutableError, text_hash
from letters.services.revisions import revision_publish
from tests.factories import LetterFactory, RevisionFactory, UserFactory


def test_hash_is_stable_for_the_same_text():
    # Fixed: a receipt quoting this hash must match it years from now.
    revision = Revision(addressee="To the Council", points=["Clean air."], body="Act.")

    assert revision.canonical_text == (
        '{"addressee":"To the Council","body":"Act.","points":["Clean air."]}'
    )
    assert text_hash(
        addressee="To the Council", points=["Clean air."], body="Act."
    ) == ("6c8fce0da0fbb2194249b19495c638e10e5ecec28e90e20bd472b0186d599074")


def test_hash_ignores_line_endings_and_surrounding_space():
    a = text_hash(addressee="To X", points=["One"], body="Line one\nLine two")
    b = text_hash(addressee=" To X ", points=[" One "], body="Line one\r\nLine two\n")

    assert a == b


def test_hash_changes_with_any_word_or_point_order():
    base = text_hash(addressee="To X", points=["One", "Two"], body="Body")

    assert text_hash(addressee="To X", points=["Two", "One"], body="Body") != base
    assert text_hash(addressee="To X", points=["One", "Two"], body="Body!") != base
    assert text_hash(addressee="To Y", points=["One", "Two"], body="Body") != base


@pytest.mark.django_db
def test_a_saved_revision_refuses_to_change_or_be_deleted():
    revision = RevisionFactory()
    revision.body = "Something else"

    with pytest.raises(RevisionImmutableError):
        revision.save()
    with pytest.raises(RevisionImmutableError):
        revision.delete()
    revision.refresh_from_db()
    assert revision.body != "Something else"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE letters_revision SET body = 'tampered' WHERE id = %s",
        "UPDATE letters_revision SET sha256 = 'x', number = 99 WHERE id = %s",
        "DELETE FROM letters_revision WHERE id = %s",
    ],
)
def test_the_database_refuses_raw_sql_that_changes_a_revision(sql):
    revision = revision_publish(
        letter=LetterFactory(), author=UserFactory(), change_note=""
    )

    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as c:
        c.execute(sql, [revision.pk])

    stored = Revision.objects.get(pk=revision.pk)
    assert stored.body == revision.body and stored.sha256 == revision.sha256


@pytest.mark.django_db
def test_the_database_refuses_a_queryset_update_of_revisions():
    revision = RevisionFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Revision.objects.filter(pk=revision.pk).update(change_note="rewritten")


@pytest.mark.django_db
def test_unpublished_changes_follow_the_draft():
    letter = LetterFactory()
    assert letter.has_unpublished_changes  # nothing published yet

    revision_publish(letter=letter, author=UserFactory(), change_note="")
    assert not letter.has_unpublished_changes

    letter.title = "A new title"
    assert letter.has_unpublished_changes


def test_draft_version_changes_with_title_and_text():
    letter = Letter(title="T", addressee="A", points=["P"], body="B")
    before = letter.draft_version

    letter.title = "T2"
    assert letter.draft_version != before


@time_machine.travel(datetime(2030, 3, 1, 12, 0, tzinfo=UTC), tick=False)
def test_next_deadline_is_the_earliest_still_ahead():
    now = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
    letter = Letter(
        status=Letter.Status.CIRCULATING,
        soft_deadline=now - timedelta(days=1),
        hard_deadline=now + timedelta(days=5),
        release_at=now + timedelta(days=6),
    )

    assert letter.next_deadline.at == now + timedelta(days=5)
    assert str(letter.next_deadline.label) == "Signing closes"

    letter.status = Letter.Status.PUBLISHED
    letter.hard_deadline = now - timedelta(hours=1)
    assert letter.next_deadline is None  # a published letter has no release ahead
