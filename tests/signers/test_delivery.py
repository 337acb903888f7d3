"""Outreach emails through the outbox's dispatcher and a real SMTP server."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from coalition.outbox.dispatcher import outbox_dispatch
from coalition.outbox.models import OutboxMessage
from signers.models import Prospect, ReminderSchedule, Suppression
from signers.services.outreach import invitations_send
from tests.conftest import free_port
from tests.factories import ProspectFactory, circulating_letter
from tests.signers.helpers import batch_messages, deliveries_dispatch

pytestmark = pytest.mark.django_db
# Later than any real clock the tests run under: invitations planned now are due.
NOW = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
Status = OutboxMessage.Status


def at(when):
    return time_machine.travel(when, tick=False)


def plan_invitations(count=1):
    letter = circulating_letter()
    ReminderSchedule.objects.create(letter=letter, digest_enabled=False)
    ProspectFactory.create_batch(count, letter=letter)
    batch = invitations_send(letter=letter, actor=None)
    return letter, list(batch_messages(batch).order_by("pk"))


def message_ids(sink):
    return [m["Message-ID"] for m in sink.messages]


def outreach_page(client, letter):
    client.force_login(letter.memberships.get().user)
    page = client.get(reverse("signers:outreach", kwargs={"slug": letter.slug}))
    return page.content.decode()


def test_an_invitation_goes_over_smtp_with_its_fixed_message_id(smtp_settings):
    _letter, (delivery,) = plan_invitations()

    with at(NOW):
        outbox_dispatch()

    delivery.refresh_from_db()
    assert delivery.status == OutboxMessage.Status.SENT
    assert message_ids(smtp_settings) == [delivery.message_id]
    assert smtp_settings.messages[0]["To"] == delivery.to
    assert smtp_settings.messages[0]["List-Unsubscribe-Post"] == (
        "List-Unsubscribe=One-Click"
    )


def test_a_refused_message_is_retried_after_the_backoff_and_sent_once(smtp_settings):
    _letter, (delivery,) = plan_invitations()
    smtp_settings.refuse_next = 1

    with at(NOW):
        assert outbox_dispatch().retrying == 1

    delivery.refresh_from_db()
    assert delivery.status == Status.QUEUED
    assert delivery.next_attempt_at == NOW + timedelta(seconds=5)
    assert "451" in delivery.last_error
    with at(NOW + timedelta(seconds=5)):
        outbox_dispatch()
        outbox_dispatch()

    assert message_ids(smtp_settings) == [delivery.message_id]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SENT, 2)


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
    smtp_settings.reject_recipients = {delivery.to}

    with at(NOW):
        outbox_dispatch()

    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED
    assert "550" in delivery.last_error
    assert Suppression.objects.get().reason == Suppression.Reason.BOUNCED
    page = outreach_page(client, letter)
    assert "Emails that could not be delivered" in page
    assert "No such user here" in page


def test_after_the_last_attempt_a_delivery_fails_and_organisers_see_it(
    smtp_settings, settings, client
):
    letter, (delivery,) = plan_invitations()
    OutboxMessage.objects.filter(pk=delivery.pk).update(
        attempts=settings.OUTBOX_MAX_ATTEMPTS - 1
    )
    smtp_settings.refuse_next = 1

    with at(NOW):
        outbox_dispatch()

    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED
    assert Prospect.objects.get().status == Prospect.Status.IDENTIFIED
    page = outreach_page(client, letter)
    assert "Try again later" in page
    assert "Send again" in page


def test_an_organiser_sends_a_failed_invitation_again_with_the_button(
    smtp_settings, client
):
    letter, (delivery,) = plan_invitations()
    OutboxMessage.objects.filter(pk=delivery.pk).update(
        status=Status.FAILED, attempts=9, last_error="451 Try again later"
    )
    outreach_page(client, letter)
    retry = reverse("signers:outreach-retry", kwargs={"slug": letter.slug})

    assert client.get(retry).status_code == 405  # nothing changes on GET
    response = client.post(retry, {"message": [delivery.pk]})
    with at(NOW):
        outbox_dispatch()

    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SENT, 1)
    assert message_ids(smtp_settings) == [delivery.message_id]
    assert Prospect.objects.get().status == Prospect.Status.INVITED
    assert letter.audit_events.filter(action="emails.retried").exists()


def test_a_prospect_whose_invitation_failed_can_be_invited_again(smtp_settings):
    letter, (delivery,) = plan_invitations()
    OutboxMessage.objects.filter(pk=delivery.pk).update(status=Status.FAILED)

    batch = invitations_send(letter=letter, actor=None)
    with at(NOW):
        outbox_dispatch()

    assert batch is not None
    assert list(batch_messages(batch)) == [delivery]
    delivery.refresh_from_db()
    assert delivery.status == Status.SENT
    assert message_ids(smtp_settings) == [delivery.message_id]


def test_retrying_names_only_the_letters_own_failed_emails(client, smtp_settings):
    letter, (delivery,) = plan_invitations()
    _other, (elsewhere,) = plan_invitations()
    OutboxMessage.objects.update(status=Status.FAILED)
    outreach_page(client, letter)

    client.post(
        reverse("signers:outreach-retry", kwargs={"slug": letter.slug}),
        {"message": [elsewhere.pk]},
    )

    statuses = set(OutboxMessage.objects.values_list("pk", "status"))
    assert statuses == {(delivery.pk, Status.FAILED), (elsewhere.pk, Status.FAILED)}


def test_a_worker_killed_mid_send_is_resent_with_the_same_message_id(
    smtp_settings, settings
):
    _letter, (delivery,) = plan_invitations()
    # A dispatcher claimed the row and died before recording the result.
    OutboxMessage.objects.filter(pk=delivery.pk).update(
        status=Status.SENDING, claimed_at=NOW, attempts=1
    )
    with at(NOW + timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT - 1)):
        assert outbox_dispatch().claimed == 0
    with at(NOW + timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT + 1)):
        assert outbox_dispatch().sent == 1

    assert message_ids(smtp_settings) == [delivery.message_id]


def test_the_dispatcher_sends_deliveries_whose_kick_was_lost(smtp_settings):
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
    rows = OutboxMessage.objects.order_by("pk")
    assert {(d.status, d.attempts) for d in rows} == {("queued", 0)}
    assert "Connection refused" in rows[0].last_error or "Errno" in rows[0].last_error
    settings.EMAIL_PORT = smtp_settings.port
    with at(NOW + timedelta(seconds=5)):
        up = deliveries_dispatch()
    assert up.sent == 3
    assert sorted(message_ids(smtp_settings)) == sorted(
        d.message_id for d in deliveries
    )
