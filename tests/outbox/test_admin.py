import pytest

from coalition.outbox.builders import Email
from coalition.outbox.models import OutboxMessage
from coalition.outbox.services import outbox_enqueue_email

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/outbox/outboxmessage/"


def failed_message(n):
    row = outbox_enqueue_email(
        key=f"admin-test:{n}",
        email=Email(subject="Hi", text="Hi", to=["a@example.org"], from_email="c@x"),
    )
    OutboxMessage.objects.filter(pk=row.pk).update(
        status=OutboxMessage.Status.FAILED, attempts=9, last_error="451"
    )
    return row


def test_staff_retry_failed_emails_from_the_admin(admin_client):
    failed = failed_message(1)

    response = admin_client.post(
        CHANGELIST, {"action": "retry_failed", "_selected_action": [failed.pk]}
    )

    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (OutboxMessage.Status.QUEUED, 0)


def test_the_admin_cannot_edit_an_outbox_message(admin_client):
    row = failed_message(1)

    response = admin_client.post(f"{CHANGELIST}{row.pk}/change/", {"to": "x@y.org"})

    assert response.status_code == 403
    row.refresh_from_db()
    assert row.to == "a@example.org"
