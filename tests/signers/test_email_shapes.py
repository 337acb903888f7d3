"""Invitations and deadline reminders rendered once per group of a batch are
byte for byte what the full rendering gives, whatever strangers wrote."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import time_machine

from coalition.outbox import batch_render
from coalition.outbox.builders import batch_memo
from coalition.outbox.models import OutboxMessage
from coalition.outbox.services import outbox_enqueue_many
from signers import emails
from signers.email_batches import invitation_batches_load
from signers.email_shapes import build_deadline_reminder_once, build_invitation_once
from signers.emails import BUILDERS
from signers.models import EmailKind, Prospect
from signers.planning.reminders import PROSPECT_KINDS, new_delivery
from signers.services.outreach import invitations_send
from tests.factories import ProspectFactory, UserFactory, circulating_letter

pytestmark = pytest.mark.django_db

SOFT = datetime(2030, 6, 10, 17, 0, tzinfo=UTC)
HARD = datetime(2030, 6, 20, 17, 0, tzinfo=UTC)
NOW = SOFT - timedelta(days=12)
SECRET = "0" * 32  # the placeholders' secret, known here to smuggle them in
SLOT_0, SLOT_1 = f"p{SECRET}s0e", f"p{SECRET}s1e"
RELATED = ("letter__current_revision", "letter__reminder_schedule", "prospect__owner")

# (organisation, contact name, personal note)
HOSTILE = [
    ("<script>alert(1)</script>", "Ann & Bob", ""),
    ('O\'Brien "Quotes" {{ letter.title }}', "{% if x %}Zoë{% endif %}", ""),
    ("Union %(organisation)s %s {organisation} 100%", "", ""),
    (f"Smuggled {SLOT_1} and {SLOT_0}", SLOT_0, ""),
    ("Amis de la Terre \u2013 Île-de-France", "Jörg Müller", ""),
    ("Two  spaces", "Line\nbreak", ""),
    (" Edge ", "Tab\there", ""),
    ("Noted & co", "Ann", "Our <b>note</b> & more.\n\nA second {{ paragraph }}."),
    ("Plain Org", "Plain Name", ""),
]


@pytest.fixture
def letter():
    owner = UserFactory(display_name='Maria "M" <Lopez> & co', email="m@ngo.example")
    letter = circulating_letter(
        owner=owner,
        title='Clean <air> & "water"',
        soft_deadline=SOFT,
        hard_deadline=HARD,
    )
    prospects = [
        ProspectFactory(
            letter=letter, organisation=org, contact_name=name, personal_note=note
        )
        for org, name, note in HOSTILE
    ]
    wording = {
        "subject": "Will {organisation} sign? & <now>",
        "opening": "Friends at {organisation},\n\nwe ask {organisation} to sign.",
    }
    with time_machine.travel(NOW, tick=False):
        first = [p.pk for p in prospects[0::2]]
        invitations_send(letter=letter, actor=owner, prospect_ids=first, **wording)
        rest = [p.pk for p in prospects[1::2]]
        invitations_send(letter=letter, actor=None, prospect_ids=rest)
    return letter


def rows(letter, kind):
    return list(
        OutboxMessage.objects.filter(letter=letter, kind=kind)
        .select_related(*RELATED)
        .order_by("pk")
    )


def both_ways(letter, kind, build_once):
    """Every row built once per group (as the dispatcher builds a batch) and
    in full; and how many times the templates were rendered the first way."""
    rendered = mock.Mock(wraps=emails.render_email)
    with (
        time_machine.travel(NOW, tick=False),
        mock.patch.object(batch_render.secrets, "token_hex", return_value=SECRET),
    ):
        batch = rows(letter, kind)
        with batch_memo(), mock.patch.object(emails, "render_email", rendered):
            invitation_batches_load(batch)
            fast = [build_once(row) for row in batch]
        full = [BUILDERS[kind](row) for row in rows(letter, kind)]
    return fast, full, rendered.call_count


def test_invitations_once_per_group_are_the_full_rendering(letter):
    fast, full, renders = both_ways(letter, EmailKind.INVITATION, build_invitation_once)

    assert len(fast) == len(HOSTILE)
    for mine, theirs in zip(fast, full, strict=True):
        assert mine == theirs
    # Three groups rendered twice (the organiser's batch with a name and
    # without, the site's with), and in full the three rows no placeholder
    # can stand for (runs of spaces, spaces at the ends, a note).
    assert renders == 3 * 2 + 3


@pytest.mark.parametrize("kind", PROSPECT_KINDS)
def test_deadline_reminders_once_per_group_are_the_full_rendering(letter, kind):
    Prospect.objects.filter(letter=letter).update(status=Prospect.Status.INVITED)
    outbox_enqueue_many(
        new_delivery(letter=letter, kind=kind, basis="b", due_at=NOW, prospect=p)
        for p in Prospect.objects.filter(letter=letter)
    )

    fast, full, renders = both_ways(letter, kind, build_deadline_reminder_once)

    assert len(fast) == len(HOSTILE)
    for mine, theirs in zip(fast, full, strict=True):
        assert mine == theirs
    assert renders < len(HOSTILE)


def test_a_group_is_rendered_twice_whatever_its_size(letter):
    ProspectFactory.create_batch(20, letter=letter)
    with time_machine.travel(NOW, tick=False):
        invitations_send(letter=letter, actor=None)
    batch = [
        row
        for row in rows(letter, EmailKind.INVITATION)
        if row.prospect.organisation.startswith("Friends of Park")
    ]
    rendered = mock.Mock(wraps=emails.render_email)

    with batch_memo(), mock.patch.object(emails, "render_email", rendered):
        built = [build_invitation_once(row) for row in batch]

    assert len(built) == 20 and rendered.call_count == 2
    assert len({email.text for email in built}) == 20


def test_a_template_that_does_more_than_print_a_value_is_rendered_in_full(letter):
    batch = rows(letter, EmailKind.INVITATION)
    real = emails.invitation_message

    def shouting(**kwargs):
        message = real(**kwargs)
        message.body = message.body.upper()  # as a filter on a value would
        return message

    with (
        time_machine.travel(NOW, tick=False),
        mock.patch.object(emails, "invitation_message", shouting),
        mock.patch("signers.email_shapes.invitation_message", shouting),
        batch_memo(),
    ):
        fast = [build_invitation_once(row) for row in batch]
        full = [BUILDERS[row.kind](row) for row in batch]

    assert fast == full
