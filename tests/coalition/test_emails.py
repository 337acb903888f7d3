import smtplib

import pytest

from coalition.emails import (
    message_from_dict,
    message_to_dict,
    render_email,
    send_message,
)
from coalition.tasks import email_send_task


def test_render_email_builds_a_multipart_message_from_the_triple():
    message = render_email(
        "account/password_reset_key",
        {"password_reset_url": "https://example.org/reset/abc/"},
        to=["a@example.org"],
        reply_to=["team@example.org"],
        headers={"X-Coalition": "1"},
    )

    assert message.subject == "Reset your Coalition password"
    assert "https://example.org/reset/abc/" in message.body
    html, mime = message.alternatives[0]
    assert mime == "text/html"
    assert 'href="https://example.org/reset/abc/"' in html
    assert message.reply_to == ["team@example.org"]
    assert message.extra_headers["X-Coalition"] == "1"


def test_subject_is_one_line():
    message = render_email(
        "account/email_confirmation_signup",
        {"activate_url": "https://example.org/c/"},
        to=["a@example.org"],
    )

    assert "\n" not in message.subject


def test_message_survives_a_json_round_trip():
    message = render_email(
        "account/password_reset_key",
        {"password_reset_url": "https://example.org/r/"},
        to=["a@example.org"],
    )

    again = message_from_dict(message_to_dict(message))

    assert again.subject == message.subject
    assert again.body == message.body
    assert again.alternatives[0][0] == message.alternatives[0][0]


def test_message_goes_through_a_real_smtp_server(smtp_settings):
    message = render_email(
        "account/password_reset_key",
        {"password_reset_url": "https://example.org/r/xyz/"},
        to=["someone@example.org"],
    )

    send_message(message)

    received = smtp_settings.wait_for(1)
    assert len(received) == 1
    got = received[0]
    assert got["To"] == "someone@example.org"
    assert got["Subject"] == "Reset your Coalition password"
    assert got.is_multipart()
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in got.walk()
        if not p.is_multipart()
    }
    assert "https://example.org/r/xyz/" in parts["text/plain"]
    assert 'href="https://example.org/r/xyz/"' in parts["text/html"]


def test_email_task_retries_when_the_server_refuses(smtp_settings):
    smtp_settings.refuse_next = 1
    payload = message_to_dict(
        render_email(
            "account/password_reset_key",
            {"password_reset_url": "https://example.org/r/"},
            to=["someone@example.org"],
        )
    )

    # Run in this process, the retry happens inline: refused once, then sent.
    result = email_send_task.apply(args=[payload])

    assert result.state == "SUCCESS"
    assert smtp_settings.refuse_next == 0
    assert len(smtp_settings.wait_for(1)) == 1


@pytest.mark.django_db
def test_signup_email_that_cannot_be_sent_is_queued_for_retry(
    client, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens
    queued = []
    monkeypatch.setattr(email_send_task, "delay", queued.append)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/signup/",
            {
                "email": "new@example.org",
                "password1": "Plenty-of-entropy-42",
                "password2": "Plenty-of-entropy-42",
            },
        )

    assert response.status_code == 302
    assert len(queued) == 1
    assert queued[0]["to"] == ["new@example.org"]
    assert "/accounts/confirm-email/" in queued[0]["body"]


def test_connection_refused_is_an_smtp_failure_the_task_retries():
    assert issubclass(smtplib.SMTPConnectError, smtplib.SMTPException)
    assert ConnectionRefusedError in email_send_task.autoretry_for or any(
        issubclass(ConnectionRefusedError, e) for e in email_send_task.autoretry_for
    )
