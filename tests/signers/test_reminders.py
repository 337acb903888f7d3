import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from letters.models import Membership
from signers.models import (
    Delivery,
    Prospect,
    ReminderSchedule,
    Signature,
    Suppression,
)
from signers.services.sending import (
    deliveries_claim_due,
    deliveries_dispatch,
    deliveries_plan_due,
)
from signers.tasks import deliveries_dispatch_task
from tests.factories import (
    ProspectFactory,
    RevisionFactory,
    SignatureFactory,
    UserFactory,
    circulating_letter,
)

pytestmark = pytest.mark.django_db

SOFT = datetime(2026, 6, 10, 17, 0, tzinfo=UTC)
HARD = datetime(2026, 6, 20, 17, 0, tzinfo=UTC)
K = Delivery.Kind
P = Prospect.Status


def at(when):
    return time_machine.travel(when, tick=False)


def invited(letter, status=P.INVITED, **kwargs):
    return ProspectFactory(
        letter=letter, status=status, invited_at=SOFT - timedelta(days=20), **kwargs
    )


def no_digest(letter, **fields):
    return ReminderSchedule.objects.create(
        letter=letter, digest_enabled=False, **fields
    )


def dispatch():
    return deliveries_dispatch()


def recipients(mailoutbox, subject_part=""):
    return sorted(m.to[0] for m in mailoutbox if subject_part in m.subject)


def test_soft_reminders_go_3_days_and_1_day_before_to_unanswered_invitees(
    mailoutbox,
):
    letter = circulating_letter(soft_deadline=SOFT, hard_deadline=HARD)
    no_digest(letter, last_call_days_before=None)
    waiting = [
        invited(letter),
        invited(letter, P.OPENED),
        invited(letter, P.NEEDS_TIME),
    ]

    with at(SOFT - timedelta(days=3, minutes=1)):
        dispatch()
    assert mailoutbox == []

    with at(SOFT - timedelta(days=3)):
        dispatch()
    assert recipients(mailoutbox) == sorted(p.email for p in waiting)
    assert all("Reminder" in m.subject for m in mailoutbox)

    with at(SOFT - timedelta(days=2)):
        dispatch()
    assert len(mailoutbox) == 3

    with at(SOFT - timedelta(hours=23)):
        dispatch()
    assert len(mailoutbox) == 6
    assert Delivery.objects.filter(kind=K.SOFT_REMINDER, status="sent").count() == 6
    assert Prospect.objects.filter(last_contacted_at__isnull=False).count() == 3


def test_reminder_names_the_deadline_in_the_letters_time_zone_and_can_unsubscribe(
    mailoutbox,
):
    letter = circulating_letter(soft_deadline=SOFT, time_zone="Europe/Paris")
    no_digest(letter)
    prospect = invited(letter, contact_name="Ada Lovelace")

    with at(SOFT - timedelta(days=1)):
        dispatch()

    (message,) = mailoutbox
    assert "Dear Ada Lovelace," in message.body
    assert "Wednesday 10 June 2026, 19:00 (Europe/Paris time)" in message.body
    assert "http://testserver/invite/" in message.body
    delivery = Delivery.objects.get(prospect=prospect)
    assert message.extra_headers["Message-ID"] == delivery.message_id
    assert message.extra_headers["List-Unsubscribe"].startswith("<http://testserver/u/")


def test_excluded_people_get_no_reminder(mailoutbox):
    letter = circulating_letter(soft_deadline=SOFT, hard_deadline=HARD)
    no_digest(letter, announce_hard_deadline=True)
    waiting = invited(letter)
    for status in (P.SIGNED, P.DECLINED, P.DO_NOT_CONTACT):
        invited(letter, status)
    ProspectFactory(letter=letter, status=P.IDENTIFIED)  # never invited
    unsubscribed, bounced, signed_anyway = (
        invited(letter),
        invited(letter),
        invited(letter),
    )
    Suppression.objects.create(
        letter=letter, email=unsubscribed.email.upper(), reason="unsubscribed"
    )
    Suppression.objects.create(letter=letter, email=bounced.email, reason="bounced")
    SignatureFactory(letter=letter, email=signed_anyway.email)

    for when in (
        SOFT - timedelta(days=3),
        SOFT - timedelta(days=1),
        SOFT + timedelta(minutes=1),
        HARD - timedelta(days=1),
    ):
        with at(when):
            dispatch()

    assert len(mailoutbox) == 4
    assert set(recipients(mailoutbox)) == {waiting.email}


def test_dispatcher_run_twice_in_a_row_sends_each_reminder_once(mailoutbox):
    letter = circulating_letter(soft_deadline=SOFT)
    no_digest(letter)
    for _ in range(5):
        invited(letter)

    with at(SOFT - timedelta(days=1)):
        first = deliveries_dispatch_task()
        second = deliveries_dispatch_task()

    assert first["sent"] == 5
    assert second == {
        "reclaimed": 0, "planned": 0, "sent": 0, "failed": 0, "skipped": 0,
        "deferred": 0,
    }  # fmt: skip
    assert len(mailoutbox) == 5
    assert len({m.extra_headers["Message-ID"] for m in mailoutbox}) == 5


