"""Updates, calls, the signer list digest and re-issue, through the delivery engine."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from icalendar import Calendar

from coalition.tokens import make_token
from letters.models import Letter, Membership
from letters.services.lifecycle import letter_close
from signers.models import (
    CallInvitation,
    Delivery,
    ReissueOptIn,
    ReminderSchedule,
    Signature,
    Suppression,
)
from signers.planning.updates import consenting_signers, update_audience
from signers.selectors.signatures import signature_count_public
from signers.services.communications import (
    call_create,
    call_notes_post,
    call_rsvp,
    call_update,
    signer_list_digest_set,
    update_create,
    update_fan_out,
    update_send,
    update_send_test,
)
from signers.services.reissue import letter_reissue
from signers.services.sending import deliveries_dispatch
from signers.tasks import delivery_send_task
from tests.factories import (
    ProspectFactory,
    SignatureFactory,
    UserFactory,
    circulating_letter,
)

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)  # a Monday
K = Delivery.Kind


def at(when):
    return time_machine.travel(when, tick=False)


def quiet_letter(**kwargs):
    letter = circulating_letter(**kwargs)
    ReminderSchedule.objects.create(letter=letter, digest_enabled=False)
    return letter


def send_all_planned():
    for pk in Delivery.objects.filter(status="planned").values_list("pk", flat=True):
        delivery_send_task(pk)


def draft(letter, audience="signers", subject="News from the coalition"):
    return update_create(
        letter=letter,
        actor=None,
        subject=subject,
        body="We met the **Council**.",
        audience=audience,
    )


# --- Updates -------------------------------------------------------------------


def test_update_audience_respects_consents_unsubscribes_and_bounces():
    letter = quiet_letter()
    wants = SignatureFactory(letter=letter, consent_updates=True)
    SignatureFactory(letter=letter, consent_updates=False)
    unsubscribed = SignatureFactory(letter=letter, consent_updates=True)
    bounced = SignatureFactory(letter=letter, consent_updates=True)
    SignatureFactory(letter=letter, consent_updates=True, status="pending")
    SignatureFactory(letter=letter, consent_updates=True, status="withdrawn")
    Suppression.objects.create(
        letter=letter, email=unsubscribed.email.upper(), reason="unsubscribed"
    )
    Suppression.objects.create(letter=letter, email=bounced.email, reason="bounced")
    waiting = ProspectFactory(letter=letter, status="invited", invited_at=NOW)
    ProspectFactory(letter=letter, status="declined", invited_at=NOW)
    ProspectFactory(letter=letter, status="identified")

    signers, invitees = update_audience(letter, "both")
    assert list(signers) == [wants]
    assert list(invitees) == [waiting]

    update_send(update=draft(letter, "both"), actor=None)
    assert set(Delivery.objects.values_list("email", flat=True)) == {
        wants.email,
        waiting.email,
    }
    update_send(update=draft(letter, "invitees", "Two"), actor=None)
    assert Delivery.objects.filter(email=waiting.email).count() == 2
    assert Delivery.objects.filter(email=wants.email).count() == 1


def test_an_update_fanned_out_twice_reaches_each_recipient_once(
    mailoutbox, django_capture_on_commit_callbacks
):
    letter = quiet_letter()
    SignatureFactory.create_batch(3, letter=letter, consent_updates=True)
    update = draft(letter)

    with django_capture_on_commit_callbacks(execute=True):
        assert update_send(update=update, actor=None) == 3
    ids = list(update.deliveries.values_list("pk", flat=True))
    for _run in range(2):  # the fan-out and every send task run twice
        update_fan_out(update_id=update.pk)
        for pk in ids:
            delivery_send_task(pk)
    deliveries_dispatch()

    assert len(mailoutbox) == 3
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        letter.signatures.values_list("email", flat=True)
    )
    assert "<strong>Council</strong>" in mailoutbox[0].alternatives[0][0]
    with pytest.raises(ValidationError, match="already been sent"):
        update_send(update=update, actor=None)


def test_an_update_refused_at_the_smtp_server_suppresses_the_bounced_address(
    smtp_settings,
):
    letter = quiet_letter()
    signer = SignatureFactory(letter=letter, consent_updates=True)
    smtp_settings.reject_recipients = {signer.email}
    update_send(update=draft(letter), actor=None)

    send_all_planned()

    assert Delivery.objects.get().status == Delivery.Status.FAILED
    assert Suppression.objects.get(letter=letter).reason == "bounced"
    assert consenting_signers(letter).count() == 0


def test_the_weekly_limit_refuses_a_fourth_update_until_a_week_has_passed(settings):
    settings.SIGNERS_UPDATES_PER_WEEK = 3
    letter = quiet_letter(time_zone="Europe/Paris")
    SignatureFactory(letter=letter, consent_updates=True)
    for day in range(3):
        with at(NOW + timedelta(days=day)):
            update_send(update=draft(letter, subject=f"#{day}"), actor=None)
    fourth = draft(letter, subject="#4")

    with at(NOW + timedelta(days=6)), pytest.raises(ValidationError) as refused:
        update_send(update=fourth, actor=None)
    assert refused.value.code == "rate_limited"
    # A week after the first one (11:00 in Paris), the next may go.
    assert "Monday 11 May, 11:00 (Europe/Paris time)" in refused.value.messages[0]
    assert fourth.deliveries.count() == 0

    with at(NOW + timedelta(days=7, minutes=1)):
        assert update_send(update=fourth, actor=None) == 1


def test_an_update_carries_one_click_unsubscribe_that_works(mailoutbox, client):
    letter = quiet_letter()
    signer = SignatureFactory(letter=letter, consent_updates=True)
    update_send(update=draft(letter), actor=None)
    send_all_planned()

    (message,) = mailoutbox
    assert message.extra_headers["List-Unsubscribe-Post"] == (
        "List-Unsubscribe=One-Click"
    )
    url = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert url in message.body
    assert client.get(url).status_code == 200
    assert not Suppression.objects.exists()  # a GET only shows the button

    client.post(url, {"List-Unsubscribe": "One-Click"})

    assert Suppression.objects.get().email == signer.email
    signer.refresh_from_db()
    assert signer.consent_updates is False


def test_a_test_goes_to_the_organiser_only_and_does_not_count(mailoutbox, settings):
    settings.SIGNERS_UPDATES_PER_WEEK = 1
    letter = quiet_letter()
    organiser = letter.memberships.get().user
    SignatureFactory(letter=letter, consent_updates=True)
    update = draft(letter)

    update_send_test(update=update, actor=organiser)
    update_send_test(update=update, actor=organiser)
    send_all_planned()

    assert [m.to for m in mailoutbox] == [[organiser.email]] * 2
    assert mailoutbox[0].subject.startswith("[Test]")
    assert update_send(update=update, actor=organiser) == 1


def test_organisers_send_an_update_from_the_page_and_see_each_recipient(client):
    letter = quiet_letter()
    organiser = letter.memberships.get().user
    signer = SignatureFactory(letter=letter, consent_updates=True)
    client.force_login(organiser)
    new = reverse("signers:update-new", kwargs={"slug": letter.slug})

    response = client.post(
        new, {"subject": "Hello", "body": "Text", "audience": "signers"}
    )
    update = letter.updates.get()
    assert update.sent_at is None
    kwargs = {"slug": letter.slug, "pk": update.pk}
    assert response.url == reverse("signers:update-detail", kwargs=kwargs)
    client.post(reverse("signers:update-send", kwargs=kwargs))

    page = client.get(reverse("signers:update-detail", kwargs=kwargs)).content.decode()
    assert signer.email in page
    assert "hx-get" in page  # still sending: the progress polls
    tab = client.get(reverse("signers:updates", kwargs={"slug": letter.slug}))
    assert "Hello" in tab.content.decode()


# --- Calls ---------------------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 7, 1, 18, 0, tzinfo=BERLIN)  # 16:00 UTC


def schedule_call(letter, starts_at=START):
    with at(NOW):
        return call_create(
            letter=letter,
            actor=None,
            title="Coalition call",
            starts_at=starts_at,
            duration_minutes=45,
            join_url="https://meet.example.org/coalition",
            agenda="1. Where we are\n2. Next steps",
        )


def test_a_call_invitation_carries_a_valid_ics_at_the_right_instant(mailoutbox):
    letter = quiet_letter(time_zone="Europe/Berlin")
    signer = SignatureFactory(letter=letter, consent_updates=True)
    SignatureFactory(letter=letter, consent_updates=False)
    call = schedule_call(letter)
    with at(NOW):
        send_all_planned()

    organiser = letter.memberships.get().user
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        [signer.email, organiser.email]
    )
    message = next(m for m in mailoutbox if m.to == [signer.email])
    ((name, content, mimetype),) = message.attachments
    assert name == "invitation.ics"
    assert mimetype.startswith("text/calendar")
    calendar = Calendar.from_ical(content)
    assert calendar["METHOD"] == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"call-{call.pk}@testserver"
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event.decoded("DTSTART").astimezone(UTC) == datetime(
        2026, 7, 1, 16, 0, tzinfo=UTC
    )
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=45)
    assert calendar.walk("VTIMEZONE")[0]["TZID"] == "Europe/Berlin"
    assert "rsvp" in message.body


def test_call_reminders_fire_once_at_sixty_and_five_minutes(mailoutbox):
    letter = quiet_letter(time_zone="Europe/Berlin")
    SignatureFactory.create_batch(2, letter=letter, consent_updates=True)
    call = schedule_call(letter)
    declined = call.invitations.filter(signature__isnull=False).first()
    call_rsvp(invitation_id=declined.pk, response="no")

    def reminders_at(minutes_before):
        with at(START - timedelta(minutes=minutes_before)):
            deliveries_dispatch()
        return Delivery.objects.filter(kind=K.CALL_REMINDER, status="sent").count()

    assert reminders_at(61) == 0
    assert reminders_at(60) == 2  # the other signer and the organiser
    assert reminders_at(59) == 2
    assert reminders_at(6) == 2
    assert reminders_at(5) == 4
    assert reminders_at(1) == 4
    assert reminders_at(0) == 4
    subjects = [m.subject for m in mailoutbox if "call" in m.subject.lower()]
    assert sum("In an hour" in s for s in subjects) == 2
    assert sum("Starting in 5 minutes" in s for s in subjects) == 2


def test_moving_a_call_re_plans_its_reminders_and_updates_the_invitation(mailoutbox):
    letter = quiet_letter(time_zone="Europe/Berlin")
    SignatureFactory(letter=letter, consent_updates=True)
    call = schedule_call(letter)
    later = START + timedelta(days=1)
    with at(START - timedelta(minutes=60)):
        deliveries_dispatch()
        call = call_update(
            call=call,
            actor=None,
            title=call.title,
            starts_at=later,
            duration_minutes=45,
            join_url=call.join_url,
        )
        deliveries_dispatch()
    assert call.sequence == 1
    invitations = Delivery.objects.filter(kind=K.CALL_INVITATION, status="sent")
    assert invitations.count() == 4  # two people, before and after the move

    with at(later - timedelta(minutes=60)):
        deliveries_dispatch()
    reminders = Delivery.objects.filter(kind=K.CALL_REMINDER, status="sent")
    assert reminders.count() == 4  # the old start's and the new start's
    ics = Calendar.from_ical(mailoutbox[-3].attachments[0][1])
    (event,) = ics.walk("VEVENT")
    assert event["SEQUENCE"] == 1


def test_rsvp_get_shows_buttons_and_post_records_once(client):
    letter = quiet_letter()
    SignatureFactory(letter=letter, consent_updates=True)
    call = schedule_call(letter, starts_at=NOW + timedelta(days=3))
    invitation = call.invitations.first()
    url = reverse("signers:call-rsvp", args=[make_token("rsvp", invitation.pk)])

    assert "Yes, I will join" in client.get(url).content.decode()
    invitation.refresh_from_db()
    assert invitation.response == ""

    client.post(url, {"response": "yes"})
    again = client.post(url, {"response": "yes"}).content.decode()

    invitation.refresh_from_db()
    assert invitation.response == CallInvitation.Response.YES
    assert "already your answer" in again


def test_call_notes_are_emailed_once_to_everyone_invited(mailoutbox):
    letter = quiet_letter()
    SignatureFactory.create_batch(2, letter=letter, consent_updates=True)
    call = schedule_call(letter, starts_at=NOW + timedelta(hours=1))
    with at(NOW - timedelta(minutes=1)), pytest.raises(ValidationError):
        call_notes_post(call=call, actor=None, notes="Too early")

    with at(NOW + timedelta(hours=2)):
        assert call_notes_post(call=call, actor=None, notes="We agreed.")
        send_all_planned()
        assert not call_notes_post(call=call, actor=None, notes="Fixed.")
        send_all_planned()

    notes = [m for m in mailoutbox if m.subject.startswith("Notes")]
    assert len(notes) == 3
    assert "We agreed." in notes[0].body


def test_the_call_list_shows_attendance_per_call(client):
    letter = quiet_letter()
    SignatureFactory.create_batch(3, letter=letter, consent_updates=True)
    call = schedule_call(letter, starts_at=NOW + timedelta(days=2))
    first, second, *_rest = call.invitations.all()
    call_rsvp(invitation_id=first.pk, response="yes")
    call_rsvp(invitation_id=second.pk, response="no")
    client.force_login(letter.memberships.get().user)

    with at(NOW):
        page = client.get(reverse("signers:calls", kwargs={"slug": letter.slug}))

    (row,) = page.context["calls"]
    assert (row.invited, row.yes, row.no) == (4, 1, 1)


# --- Signer list digest --------------------------------------------------------


def test_the_weekly_signer_list_goes_once_a_week_to_consenting_signers(mailoutbox):
    letter = quiet_letter()
    signer_list_digest_set(letter=letter, actor=None, frequency="weekly")
    keen = SignatureFactory(letter=letter, consent_updates=True, display_name="Keen")
    SignatureFactory(letter=letter, consent_updates=False, display_name="Quiet")
    monday = NOW.replace(hour=8)  # digest hour 8 in UTC

    for when in (monday - timedelta(minutes=1), monday, monday + timedelta(days=2)):
        with at(when):
            deliveries_dispatch()
    assert [m.to for m in mailoutbox] == [[keen.email]]
    assert "Keen" in mailoutbox[0].body
    assert "Quiet" in mailoutbox[0].body  # the whole list, not only consenters

    with at(monday + timedelta(days=7)):
        deliveries_dispatch()
    assert len(mailoutbox) == 2
    basis = set(Delivery.objects.values_list("basis", flat=True))
    assert basis == {"2026-W19", "2026-W20"}


def test_the_signer_list_is_off_by_default():
    letter = quiet_letter()
    SignatureFactory(letter=letter, consent_updates=True)
    with at(NOW.replace(hour=12)):
        deliveries_dispatch()
    assert not Delivery.objects.exists()


# --- Re-issue ------------------------------------------------------------------


def closed_letter_with_signers(count=3):
    owner = UserFactory()
    letter = circulating_letter(owner=owner)
    SignatureFactory.create_batch(count, letter=letter, consent_updates=True)
    letter_close(letter=letter, actor=owner)
    return letter, owner


def test_a_re_issued_letter_lists_nobody_without_an_opt_in(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    letter, owner = closed_letter_with_signers()
    with django_capture_on_commit_callbacks(execute=True):
        new = letter_reissue(
            letter=letter,
            actor=owner,
            title="Clean air, again",
            addressee="To the Regional Assembly",
        )
    send_all_planned()

    assert new.status == Letter.Status.CIRCULATING
    assert new.current_revision.body == letter.current_revision.body
    assert new.current_revision.addressee == "To the Regional Assembly"
    assert not Signature.objects.filter(letter=new).exists()
    assert signature_count_public(letter=new) == 0
    assert len([m for m in mailoutbox if "sign again" in m.subject]) == 3

    opt_in = ReissueOptIn.objects.first()
    url = reverse("signers:reissue-opt-in", args=[make_token("reissue", opt_in.pk)])
    client.get(url)
    assert not Signature.objects.filter(letter=new).exists()

    client.post(url)
    again = client.post(url).content.decode()

    (signature,) = Signature.objects.filter(letter=new)
    assert signature.status == Signature.Status.CONFIRMED
    assert signature.revision == new.current_revision
    assert signature.display_name == opt_in.earlier.display_name
    assert signature_count_public(letter=new) == 1
    assert "already joined" in again


def test_only_an_owner_re_issues_and_only_a_closed_letter():
    letter, owner = closed_letter_with_signers(1)
    editor = UserFactory()
    Membership.objects.create(letter=letter, user=editor, role="editor")
    with pytest.raises(PermissionDenied):
        letter_reissue(letter=letter, actor=editor, title="X", addressee="Y")
    open_letter = circulating_letter(owner=owner)
    with pytest.raises(ValidationError):
        letter_reissue(letter=open_letter, actor=owner, title="X", addressee="Y")
