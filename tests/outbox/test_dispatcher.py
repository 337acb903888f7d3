"""The outbox engine against PostgreSQL and a real SMTP server on loopback."""

import smtplib
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from coalition.outbox import builders
from coalition.outbox.builders import Email, Kind
from coalition.outbox.dispatcher import (
    backoff,
    outbox_dispatch,
    outbox_settle_stale,
)
from coalition.outbox.models import OutboxMessage
from coalition.outbox.services import (
    outbox_enqueue,
    outbox_enqueue_email,
    outbox_enqueue_many,
    outbox_message,
    outbox_retry,
)
from coalition.outbox.tasks import outbox_dispatch_task
from tests.conftest import free_port, wait_until
from tests.factories import UserFactory

# Later than any real clock the tests run under: rows enqueued now are due.
NOW = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
Status = OutboxMessage.Status

# What the test kinds' hooks saw: builds, screens, sends, bounces.
seen: Counter[str] = Counter()
bounced: list[tuple[int, str]] = []


def _build_note(row: OutboxMessage) -> Email | None:
    seen["build"] += 1
    if row.params.get("silent"):
        return None
    return Email(
        subject=f"Note {row.params['n']}",
        # Changes every time it is built: a retry must not build it again.
        text=f"Hello {row.params['n']}, build {seen['build']}",
        html=f"<p>Hello {row.params['n']}</p>",
        to=[row.to],
        from_email="coalition@example.org",
        headers={"X-Note": str(row.params["n"])},
    )


def _screen_note(rows: list[OutboxMessage], now: datetime) -> dict[int, str]:
    return {row.pk: "they answered" for row in rows if row.params.get("answered")}


def _after_sent(rows: list[OutboxMessage], now: datetime) -> None:
    seen["after_sent"] += len(rows)


def _bounced(row: OutboxMessage, error: str) -> None:
    bounced.append((row.pk, error))


builders.register(
    Kind(
        "test_note",
        _build_note,
        screen=_screen_note,
        after_sent=_after_sent,
        bounced=_bounced,
    )
)


@pytest.fixture(autouse=True)
def _fresh_hooks(settings):
    seen.clear()
    bounced.clear()
    settings.OUTBOX_BATCH_SIZE = 100


def enqueue(n, **params):
    return outbox_enqueue(
        kind="test_note",
        key=f"note:{n}",
        to=f"person{n}@example.org",
        params={"n": n, **params},
    )


def at(when):
    return time_machine.travel(when, tick=False)


def ids(sink):
    return [m["Message-ID"] for m in sink.messages]


# --- Enqueue --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_second_enqueue_of_a_key_returns_the_first_row_and_changes_nothing():
    first = enqueue(1)
    again = outbox_enqueue(
        kind="test_note", key="note:1", to="someone.else@example.org", params={"n": 9}
    )

    assert again.pk == first.pk
    assert again.to == "person1@example.org"
    assert OutboxMessage.objects.count() == 1
    assert first.message_id.startswith("<") and first.message_id.endswith(">")


