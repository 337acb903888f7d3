import smtplib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from letters.models import AuditEvent, Letter, TeamInvitation
from letters.services.lifecycle import letters_publish_due
from letters.services.revisions import revision_publish
from letters.tasks import letters_publish_due_task, team_invitation_send_task
from tests.conftest import wait_until
from tests.factories import LetterFactory, UserFactory
from tests.letters.helpers import run_at_once

NOW = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)


def scheduled_letter(*, release_at, status=Letter.Status.CIRCULATING, revision=True):
    owner = UserFactory()
    letter = LetterFactory(owner=owner)
    if revision:
        revision_publish(letter=letter, author=owner, change_note="")
    Letter.objects.filter(pk=letter.pk).update(status=status, release_at=release_at)
    return letter


def published_events(letter):
    return AuditEvent.objects.filter(letter=letter, action="letter.published")


def test_beat_runs_the_scheduled_publisher_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["letters-publish-due"]

    assert entry == {"task": "letters.tasks.letters_publish_due_task", "schedule": 60.0}


@pytest.mark.django_db
def test_a_due_letter_is_published_once_when_the_task_runs_twice():
    letter = scheduled_letter(release_at=NOW - timedelta(minutes=1))

    with time_machine.travel(NOW, tick=False):
        letters_publish_due_task()
        letters_publish_due_task()

    letter.refresh_from_db()
    assert letter.status == Letter.Status.PUBLISHED
    assert letter.published_at == NOW
    event = published_events(letter).get()
    assert event.actor is None and event.detail["scheduled"] is True


@pytest.mark.django_db
def test_a_draft_with_a_release_date_is_published_too():
    letter = scheduled_letter(
        release_at=NOW - timedelta(minutes=1), status=Letter.Status.DRAFT
    )

    with time_machine.travel(NOW, tick=False):
        letters_publish_due_task()

    letter.refresh_from_db()
    assert letter.status == Letter.Status.PUBLISHED


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("release_at", "status", "revision"),
    [
        (NOW + timedelta(minutes=1), Letter.Status.CIRCULATING, True),  # not yet
        (NOW - timedelta(minutes=1), Letter.Status.CLOSED, True),  # closed stays
        (NOW - timedelta(minutes=1), Letter.Status.CIRCULATING, False),  # no text
        (None, Letter.Status.CIRCULATING, True),  # published by hand
    ],
)
def test_letters_not_due_are_left_alone(release_at, status, revision):
    letter = scheduled_letter(release_at=release_at, status=status, revision=revision)

    with time_machine.travel(NOW, tick=False):
        letters_publish_due_task()

    letter.refresh_from_db()
    assert letter.status == status
    assert not published_events(letter).exists()


@pytest.mark.django_db
def test_a_letter_without_a_revision_is_published_once_it_has_one():
    letter = scheduled_letter(release_at=NOW - timedelta(minutes=5), revision=False)
    with time_machine.travel(NOW, tick=False):
        letters_publish_due_task()
        revision_publish(
            letter=letter, author=letter.memberships.get().user, change_note=""
        )
        letters_publish_due_task()

    letter.refresh_from_db()
    assert letter.status == Letter.Status.PUBLISHED


@pytest.mark.django_db(transaction=True)
def test_two_publishers_at_once_publish_each_letter_once():
    letters = [
        scheduled_letter(release_at=NOW - timedelta(minutes=1)) for _ in range(3)
    ]

    with time_machine.travel(NOW, tick=False):
        results = run_at_once(3, letters_publish_due)

    assert not [r for r in results if isinstance(r, Exception)], results
    published = sorted(pk for ids in results for pk in ids)
    assert published == sorted(letter.pk for letter in letters)
    for letter in letters:
        assert published_events(letter).count() == 1


# --- Team invitations ---------------------------------------------------------


@pytest.fixture
def invitation(db):
    owner = UserFactory(display_name="Ada Organiser")
    letter = LetterFactory(owner=owner, title="Clean air now")
    return TeamInvitation.objects.create(
        letter=letter, email="new@example.org", role="editor", invited_by=owner
    )


def test_the_invitation_is_sent_once_when_the_task_runs_twice(invitation, mailoutbox):
    team_invitation_send_task(invitation.pk)
    team_invitation_send_task(invitation.pk)

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["new@example.org"]
    invitation.refresh_from_db()
    assert invitation.sent_at is not None


@pytest.mark.parametrize("field", ["accepted_at", "revoked_at"])
def test_an_accepted_or_withdrawn_invitation_is_not_sent(invitation, mailoutbox, field):
    TeamInvitation.objects.filter(pk=invitation.pk).update(**{field: NOW})

    team_invitation_send_task(invitation.pk)

    assert mailoutbox == []


def test_an_smtp_refusal_leaves_the_invitation_to_the_retry(invitation, smtp_settings):
    smtp_settings.refuse_next = 1

    with pytest.raises(smtplib.SMTPException):
        team_invitation_send_task(invitation.pk)
    invitation.refresh_from_db()
    assert invitation.sent_at is None

    team_invitation_send_task(invitation.pk)
    assert len(smtp_settings.wait_for(1)) == 1


# --- Through a real worker ----------------------------------------------------


@pytest.mark.worker
def test_a_real_worker_publishes_a_due_letter(celery_worker):
    letter = scheduled_letter(release_at=timezone.now() - timedelta(minutes=1))

    celery_worker.send(letters_publish_due_task)

    assert wait_until(lambda: published_events(letter).exists())
    letter.refresh_from_db()
    assert letter.status == Letter.Status.PUBLISHED


@pytest.mark.worker
def test_a_real_worker_emails_a_team_invitation(celery_worker):
    owner = UserFactory()
    invitation = TeamInvitation.objects.create(
        letter=LetterFactory(owner=owner), email="new@example.org", invited_by=owner
    )

    celery_worker.send(team_invitation_send_task, invitation.pk)

    messages = celery_worker.smtp.wait_for(1)
    assert [m["To"] for m in messages] == ["new@example.org"]
    assert (
        "/workspace/team/join/"
        in messages[0].get_payload(0).get_payload(decode=True).decode()
    )
