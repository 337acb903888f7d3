"""Invitations that sound like a person: the organiser's name and address,
their words, a personal note per prospect, the preview of the exact email,
and reminders from the same sender that wait for the schedule's interval."""

from datetime import UTC, datetime, timedelta
from email.utils import parseaddr

import pytest
import time_machine
from django.urls import reverse

from coalition.outbox.models import OutboxMessage
from coalition.outbox.services import outbox_enqueue_many
from letters.models import Membership
from signers.models import EmailKind, InvitationBatch, Prospect, ReminderSchedule
from signers.models.outreach import sender_address
from signers.planning.reminders import new_delivery
from signers.planning.skips import TOO_SOON
from signers.services.outreach import invitations_send
from tests.factories import ProspectFactory, UserFactory, circulating_letter
from tests.signers.helpers import deliveries_dispatch

pytestmark = pytest.mark.django_db
P = Prospect.Status
SOFT = datetime(2026, 6, 10, 17, 0, tzinfo=UTC)
NOTE = (
    "Maria, we spoke at the assembly. <script>alert(1)</script> "
    '[link](javascript:alert("x"))'
)


def url(name, letter):
    return reverse(f"signers:{name}", kwargs={"slug": letter.slug})


@pytest.fixture
def maria():
    return UserFactory(display_name="Maria Lopez", email="maria@ngo.example")


@pytest.fixture
def letter(maria):
    return circulating_letter(owner=maria, title="Clean air now")


@pytest.fixture
def organiser(client, maria):
    client.force_login(maria)
    return client


def send_step(prospects, **fields):
    data = {"selected": [p.pk for p in prospects], "send": "1"}
    data.setdefault("subject", "")
    data.setdefault("opening", "")
    return {**data, **fields}


def test_an_invitation_comes_from_the_organiser_in_their_words_with_the_note(
    organiser, letter, maria, mailoutbox
):
    prospect = ProspectFactory(letter=letter, organisation="Parents & Teachers")

    response = organiser.post(
        url("outreach-invite", letter),
        send_step(
            [prospect],
            subject="A letter for {organisation}",
            opening="We would love {organisation} on board.",
            **{f"note-{prospect.pk}": NOTE},
        ),
    )
    assert response.status_code == 302
    deliveries_dispatch()

    (message,) = mailoutbox
    sent = message.message()
    assert sent["From"] == '"Maria Lopez via Coalition" <coalition@localhost>'
    assert sent["Reply-To"] == "maria@ngo.example"
    assert message.subject == "A letter for Parents & Teachers"
    assert "We would love Parents & Teachers on board." in message.body
    assert NOTE in message.body  # the text part: plain text, as written
    html = message.alternatives[0][0]
    assert "We would love Parents &amp; Teachers on board." in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html
    assert "javascript:" not in html.split("[link](")[0]
    assert 'href="javascript' not in html
    assert "[link](javascript:alert(&quot;x&quot;))" in html
    prospect.refresh_from_db()
    assert prospect.personal_note == NOTE
    batch = InvitationBatch.objects.get()
    assert (batch.sender_name, batch.sender_email) == ("Maria Lopez", maria.email)
    assert batch.subject == "A letter for {organisation}"


def test_the_relationship_holder_gets_the_replies(organiser, letter, mailoutbox):
    holder = UserFactory(email="juan@ngo.example")
    Membership.objects.create(letter=letter, user=holder, role="editor")
    held = ProspectFactory(letter=letter, owner=holder)
    other = ProspectFactory(letter=letter)

    organiser.post(url("outreach-invite", letter), send_step([held, other]))
    deliveries_dispatch()

    reply_to = {m.to[0]: m.reply_to for m in mailoutbox}
    assert reply_to == {
        held.email: ["juan@ngo.example"],
        other.email: ["maria@ngo.example"],
    }


def test_the_sites_wording_left_as_it_is_is_sent_as_the_site_words_it(
    organiser, letter, mailoutbox
):
    prospect = ProspectFactory(letter=letter, organisation="Green Org")
    page = organiser.post(url("outreach-compose", letter), {"selected": [prospect.pk]})
    form = page.context["form"]
    subject, opening = form["subject"].value(), form["opening"].value()
    assert subject == 'Will {organisation} sign "Clean air now"?'

    organiser.post(
        url("outreach-invite", letter),
        send_step([prospect], subject=subject, opening=opening),
    )
    deliveries_dispatch()

    batch = InvitationBatch.objects.get()
    assert (batch.subject, batch.opening) == ("", "")
    (message,) = mailoutbox
    assert message.subject == 'Will Green Org sign "Clean air now"?'
    assert "to sign <strong>Clean air now</strong>" in message.alternatives[0][0]


