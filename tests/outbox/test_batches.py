"""The dispatcher's batches: one connection, constant queries, durable marks,
the message's bytes, the next batch queued while this one is sent."""

import random
import string
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from unittest import mock

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.core.mail import BadHeaderError
from django.core.mail.message import forbid_multi_line_headers
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coalition.links import token_url
from coalition.outbox import mime
from coalition.outbox.builders import Email
from coalition.outbox.dispatcher import outbox_dispatch
from coalition.outbox.models import OutboxMessage
from coalition.outbox.tasks import outbox_dispatch_task
from coalition.tokens import read_token
from signers.models import Prospect, ReminderSchedule
from signers.services.outreach import invitations_send
from signers.services.sending import outreach_plan_due
from tests.conftest import SMTPSink, free_port
from tests.factories import ProspectFactory, UserFactory, circulating_letter

NOW = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
SOFT = datetime(2030, 6, 10, 17, 0, tzinfo=UTC)
Status = OutboxMessage.Status
MARK = 'UPDATE "outbox_outboxmessage" SET "status" = $1'


class CountingSink(SMTPSink):
    """The loopback server, counting the connections (one EHLO each)."""

    connections: int = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses


@pytest.fixture
def counting_smtp(settings):
    sink = CountingSink(host="127.0.0.1", port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = sink.host, sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.OUTBOX_BATCH_SIZE = 1000
    try:
        yield sink
    finally:
        controller.stop()


def invitations(count):
    letter = circulating_letter()
    ReminderSchedule.objects.create(letter=letter, digest_enabled=False)
    ProspectFactory.create_batch(count, letter=letter)
    with mock.patch.object(outbox_dispatch_task, "delay"):
        invitations_send(letter=letter, actor=None)
    return letter


def dispatch():
    with time_machine.travel(NOW, tick=False):
        return outbox_dispatch()


@pytest.mark.django_db
def test_a_batch_of_invitations_goes_over_one_connection(counting_smtp):
    letter = invitations(25)

    result = dispatch()

    assert result.sent == 25
    assert counting_smtp.connections == 1
    received = Counter(m["Message-ID"] for m in counting_smtp.messages)
    expected = set(
        OutboxMessage.objects.filter(letter=letter).values_list("message_id", flat=True)
    )
    assert set(received) == expected and max(received.values()) == 1
    assert not OutboxMessage.objects.exclude(status=Status.SENT).exists()
    assert Prospect.objects.filter(letter=letter, status="invited").count() == 25


@pytest.mark.django_db
def test_a_batch_costs_the_same_queries_at_any_size_but_one_mark_a_message(
    counting_smtp,
):
    counts = {}
    for size in (3, 30):
        invitations(size)
        with CaptureQueriesContext(connection) as queries:
            assert dispatch().sent == size
        marks = [q for q in queries.captured_queries if q["sql"].startswith(MARK)]
        assert len(marks) == size
        counts[size] = len(queries.captured_queries) - len(marks)
    assert counts[3] == counts[30]


def reminders(count):
    """``count`` prospects due a soft reminder: a third invited by one
    organiser's batch, a third by another's, the rest by hand. Returns the
    sender's name each address's reminder must come from ("": the site's)."""
    letter = circulating_letter(soft_deadline=SOFT)
    ReminderSchedule.objects.create(letter=letter, digest_enabled=False)
    prospects = ProspectFactory.create_batch(count, letter=letter)
    senders = {}
    with (
        mock.patch.object(outbox_dispatch_task, "delay"),
        time_machine.travel(SOFT - timedelta(days=10), tick=False),
    ):
        for i in range(2):
            sender = UserFactory(display_name=f"Sender {i}")
            chunk = prospects[i::3]
            ids = [p.pk for p in chunk]
            invitations_send(letter=letter, actor=sender, prospect_ids=ids)
            senders.update({p.email: sender.display_name for p in chunk})
        outbox_dispatch()
        by_hand = prospects[2::3]
        Prospect.objects.filter(pk__in=[p.pk for p in by_hand]).update(
            status=Prospect.Status.INVITED, invited_at=timezone.now()
        )
        senders.update({p.email: "" for p in by_hand})
    with time_machine.travel(SOFT - timedelta(days=3), tick=False):
        assert outreach_plan_due(now=timezone.now()) == count
    return senders


def assert_from_their_inviters(messages, senders):
    """Each reminder comes from the organiser whose batch invited them."""
    for message in messages:
        sender = senders[message["To"]]
        if sender:
            assert sender in message["From"]
        else:
            assert "Sender" not in message["From"]


@pytest.mark.django_db
def test_a_batch_of_reminders_costs_the_same_queries_at_any_size(counting_smtp):
    counts = {}
    for size in (3, 30):
        senders = reminders(size)
        counting_smtp.received.clear()
        with (
            CaptureQueriesContext(connection) as queries,
            time_machine.travel(SOFT - timedelta(days=3), tick=False),
        ):
            assert outbox_dispatch().sent == size
        marks = [q for q in queries.captured_queries if q["sql"].startswith(MARK)]
        counts[size] = len(queries.captured_queries) - len(marks)
        assert len(counting_smtp.messages) == size
        assert_from_their_inviters(counting_smtp.messages, senders)
    assert counts[3] == counts[30]


@pytest.mark.django_db
def test_a_batch_builds_its_letter_once_whatever_its_size(counting_smtp):
    built = Counter()

    def count(sender, instance, **kwargs):
        built[sender.__name__] += 1

    counts = {}
    for size in (3, 30):
        letter = invitations(size)
        built.clear()
        post_init.connect(count)
        try:
            assert dispatch().sent == size
        finally:
            post_init.disconnect(count)
        counts[size] = (built["Letter"], built["Revision"], built["ReminderSchedule"])
        sent = OutboxMessage.objects.filter(letter=letter, status=Status.SENT)
        assert sent.count() == size
    assert counts[3] == counts[30]


@pytest.mark.django_db
def test_a_prepare_step_that_fails_leaves_the_builders_to_read_row_by_row(
    counting_smtp,
):
    senders = reminders(3)
    broken = mock.patch(
        "signers.email_batches.InvitationBatch.objects.in_bulk",
        side_effect=RuntimeError("prepare failed"),
    )

    with broken, time_machine.travel(SOFT - timedelta(days=3), tick=False):
        assert outbox_dispatch().sent == 3
    assert_from_their_inviters(counting_smtp.messages, senders)


@pytest.mark.django_db(transaction=True)
def test_the_sent_marks_are_committed_with_the_batch(counting_smtp):
    invitations(12)

    assert dispatch().sent == 12
    connection.close()  # a fresh connection sees only what was committed

    assert OutboxMessage.objects.filter(status=Status.SENT).count() == 12
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
    assert not OutboxMessage.objects.exclude(claim_token__isnull=True).exists()
    # Nothing to send twice.
    assert dispatch().claimed == 0
    assert len(counting_smtp.received) == 12


@pytest.mark.django_db
def test_a_refused_message_between_sent_ones_keeps_every_mark(counting_smtp):
    invitations(6)
    counting_smtp.refuse_next = 0
    real = counting_smtp.handle_DATA
    calls = []

    async def third_refused(server, session, envelope):
        calls.append(1)
        if len(calls) == 3:
            return "451 4.3.0 Try again later"
        return await real(server, session, envelope)

    with mock.patch.object(counting_smtp, "handle_DATA", third_refused):
        result = dispatch()

    assert (result.sent, result.retrying) == (5, 1)
    assert OutboxMessage.objects.filter(status=Status.SENT).count() == 5
    assert OutboxMessage.objects.filter(status=Status.QUEUED).count() == 1
    assert counting_smtp.connections == 2  # a fresh conversation after the refusal


# --- The task: the next batch is queued as soon as this one is claimed ---------------


@pytest.mark.django_db
def test_a_full_batch_queues_the_next_before_it_sends(counting_smtp, settings):
    settings.OUTBOX_BATCH_SIZE = 2
    invitations(3)
    order = []
    real = counting_smtp.handle_DATA

    async def data(server, session, envelope):
        order.append("sent")
        return await real(server, session, envelope)

    with (
        mock.patch.object(counting_smtp, "handle_DATA", data),
        mock.patch.object(
            outbox_dispatch_task, "delay", side_effect=lambda: order.append("queued")
        ),
        time_machine.travel(NOW, tick=False),
    ):
        assert outbox_dispatch_task()["sent"] == 2
        assert outbox_dispatch_task()["sent"] == 1
    assert order == ["queued", "sent", "sent", "sent"]


@pytest.mark.django_db
def test_no_next_batch_is_queued_while_the_server_cannot_be_reached(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    settings.OUTBOX_BATCH_SIZE = 2
    invitations(3)

    with (
        mock.patch.object(outbox_dispatch_task, "delay") as delay,
        time_machine.travel(NOW, tick=False),
    ):
        assert outbox_dispatch_task()["deferred"] == 2
    assert delay.call_count == 0


# --- The bytes of a message ---------------------------------------------------------


def email(**overrides):
    fields = {
        "subject": "Bitte unterschreiben: Saubere Luft für alle Städte und Gemeinden",
        "text": "Grüße, Jörg\r\n\r\nhttps://example.org/s/x/\n.\nFrom here\n",
        "html": "<p>Grüße &amp; more</p>\n",
        "to": ["Jörg Müller <jorg@example.org>"],
        "from_email": "Coalition <coalition@example.org>",
        "reply_to": ["Orga <orga@example.org>"],
        "headers": {
            "List-Unsubscribe": "<https://example.org/u/" + "t" * 120 + ">",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    }
    return Email(**{**fields, **overrides})


def both(built):
    message = built.to_message(message_id="<fixed@example.org>")
    fast = message.message().as_bytes(linesep="\r\n")
    django = message.django_message().as_bytes(linesep="\r\n")
    return fast, message_from_bytes(fast), message_from_bytes(django)


def unfolded(value):
    return " ".join(str(value).split())


@pytest.mark.parametrize(
    "overrides",
    [{}, {"subject": "Plain", "text": "Hi\n", "html": "<p>Hi</p>", "reply_to": []}],
)
def test_the_written_bytes_say_what_djangos_message_says(overrides):
    raw, fast, django = both(email(**overrides))

    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert sorted(fast.keys()) == sorted(django.keys())
    for name in fast:
        if name not in ("Date", "Content-Type"):
            assert unfolded(fast[name]) == unfolded(django[name]), name
    assert fast["Message-ID"] == "<fixed@example.org>"
    for mine, theirs in zip(fast.get_payload(), django.get_payload(), strict=True):
        assert dict(mine.items()) == dict(theirs.items())
        assert mine.get_payload(decode=True) == theirs.get_payload(decode=True)


def test_a_newline_in_a_header_is_still_refused():
    with pytest.raises(BadHeaderError):
        both(email(subject="Hello\nBcc: everyone@example.org"))


def test_a_plain_subject_is_what_djangos_encoding_gives_back():
    chars = string.ascii_letters + string.punctuation + "    \t"
    rng = random.Random(14)
    samples = [
        *('Reminder: will Org 1 sign "Bench letter"?', "x" * 76, "x" * 77, "a  b"),
        *(" a", "a ", "a\tb", "=?utf-8?q?x?=", "", "Grüße", "a;b,c d", "a" + "\u00a0"),
        *(
            "".join(rng.choice(chars) for _ in range(rng.randint(1, 90)))
            for _ in range(3000)
        ),
    ]
    plain = 0
    for subject in samples:
        if mime.plain_subject(subject):
            plain += 1
            assert forbid_multi_line_headers("Subject", subject, "utf-8")[1] == subject
    assert plain > 500


@pytest.mark.parametrize("subject", ["A plain subject", " ".join(["word"] * 30)])
def test_only_a_subject_that_is_not_plain_is_encoded(subject):
    encode = mock.patch.object(
        mime, "forbid_multi_line_headers", wraps=mime.forbid_multi_line_headers
    )
    with encode as encoded:
        _raw, fast, django = both(email(subject=subject))

    names = [call.args[0] for call in encoded.call_args_list]
    assert ("Subject" in names) is not mime.plain_subject(subject)
    assert unfolded(fast["Subject"]) == unfolded(django["Subject"])


def test_other_shapes_take_djangos_way():
    long_line = "x" * 1200
    attachment = {"filename": "a.ics", "content": "BEGIN", "mimetype": "text/calendar"}
    for built in (email(text=long_line), email(attachments=[attachment])):
        message = built.to_message(message_id="<fixed@example.org>").message()
        assert message._bytes is None
        parsed = message_from_bytes(message.as_bytes(linesep="\r\n"))
        assert parsed["Message-ID"] == "<fixed@example.org>"


# --- Links --------------------------------------------------------------------------


def test_a_token_link_is_the_one_reverse_would_give(settings):
    settings.SITE_URL = "https://coalition.example.org"
    url = token_url("withdraw", "withdraw", 42)

    token = url.rstrip("/").rsplit("/", 1)[-1]
    assert read_token("withdraw", token) == 42
    path = reverse("signers:withdraw", kwargs={"token": token})
    assert url == f"https://coalition.example.org{path}"


@pytest.mark.django_db
def test_a_broker_that_cannot_take_the_next_batch_stops_nothing(counting_smtp):
    invitations(3)

    def queue_next(count):
        raise OSError("the broker is down")

    with time_machine.travel(NOW, tick=False):
        result = outbox_dispatch(batch_size=2, claimed=queue_next)

    assert result.sent == 2
    assert OutboxMessage.objects.filter(status=Status.SENT).count() == 2