@pytest.mark.django_db(transaction=True)
def test_dispatcher_run_twice_at_once_sends_each_reminder_once(settings, mailoutbox):
    settings.DELIVERY_CHUNK_SIZE = 3  # many small claims, so the two interleave
    letter = circulating_letter(soft_deadline=SOFT)
    no_digest(letter)
    for _ in range(40):
        invited(letter)
    results, errors = [], []
    start = threading.Barrier(2)

    def run():
        try:
            start.wait()
            results.append(deliveries_dispatch())
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    with at(SOFT - timedelta(days=1)):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)

    assert errors == []
    assert sum(r.sent for r in results) == 40
    ids = [m.extra_headers["Message-ID"] for m in mailoutbox]
    assert len(ids) == 40
    assert len(set(ids)) == 40
    assert Delivery.objects.filter(status="sent").count() == 40


def test_moving_the_deadline_later_plans_the_reminders_again(mailoutbox):
    letter = circulating_letter(soft_deadline=SOFT)
    no_digest(letter)
    prospect = invited(letter)
    with at(SOFT - timedelta(days=3)):
        dispatch()
    assert len(mailoutbox) == 1

    moved = SOFT + timedelta(days=7)
    letter.soft_deadline = moved
    letter.save()
    with at(SOFT - timedelta(days=1)):  # the old 1-day reminder is not due any more
        dispatch()
    assert len(mailoutbox) == 1

    with at(moved - timedelta(days=3)):
        dispatch()
    assert len(mailoutbox) == 2
    assert "Wednesday 17 June 2026" in mailoutbox[1].body
    keys = set(prospect.deliveries.values_list("basis", flat=True))
    assert keys == {"2026-06-10T17:00:00+00:00/3d", "2026-06-17T17:00:00+00:00/3d"}


def test_a_reminder_planned_for_the_old_deadline_is_skipped_not_sent(mailoutbox):
    letter = circulating_letter(soft_deadline=SOFT)
    no_digest(letter)
    invited(letter)
    with at(SOFT - timedelta(days=1)):
        deliveries_plan_due(now=SOFT - timedelta(days=1))
        letter.soft_deadline = SOFT + timedelta(days=30)
        letter.save()
        dispatch()

    assert mailoutbox == []
    assert Delivery.objects.get().status == Delivery.Status.SKIPPED
    assert Delivery.objects.get().last_error == "The schedule or the deadline changed."


def test_moving_the_deadline_earlier_sends_one_reminder_not_two(mailoutbox):
    letter = circulating_letter(soft_deadline=SOFT + timedelta(days=10))
    no_digest(letter)
    invited(letter)
    letter.soft_deadline = SOFT
    letter.save()

    with at(SOFT - timedelta(hours=12)):
        dispatch()

    assert len(mailoutbox) == 1
    assert Delivery.objects.get().basis.endswith("/1d")


def test_hard_deadline_announcement_goes_after_the_soft_deadline_only_if_chosen(
    mailoutbox,
):
    letter = circulating_letter(soft_deadline=SOFT, hard_deadline=HARD)
    schedule = no_digest(letter, soft_days_before=[], last_call_days_before=None)
    invited(letter)
    with at(SOFT + timedelta(hours=1)):
        dispatch()
    assert mailoutbox == []

    schedule.announce_hard_deadline = True
    schedule.save()
    with at(SOFT + timedelta(hours=2)):
        dispatch()
        dispatch()

    (message,) = mailoutbox
    assert "still time" in message.subject
    assert "Saturday 20 June 2026, 17:00 (UTC time)" in message.body


def test_last_call_goes_one_day_before_signing_closes(mailoutbox):
    letter = circulating_letter(soft_deadline=SOFT, hard_deadline=HARD)
    no_digest(letter, soft_days_before=[])
    invited(letter)
    with at(HARD - timedelta(days=1, minutes=1)):
        dispatch()
    assert mailoutbox == []

    with at(HARD - timedelta(days=1)):
        dispatch()
    with at(HARD - timedelta(hours=1)):
        dispatch()

    (message,) = mailoutbox
    assert message.subject.startswith("Last call")


def test_after_the_hard_deadline_the_organisers_are_told_once(mailoutbox):
    letter = circulating_letter(hard_deadline=HARD)
    no_digest(letter, last_call_days_before=None)
    editor = UserFactory()
    Membership.objects.create(letter=letter, user=editor, role="editor")
    SignatureFactory.create_batch(2, letter=letter)
    invited(letter)

    with at(HARD - timedelta(minutes=1)):
        dispatch()
    assert mailoutbox == []
    with at(HARD + timedelta(minutes=1)):
        dispatch()
    with at(HARD + timedelta(hours=5)):
        dispatch()

    owner = letter.memberships.get(role="owner").user
    assert recipients(mailoutbox) == sorted([owner.email, editor.email])
    assert all("Signing has closed" in m.subject for m in mailoutbox)
    assert "2 confirmed signatures." in mailoutbox[0].body