def test_a_sender_name_cannot_break_a_header():
    address = sender_address('Eve "the admin"\r\nBcc: all@example.org\x00')

    assert "\n" not in address and "\r" not in address and "\x00" not in address
    assert address == (
        '"Eve \\"the admin\\" Bcc: all@example.org via Coalition" <coalition@localhost>'
    )
    name, email = parseaddr(address)
    assert email == "coalition@localhost"
    assert name == 'Eve "the admin" Bcc: all@example.org via Coalition'
    assert sender_address("  ") == "coalition@localhost"


def test_a_sender_name_with_accents_is_encoded_in_the_sent_header(letter, mailoutbox):
    sender = UserFactory(display_name="Zoë Çelik")
    ProspectFactory(letter=letter)

    invitations_send(letter=letter, actor=sender)
    deliveries_dispatch()

    (message,) = mailoutbox
    raw = message.message().as_bytes()
    assert b"Bcc" not in raw
    header = message.message()["From"]
    assert header.startswith("=?utf-8?")
    assert header.endswith("<coalition@localhost>")


def test_the_send_step_previews_the_exact_email_and_saves_nothing(organiser, letter):
    first = ProspectFactory(letter=letter, organisation="Alpha", personal_note="Hi!")
    second = ProspectFactory(letter=letter, organisation="Beta")
    before = list(Prospect.objects.values())

    shown = organiser.post(url("outreach-compose", letter), {"everyone": "1"})
    assert shown.status_code == 200
    preview = shown.context["preview"]
    assert preview.from_email == '"Maria Lopez via Coalition" <coalition@localhost>'
    assert preview.reply_to == ["maria@ngo.example"]
    assert preview.to == [first.email]
    assert "Hi!" in preview.text

    edited = organiser.post(
        url("outreach-compose", letter),
        {
            "everyone": "1",
            "subject": "Join us, {organisation}",
            "opening": "An opening of my own.",
            "preview": second.pk,
            f"note-{second.pk}": "See you <b>soon</b>",
            "show": "1",
        },
    )
    page = edited.content.decode()
    assert "Join us, Beta" in page
    assert "From" in page and "Maria Lopez via Coalition" in page
    # The HTML part sits in a sandboxed frame, escaped once more as an attribute.
    assert 'sandbox srcdoc="' in page
    assert "See you &amp;lt;b&amp;gt;soon&amp;lt;/b&amp;gt;" in page
    assert "<b>soon" not in page
    htmx = organiser.post(
        url("outreach-compose", letter),
        {"everyone": "1", "subject": "Only the preview"},
        headers={"HX-Request": "true"},
    )
    assert htmx.content.decode().lstrip().startswith('<section id="invitation-preview"')
    assert "Only the preview" in htmx.content.decode()
    assert list(Prospect.objects.values()) == before
    assert not OutboxMessage.objects.exists()
    assert not InvitationBatch.objects.exists()


def test_the_send_step_is_for_editors(client, letter):
    ProspectFactory(letter=letter)
    viewer = UserFactory()
    Membership.objects.create(letter=letter, user=viewer, role="viewer")
    client.force_login(viewer)

    assert (
        client.post(url("outreach-compose", letter), {"everyone": "1"}).status_code
        == 403
    )
    client.force_login(UserFactory())
    assert client.get(url("outreach-compose", letter)).status_code == 404


def test_a_personal_note_too_long_is_refused_and_nothing_is_sent(organiser, letter):
    prospect = ProspectFactory(letter=letter)

    response = organiser.post(
        url("outreach-invite", letter),
        send_step([prospect], **{f"note-{prospect.pk}": "x" * 1001}),
    )

    assert response.status_code == 200
    assert response.context["form"].errors
    assert not OutboxMessage.objects.exists()