@pytest.mark.django_db
def test_a_transaction_that_enqueues_many_kicks_one_dispatch(
    django_capture_on_commit_callbacks,
):
    with (
        mock.patch.object(outbox_dispatch_task, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        transaction.atomic(),
    ):
        for n in range(5):
            enqueue(n)
        outbox_enqueue_many(
            outbox_message(kind="test_note", key=f"bulk:{n}", to=f"b{n}@example.org")
            for n in range(50)
        )

    assert len(callbacks) == 1
    assert delay.call_count == 1
    assert OutboxMessage.objects.count() == 55


@pytest.mark.django_db
def test_a_bulk_enqueue_skips_keys_already_in_the_outbox():
    enqueue(1, first=True)
    outbox_enqueue_many(
        outbox_message(kind="test_note", key=f"note:{n}", to=f"x{n}@example.org")
        for n in range(3)
    )

    assert OutboxMessage.objects.count() == 3
    assert OutboxMessage.objects.get(key="note:1").params == {"n": 1, "first": True}


# --- Sending --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_message_goes_over_smtp_with_its_fixed_message_id(smtp_settings):
    row = enqueue(1)

    result = outbox_dispatch()

    row.refresh_from_db()
    assert result.sent == 1
    assert row.status == Status.SENT
    assert row.sent_at is not None
    assert row.attempts == 1
    (message,) = smtp_settings.messages
    assert message["Message-ID"] == row.message_id
    assert message["To"] == "person1@example.org"
    assert message["X-Note"] == "1"
    assert message.is_multipart()
    assert seen["after_sent"] == 1


@pytest.mark.django_db
def test_a_message_sent_is_never_sent_again(smtp_settings):
    enqueue(1)

    outbox_dispatch()
    second = outbox_dispatch()

    assert second.claimed == 0
    assert len(smtp_settings.received) == 1


@pytest.mark.django_db
def test_a_message_due_later_waits(smtp_settings):
    later = outbox_enqueue(
        kind="test_note",
        key="later",
        to="later@example.org",
        params={"n": 1},
        send_at=NOW + timedelta(hours=1),
    )

    with at(NOW):
        assert outbox_dispatch().claimed == 0
    with at(NOW + timedelta(hours=1)):
        assert outbox_dispatch().sent == 1

    later.refresh_from_db()
    assert later.status == Status.SENT


@pytest.mark.django_db
def test_a_batch_goes_over_one_smtp_connection(smtp_settings):
    for n in range(30):
        enqueue(n)
    opened = []
    real_connect = smtplib.SMTP.connect

    def connect(self, *args, **kwargs):
        opened.append(args)
        return real_connect(self, *args, **kwargs)

    with mock.patch.object(smtplib.SMTP, "connect", connect):
        result = outbox_dispatch(batch_size=30)

    assert result.sent == 30
    assert len(opened) == 1
    assert len(set(ids(smtp_settings))) == 30


@pytest.mark.django_db
def test_a_batch_costs_one_query_per_message_beyond_a_fixed_few(smtp_settings):
    for n in range(40):
        enqueue(n)
    with CaptureQueriesContext(connection) as small:
        assert outbox_dispatch(batch_size=5).sent == 5
    with CaptureQueriesContext(connection) as large:
        assert outbox_dispatch(batch_size=35).sent == 35

    # The UPDATE that records each message sent; claim, load, the commit mode
    # and settle are fixed.
    assert len(large) - len(small) == 30
    assert len(small) <= 17


@pytest.mark.django_db
def test_a_message_with_nothing_to_say_is_cancelled_not_sent(smtp_settings):
    silent = enqueue(1, silent=True)
    answered = enqueue(2, answered=True)

    result = outbox_dispatch()

    silent.refresh_from_db()
    answered.refresh_from_db()
    assert result.cancelled == 2
    assert silent.status == answered.status == Status.CANCELLED
    assert answered.last_error == "they answered"
    assert smtp_settings.received == []


@pytest.mark.django_db
def test_a_message_built_at_enqueue_is_sent_as_it_was_built(smtp_settings):
    user = UserFactory()
    email = Email(
        subject="Confirm your address",
        text="Click",
        to=[user.email],
        from_email="coalition@example.org",
    )

    row = outbox_enqueue_email(key="account:1", email=email, user_id=user.pk)
    outbox_dispatch()

    row.refresh_from_db()
    assert row.status == Status.SENT
    (message,) = smtp_settings.messages
    assert message["Subject"] == "Confirm your address"
    assert message["Message-ID"] == row.message_id


@pytest.mark.django_db
def test_a_builder_that_raises_fails_its_message_and_not_the_batch(smtp_settings):
    broken = outbox_enqueue(kind="test_note", key="broken", to="b@example.org")
    enqueue(1)

    result = outbox_dispatch()

    broken.refresh_from_db()
    assert result.sent == 1
    assert broken.status == Status.FAILED
    assert "KeyError" in broken.last_error


@pytest.mark.django_db
def test_the_claim_may_not_run_inside_a_callers_transaction():
    enqueue(1)

    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_dispatch()


# --- Failures and retries -------------------------------------------------------------


@pytest.mark.django_db
def test_a_refused_message_is_retried_after_a_backoff_as_the_same_message(
    smtp_settings,
):
    row = enqueue(1)
    smtp_settings.refuse_next = 1

    with at(NOW):
        result = outbox_dispatch()

    row.refresh_from_db()
    assert result.retrying == 1
    assert row.status == Status.QUEUED
    assert row.attempts == 1
    assert row.next_attempt_at == NOW + timedelta(seconds=5)
    assert "451" in row.last_error
    assert row.built is not None
    with at(NOW + timedelta(seconds=4)):
        assert outbox_dispatch().claimed == 0
    with at(NOW + timedelta(seconds=5)):
        assert outbox_dispatch().sent == 1

    row.refresh_from_db()
    assert row.status == Status.SENT
    assert row.attempts == 2
    assert seen["build"] == 1  # the retry sent the message first built
    (message,) = smtp_settings.messages
    assert message["Message-ID"] == row.message_id
    assert "build 1" in message.get_payload(0).get_payload()


@pytest.mark.django_db
def test_a_refusal_in_a_batch_does_not_stop_the_rest(smtp_settings):
    for n in range(5):
        enqueue(n)
    smtp_settings.refuse_next = 1

    result = outbox_dispatch()

    assert (result.sent, result.retrying) == (4, 1)
    assert len(smtp_settings.received) == 4


def test_backoff_doubles_up_to_its_ceiling(settings):
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    assert backoff(20).total_seconds() == settings.OUTBOX_RETRY_BACKOFF_MAX


@pytest.mark.django_db
def test_a_message_fails_when_its_attempts_run_out(smtp_settings, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    row = enqueue(1)
    smtp_settings.refuse_next = 10

    when = NOW
    for _attempt in range(3):
        with at(when):
            outbox_dispatch()
        when += timedelta(hours=1)
    with at(when):
        assert outbox_dispatch().claimed == 0

    row.refresh_from_db()
    assert row.status == Status.FAILED
    assert row.attempts == 3
    assert "451" in row.last_error


@pytest.mark.django_db
def test_a_recipient_refused_for_good_fails_at_once_and_is_reported(smtp_settings):
    row = enqueue(1)
    smtp_settings.reject_recipients = {"person1@example.org"}

    result = outbox_dispatch()

    row.refresh_from_db()
    assert result.failed == 1
    assert row.status == Status.FAILED
    assert row.attempts == 1
    assert bounced == [(row.pk, row.last_error)]
    assert "550" in row.last_error


@pytest.mark.django_db
def test_an_smtp_outage_gives_the_batch_back_without_using_an_attempt(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens there
    settings.EMAIL_TIMEOUT = 2
    rows = [enqueue(n) for n in range(3)]

    with at(NOW):
        result = outbox_dispatch()

    assert (result.claimed, result.deferred, result.sent) == (3, 3, 0)
    for row in rows:
        row.refresh_from_db()
        assert row.status == Status.QUEUED
        assert row.attempts == 0
        assert row.next_attempt_at == NOW + timedelta(seconds=5)
        assert "ConnectionRefusedError" in row.last_error


@pytest.mark.django_db
def test_a_stale_claim_is_taken_back_and_a_live_one_is_not(smtp_settings, settings):
    dead = enqueue(1)
    alive = enqueue(2)
    timeout = timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT)
    OutboxMessage.objects.filter(pk=dead.pk).update(
        status=Status.SENDING,
        claimed_at=NOW - timeout - timedelta(seconds=1),
        attempts=1,
    )
    OutboxMessage.objects.filter(pk=alive.pk).update(
        status=Status.SENDING,
        claimed_at=NOW - timeout + timedelta(seconds=5),
        attempts=1,
    )

    with at(NOW):
        result = outbox_dispatch()

    assert result.sent == 1
    assert ids(smtp_settings) == [dead.message_id]
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == (Status.SENT, 2)
    assert OutboxMessage.objects.get(pk=alive.pk).status == Status.SENDING


@pytest.mark.django_db
def test_a_message_whose_dispatchers_keep_dying_is_failed(smtp_settings, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    row = enqueue(1)
    OutboxMessage.objects.filter(pk=row.pk).update(
        status=Status.SENDING, claimed_at=NOW - timedelta(days=1), attempts=3
    )

    with at(NOW):
        result = outbox_dispatch()

    row.refresh_from_db()
    assert result.failed == 1
    assert row.status == Status.FAILED
    assert "gave up" in row.last_error
    assert smtp_settings.received == []


# --- The organisers' retry ------------------------------------------------------------


@pytest.mark.django_db
def test_a_retried_failed_message_is_sent_afresh(smtp_settings, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    row = enqueue(1)
    other = enqueue(2)
    smtp_settings.refuse_next = 2
    outbox_dispatch()
    row.refresh_from_db()
    assert row.status == Status.FAILED

    with mock.patch.object(outbox_dispatch_task, "delay"):
        retried = outbox_retry(message_ids=[row.pk], actor=UserFactory())
    row.refresh_from_db()
    assert retried == [row.pk]
    assert (row.status, row.attempts, row.built) == (Status.QUEUED, 0, None)
    assert OutboxMessage.objects.get(pk=other.pk).status == Status.FAILED

    assert outbox_dispatch().sent == 1
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert ids(smtp_settings)[-1] == row.message_id


@pytest.mark.django_db
def test_retry_moves_only_failed_messages(smtp_settings):
    sent = enqueue(1)
    outbox_dispatch()
    queued = enqueue(2)

    assert outbox_retry(message_ids=[sent.pk, queued.pk], actor=None) == []
    assert OutboxMessage.objects.get(pk=sent.pk).status == Status.SENT
    assert OutboxMessage.objects.get(pk=queued.pk).attempts == 0


# --- The task -------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_task_queues_the_next_batch_only_after_a_full_one(smtp_settings, settings):
    settings.OUTBOX_BATCH_SIZE = 2
    for n in range(3):
        enqueue(n)

    with mock.patch.object(outbox_dispatch_task, "delay") as delay:
        assert outbox_dispatch_task()["sent"] == 2
        assert delay.call_count == 1
        assert outbox_dispatch_task()["sent"] == 1
        assert delay.call_count == 1


# --- Two dispatchers, and the claim before SMTP ---------------------------------------


def _in_thread(target):
    errors = []

    def run():
        try:
            target()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_send_every_message_exactly_once(smtp_settings):
    smtp_settings.delay = 0.005
    rows = [enqueue(n) for n in range(60)]
    barrier = threading.Barrier(2)

    def dispatch_until_empty():
        barrier.wait()
        while outbox_dispatch(batch_size=7).claimed:
            pass

    runs = [_in_thread(dispatch_until_empty) for _ in range(2)]
    for thread, errors in runs:
        thread.join(timeout=120)
        assert errors == []

    received = Counter(ids(smtp_settings))
    assert set(received) == {row.message_id for row in rows}
    assert max(received.values()) == 1
    assert OutboxMessage.objects.filter(status=Status.SENT).count() == 60


@pytest.mark.django_db(transaction=True)
def test_the_claim_is_committed_before_the_smtp_server_answers(smtp_settings):
    smtp_settings.delay = 2.0  # the server holds the message before answering
    row = enqueue(1)

    thread, errors = _in_thread(outbox_dispatch)
    # Seen from this connection while the dispatcher waits on SMTP: claimed.
    assert wait_until(lambda: smtp_settings.in_data > 0, timeout=10, interval=0.01)
    during = OutboxMessage.objects.get(pk=row.pk)
    thread.join(timeout=30)

    assert errors == []
    assert during.status == Status.SENDING
    assert during.claim_token is not None
    row.refresh_from_db()
    assert row.status == Status.SENT


@pytest.mark.django_db(transaction=True)
def test_each_message_is_recorded_sent_before_the_next_goes(smtp_settings):
    smtp_settings.delay = 1.0
    first, second, third = (enqueue(n) for n in range(3))

    thread, errors = _in_thread(outbox_dispatch)
    # The server holds the second message: the first is on record as sent, so
    # a dispatcher killed now would send only the second again.
    assert wait_until(
        lambda: len(smtp_settings.received) == 2 and smtp_settings.in_data > 0,
        timeout=10,
        interval=0.01,
    )
    states = dict(OutboxMessage.objects.values_list("pk", "status"))
    thread.join(timeout=30)

    assert errors == []
    assert states == {
        first.pk: Status.SENT,
        second.pk: Status.SENDING,
        third.pk: Status.SENDING,
    }
    assert seen["after_sent"] == 3
    assert not OutboxMessage.objects.filter(claim_token__isnull=False).exists()


@pytest.mark.django_db
def test_sent_messages_a_dead_dispatcher_left_unsettled_are_settled(
    smtp_settings, settings
):
    row = enqueue(1)
    OutboxMessage.objects.filter(pk=row.pk).update(
        status=Status.SENT,
        claim_token=uuid.uuid4(),
        claimed_at=NOW - timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT + 1),
    )

    with at(NOW):
        assert outbox_settle_stale() == 1
        assert outbox_settle_stale() == 0

    assert seen["after_sent"] == 1
    assert OutboxMessage.objects.get(pk=row.pk).claim_token is None
    assert smtp_settings.received == []