def test_unconfirmed_open_join_signatures_get_one_reminder(mailoutbox):
    letter = circulating_letter()
    no_digest(letter)
    start = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    with at(start):
        pending = SignatureFactory(
            letter=letter, status=Signature.Status.PENDING, source="open_join"
        )
        SignatureFactory(letter=letter, status=Signature.Status.CONFIRMED)

    # The schedule says two days, but a sign-up expires after 48 hours: it is
    # reminded halfway, while it can still be confirmed.
    with at(start + timedelta(hours=23)):
        dispatch()
    assert mailoutbox == []
    with at(start + timedelta(hours=24)):
        dispatch()
    with at(start + timedelta(hours=40)):
        dispatch()

    (message,) = mailoutbox
    assert message.to == [pending.email]
    assert "http://testserver/s/confirm/" in message.body


def test_expired_sign_ups_get_no_reminder(mailoutbox, settings):
    settings.SIGNERS_PENDING_EXPIRY_HOURS = 12
    letter = circulating_letter()
    no_digest(letter, confirm_after_days=1)
    start = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    with at(start):
        SignatureFactory(
            letter=letter, status=Signature.Status.PENDING, source="open_join"
        )

    with at(start + timedelta(hours=25)):  # the first run after it expired
        dispatch()

    assert mailoutbox == []


def test_signers_who_must_reconfirm_get_a_reminder_after_the_material_revision(
    mailoutbox,
):
    letter = circulating_letter()
    no_digest(letter)
    published = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    with at(published):
        revision = RevisionFactory(letter=letter, number=2, kind="material")
    letter.current_revision = revision
    letter.last_material_revision_number = 2
    letter.save()
    waiting = SignatureFactory(
        letter=letter, status=Signature.Status.NEEDS_RECONFIRMATION
    )
    SignatureFactory(letter=letter, status=Signature.Status.CONFIRMED)
    SignatureFactory(letter=letter, status=Signature.Status.WITHDRAWN)

    with at(published + timedelta(days=2)):
        dispatch()
    assert mailoutbox == []
    with at(published + timedelta(days=3)):
        dispatch()
        dispatch()

    (message,) = mailoutbox
    assert message.to == [waiting.email]
    assert "http://testserver/s/reconfirm/" in message.body


def test_daily_digest_goes_to_each_organiser_with_follow_ups_and_new_signatures(
    mailoutbox,
):
    letter = circulating_letter(time_zone="America/New_York")
    ReminderSchedule.objects.create(letter=letter, digest_hour=8)
    viewer = UserFactory()
    Membership.objects.create(letter=letter, user=viewer, role="viewer")
    day = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)  # 08:00 in New York
    ProspectFactory(letter=letter, organisation="Due Today", next_follow_up=day.date())
    ProspectFactory(
        letter=letter,
        organisation="Done Already",
        status=P.SIGNED,
        next_follow_up=day.date(),
    )
    with at(day - timedelta(hours=3)):
        SignatureFactory(letter=letter, display_name="Fresh Signers")

    with at(day - timedelta(minutes=1)):
        dispatch()
    assert mailoutbox == []
    with at(day):
        dispatch()
    with at(day + timedelta(hours=2)):
        dispatch()

    assert len(mailoutbox) == 2
    body = mailoutbox[0].body
    assert "Due Today" in body
    assert "Done Already" not in body
    assert "Fresh Signers" in body

    with at(day + timedelta(days=1)):  # the follow-up is still due the next day
        dispatch()
    assert len(mailoutbox) == 4
    assert "Fresh Signers" not in mailoutbox[3].body


def test_digest_with_nothing_to_report_is_not_sent(mailoutbox):
    letter = circulating_letter()
    ReminderSchedule.objects.create(letter=letter, digest_hour=8)

    with at(datetime(2026, 5, 4, 8, 30, tzinfo=UTC)):
        dispatch()

    assert mailoutbox == []
    assert Delivery.objects.get(kind=K.DIGEST).status == Delivery.Status.SKIPPED


def test_draft_and_closed_letters_send_no_reminders(mailoutbox):
    letter = circulating_letter(soft_deadline=SOFT)
    invited(letter)
    for status in ("draft", "closed"):
        letter.status = status
        letter.save()
        with at(SOFT - timedelta(days=1)):
            dispatch()
    assert mailoutbox == []


def test_a_stale_claim_is_taken_back_and_sent_with_the_same_message_id(
    settings, mailoutbox
):
    letter = circulating_letter(soft_deadline=SOFT)
    no_digest(letter)
    invited(letter)
    now = SOFT - timedelta(days=1)
    deliveries_plan_due(now=now)
    (crashed,) = deliveries_claim_due(now=now, claimer="dead", limit=10)

    with at(now + timedelta(seconds=settings.DELIVERY_CLAIM_TIMEOUT - 1)):
        assert dispatch().sent == 0
    with at(now + timedelta(seconds=settings.DELIVERY_CLAIM_TIMEOUT + 1)):
        result = dispatch()

    assert (result.reclaimed, result.sent) == (1, 1)
    (message,) = mailoutbox
    assert message.extra_headers["Message-ID"] == crashed.message_id
    assert Delivery.objects.get().attempts == 2