def test_the_prospect_form_edits_the_personal_note(organiser, letter):
    prospect = ProspectFactory(letter=letter)
    edit = reverse(
        "signers:prospect-edit", kwargs={"slug": letter.slug, "pk": prospect.pk}
    )

    response = organiser.post(
        edit,
        {
            "organisation": prospect.organisation,
            "email": prospect.email,
            "status": prospect.status,
            "personal_note": "We met in May.",
        },
    )

    assert response.status_code == 302
    prospect.refresh_from_db()
    assert prospect.personal_note == "We met in May."


# --- Reminders: the same sender, a shorter text, not too soon ------------------


def test_a_reminder_comes_from_the_batch_sender_and_is_shorter(
    letter, maria, mailoutbox
):
    letter.soft_deadline = SOFT
    letter.save()
    ReminderSchedule.objects.create(letter=letter, digest_enabled=False)
    prospect = ProspectFactory(letter=letter, personal_note="Our note.")
    with time_machine.travel(SOFT - timedelta(days=10), tick=False):
        invitations_send(letter=letter, actor=maria, subject="Sign, please")
        deliveries_dispatch()
    with time_machine.travel(SOFT - timedelta(days=3), tick=False):
        deliveries_dispatch()

    invitation, reminder = mailoutbox
    assert invitation.subject == "Sign, please"
    assert "Our note." not in reminder.body
    assert reminder.message()["From"] == invitation.message()["From"]
    assert reminder.reply_to == invitation.reply_to == ["maria@ngo.example"]
    assert len(reminder.body) < len(invitation.body)
    assert reminder.to == [prospect.email]


def test_someone_invited_when_a_reminder_is_due_waits_for_the_interval(
    letter, mailoutbox
):
    letter.soft_deadline = SOFT
    letter.save()
    ReminderSchedule.objects.create(letter=letter, digest_enabled=False)
    prospect = ProspectFactory(letter=letter)
    invited_at = SOFT - timedelta(days=2, hours=12)  # the 3-day reminder is due

    with time_machine.travel(invited_at, tick=False):
        invitations_send(letter=letter, actor=None)
        deliveries_dispatch()
    prospect.refresh_from_db()
    assert prospect.invited_at == invited_at

    for later in (
        timedelta(seconds=30),
        timedelta(days=1),
        timedelta(days=1, hours=23),
    ):
        with time_machine.travel(invited_at + later, tick=False):
            assert deliveries_dispatch().planned == 0
    assert [m.to for m in mailoutbox] == [[prospect.email]]  # the invitation only

    with time_machine.travel(invited_at + timedelta(days=2), tick=False):
        assert deliveries_dispatch().sent == 1
    reminder = OutboxMessage.objects.get(kind=EmailKind.SOFT_REMINDER)
    assert reminder.params["basis"].endswith("/1d")  # the step due then


def test_the_interval_is_a_setting_of_the_schedule(letter):
    letter.soft_deadline = SOFT
    letter.save()
    ReminderSchedule.objects.create(
        letter=letter, digest_enabled=False, min_days_after_invitation=0
    )
    ProspectFactory(letter=letter)
    with time_machine.travel(SOFT - timedelta(days=2, hours=12), tick=False):
        invitations_send(letter=letter, actor=None)
        deliveries_dispatch()
        assert deliveries_dispatch().sent == 1  # at once, as it is due


def test_a_reminder_planned_too_soon_after_an_invitation_is_not_sent(letter):
    letter.soft_deadline = SOFT
    letter.save()
    ReminderSchedule.objects.create(letter=letter, digest_enabled=False)
    now = SOFT - timedelta(days=3)
    prospect = ProspectFactory(letter=letter, status=P.INVITED, invited_at=now)
    basis = f"{SOFT.isoformat()}/3d"
    outbox_enqueue_many(
        [
            new_delivery(
                letter=letter,
                kind=EmailKind.SOFT_REMINDER,
                basis=basis,
                due_at=now,
                prospect=prospect,
            )
        ]
    )

    with time_machine.travel(now + timedelta(minutes=1), tick=False):
        assert deliveries_dispatch().skipped == 1
    row = OutboxMessage.objects.get(kind=EmailKind.SOFT_REMINDER)
    assert row.status == OutboxMessage.Status.CANCELLED
    assert row.last_error == TOO_SOON


def test_the_schedule_page_shows_the_interval(organiser, letter):
    page = organiser.get(url("outreach-schedule", letter)).content.decode()

    assert "no reminder sooner after the invitation than (days)" in page.lower()
