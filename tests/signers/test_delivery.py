import smtplib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from signers.models import Delivery, Prospect, ReminderSchedule, Suppression
from signers.services.outreach import invitations_send
from signers.services.sending import (
    DELIVERY_MAX_ATTEMPTS,
    deliveries_dispatch,
    delivery_claim,
    delivery_send,
)
from signers.tasks import delivery_send_task
from tests.conftest import free_port
from tests.factories import ProspectFactory, circulating_letter

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def at(when):
    return time_machine.travel(when, tick=False)


def plan_invitations(count=1):
    letter = circulating_letter()
    ReminderSchedule.objects.create(letter=letter, digest_enabled=False)
    ProspectFactory.create_batch(count, letter=letter)
    with at(NOW):
        batch = invitations_send(letter=letter, actor=None)
    return letter, list(batch.deliveries.order_by("pk"))


def message_ids(sink):
    return [m["Message-ID"] for m in sink.messages]


def test_an_invitation_goes_over_smtp_with_its_fixed_message_id(smtp_settings):
    _letter, (delivery,) = plan_invitations()

    with at(NOW):
        delivery_send_task(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert message_ids(smtp_settings) == [delivery.message_id]
    assert smtp_settings.messages[0]["To"] == delivery.email
    assert smtp_settings.messages[0]["List-Unsubscribe-Post"] == (
        "List-Unsubscribe=One-Click"
    )


def test_a_refused_message_is_retried_by_the_task_and_sent_once(smtp_settings):
    _letter, (delivery,) = plan_invitations()
    smtp_settings.refuse_next = 1

    with at(NOW), pytest.raises(smtplib.SMTPDataError):
        delivery_send_task(delivery.pk)  # Celery retries it with backoff

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PLANNED
    assert delivery.due_at == NOW + timedelta(seconds=5)
    assert "451" in delivery.last_error
    with at(NOW + timedelta(seconds=1)):
        delivery_send_task(delivery.pk)
        delivery_send_task(delivery.pk)

    assert message_ids(smtp_settings) == [delivery.message_id]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SENT, 2)


def test_the_dispatcher_retries_refusals_after_the_backoff(smtp_settings):
    _letter, deliveries = plan_invitations(3)
    smtp_settings.refuse_next = 2

    with at(NOW):
        first = deliveries_dispatch()
    with at(NOW + timedelta(seconds=4)):
        early = deliveries_dispatch()
    with at(NOW + timedelta(seconds=5)):
        later = deliveries_dispatch()

    assert (first.sent, first.deferred) == (1, 2)
    assert early.sent == 0
    assert later.sent == 2
    assert sorted(message_ids(smtp_settings)) == sorted(
        d.message_id for d in deliveries
    )


def test_a_permanently_refused_address_fails_is_suppressed_and_shown(
    smtp_settings, client
):
    letter, (delivery,) = plan_invitations()
    smtp_settings.reject_recipients = {delivery.email}

    with at(NOW):
        delivery_send_task(delivery.pk)  # no exception: nothing to retry

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert "550" in delivery.last_error
    assert Suppression.objects.get().reason == Suppression.Reason.BOUNCED
    client.force_login(letter.memberships.get().user)
    page = client.get(reverse("signers:outreach", kwargs={"slug": letter.slug}))
    assert "Emails that could not be delivered" in page.content.decode()
    assert "No such user here" in page.content.decode()


def test_after_the_last_attempt_a_delivery_fails_and_organisers_see_it(
    smtp_settings, client
):
    letter, (delivery,) = plan_invitations()
    Delivery.objects.filter(pk=delivery.pk).update(attempts=DELIVERY_MAX_ATTEMPTS - 1)
    smtp_settings.refuse_next = 1

    with at(NOW):
        delivery_send_task(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert Prospect.objects.get().status == Prospect.Status.IDENTIFIED
    client.force_login(letter.memberships.get().user)
    page = client.get(reverse("signers:outreach", kwargs={"slug": letter.slug}))
    assert "Try again later" in page.content.decode()


def test_a_task_redelivered_after_its_worker_died_resends_with_the_same_message_id(
    smtp_settings,
):
    _letter, (delivery,) = plan_invitations()
    with at(NOW):
        # The first run claimed the row and died before recording the result.
        assert delivery_claim(delivery_id=delivery.pk, claimer="t-1", now=NOW)
        assert delivery_send(delivery_id=delivery.pk, claimer="t-2") == ""
        assert delivery_send(delivery_id=delivery.pk, claimer="t-1") == "sent"

    assert message_ids(smtp_settings) == [delivery.message_id]


def test_the_dispatcher_sends_deliveries_whose_task_was_lost(smtp_settings):
    plan_invitations(2)

    with at(NOW + timedelta(minutes=1)):
        result = deliveries_dispatch()

    assert result.sent == 2
    assert len(smtp_settings.messages) == 2


def test_an_unreachable_smtp_server_defers_the_chunk_without_using_attempts(
    settings, smtp_settings
):
    _letter, deliveries = plan_invitations(3)
    settings.EMAIL_PORT = free_port()  # nothing listens there

    with at(NOW):
        down = deliveries_dispatch()

    assert (down.sent, down.deferred) == (0, 3)
    rows = Delivery.objects.order_by("pk")
    assert {(d.status, d.attempts) for d in rows} == {("planned", 0)}
    assert "Connection refused" in rows[0].last_error or "Errno" in rows[0].last_error
    settings.EMAIL_PORT = smtp_settings.port
    with at(NOW + timedelta(seconds=5)):
        up = deliveries_dispatch()
    assert up.sent == 3
    assert sorted(message_ids(smtp_settings)) == sorted(
        d.message_id for d in deliveries
    )
