"""The open-join sign POST's round trips, pinned: a change that adds one
to every signature fails here (issue 14's sign line)."""

from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coalition.outbox.models import OutboxMessage
from coalition.outbox.tasks import KICK_MARK, outbox_dispatch_task
from signers.models import Signature
from tests.signers.helpers import sign_form

pytestmark = pytest.mark.django_db

# In a request, the transaction's BEGIN and COMMIT stand where the test's
# savepoint is: the letter, read once under its lock; the signature and its
# confirmation email's row, one statement on PostgreSQL (a refused insert
# writes neither, with no savepoint; only then are pending signatures in the
# way looked for). The partners the name or domain might be are looked for
# once the address is confirmed, not here.
SIGN_QUERIES = ["SAVEPOINT", "SELECT", "WITH", "RELEASE"]
# SQLite has no shared lock (the letter is locked by a write, then read) and
# the ORM writes the two rows, the insert in a savepoint.
SIGN_QUERIES_ORM = [
    "SAVEPOINT",
    "UPDATE",
    "SELECT",
    "SAVEPOINT",
    "INSERT",
    "RELEASE",
    "INSERT",
    "RELEASE",
]


def join(client, letter, n):
    return client.post(
        reverse("signers:join", args=[letter.slug]),
        sign_form(letter, display_name=f"Org {n}", email=f"org{n}@example.org"),
    )


def test_an_open_join_takes_the_pinned_queries(client, open_letter):
    client.get(reverse("signers:join", args=[open_letter.slug]))  # the cookie

    with (
        CaptureQueriesContext(connection) as queries,
        mock.patch.object(outbox_dispatch_task, "delay"),
    ):
        response = join(client, open_letter, 1)

    assert response.status_code == 302
    assert Signature.objects.get().status == Signature.Status.PENDING
    assert OutboxMessage.objects.filter(kind="confirm_request").count() == 1
    verbs = [q["sql"].split(" ", 1)[0] for q in queries.captured_queries]
    if connection.vendor != "postgresql":
        assert verbs == SIGN_QUERIES_ORM
        return
    assert verbs == SIGN_QUERIES
    # Shared: sign-ups of one letter do not wait for each other.
    assert queries.captured_queries[1]["sql"].endswith("FOR SHARE")
    written = queries.captured_queries[2]["sql"]
    assert written.count("INSERT INTO") == 2
    assert "ON CONFLICT DO NOTHING" in written


@pytest.mark.django_db(transaction=True)
def test_sign_ups_before_the_dispatcher_starts_publish_one_task(client, open_letter):
    with mock.patch.object(outbox_dispatch_task, "delay") as delay:
        for n in range(3):
            assert join(client, open_letter, n).status_code == 302
        assert delay.call_count == 1
        assert OutboxMessage.objects.filter(kind="confirm_request").count() == 3

        # The task takes the mark off as it starts, before it claims: the
        # next sign-up publishes again.
        outbox_dispatch_task()
        assert cache.get(KICK_MARK) is None
        assert join(client, open_letter, 9).status_code == 302
        assert delay.call_count == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's driver")
def test_the_sign_up_statement_is_one_the_driver_keeps_parsed(client, open_letter):
    """Nulls are written into the statement, not passed: its text is the same
    for every sign-up alike, with no more values than the driver keeps the
    parsed text of (50), so it is not parsed again on every POST."""
    statements = []

    def record(execute, sql, params, many, context):
        if sql.startswith("WITH"):
            statements.append((sql, len(params)))
        return execute(sql, params, many, context)

    with (
        connection.execute_wrapper(record),
        mock.patch.object(outbox_dispatch_task, "delay"),
    ):
        for n in range(2):
            assert join(client, open_letter, n).status_code == 302

    (first, count), (second, _count) = statements
    assert first == second
    assert count <= 50
