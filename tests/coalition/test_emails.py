import re
from pathlib import Path

import pytest
from django.template import TemplateDoesNotExist
from django.utils.safestring import SafeData, mark_safe

from coalition.emails import UnsafeEmailContext, render_email
from coalition.outbox.builders import Email
from coalition.outbox.dispatcher import outbox_dispatch
from coalition.outbox.models import OutboxMessage
from coalition.outbox.services import outbox_enqueue_email
from letters.markdown import render_markdown


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


def test_a_rendered_message_survives_the_outbox_json_round_trip():
    message = render_email(
        "account/password_reset_key",
        {"password_reset_url": "https://example.org/r/"},
        to=["a@example.org"],
        reply_to=["team@example.org"],
    )

    again = Email.from_dict(Email.from_message(message).as_dict()).to_message(
        message_id="<fixed@example.org>"
    )

    assert again.subject == message.subject
    assert again.body == message.body
    assert again.alternatives[0][0] == message.alternatives[0][0]
    assert again.reply_to == ["team@example.org"]
    assert again.extra_headers["Message-ID"] == "<fixed@example.org>"


def password_reset_in_outbox():
    message = render_email(
        "account/password_reset_key",
        {"password_reset_url": "https://example.org/r/xyz/"},
        to=["someone@example.org"],
    )
    return outbox_enqueue_email(key="reset:1", email=Email.from_message(message))


@pytest.mark.django_db
def test_message_goes_through_a_real_smtp_server(smtp_settings):
    password_reset_in_outbox()

    outbox_dispatch()

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


@pytest.mark.django_db
def test_an_account_email_the_server_refuses_is_sent_on_a_later_dispatch(
    smtp_settings,
):
    row = password_reset_in_outbox()
    smtp_settings.refuse_next = 1

    assert outbox_dispatch().retrying == 1
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=row.created_at)
    assert outbox_dispatch().sent == 1

    assert len(smtp_settings.wait_for(1)) == 1


@pytest.mark.django_db
def test_a_signup_email_that_cannot_be_sent_waits_in_the_outbox(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens

    response = client.post(
        "/accounts/signup/",
        {
            "email": "new@example.org",
            "password1": "Plenty-of-entropy-42",
            "password2": "Plenty-of-entropy-42",
        },
    )
    result = outbox_dispatch()

    assert response.status_code == 302
    assert result.deferred == 1
    row = OutboxMessage.objects.get()
    assert (row.to, row.status) == ("new@example.org", OutboxMessage.Status.QUEUED)
    assert "/accounts/confirm-email/" in row.built["text"]


# --- One path: text is text, HTML is escaped ------------------------------------

EMAIL_TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "emails"


def test_a_value_marked_safe_cannot_reach_an_email():
    with pytest.raises(UnsafeEmailContext, match="'name'"):
        render_email(
            "account/password_reset_key",
            {"name": mark_safe("<b>Friends</b>"), "password_reset_url": "https://x/"},
            to=["a@example.org"],
        )


def test_sanitised_markdown_is_the_one_markup_an_email_carries():
    body = render_markdown("**Bold** <img src=x onerror=alert(1)>")

    message = render_email(
        "signers/update",
        {
            "update": {"subject": "News"},
            "body_html": body,
            "letter": {"title": "Clean air"},
            "name": "",
        },
        to=["a@example.org"],
    )

    html = message.alternatives[0][0]
    assert "<strong>Bold</strong>" in html
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_text_part_is_plain_text_not_marked_safe():
    message = render_email(
        "account/password_reset_key",
        {"password_reset_url": "https://example.org/r/"},
        to=["a@example.org"],
    )

    assert not isinstance(message.body, SafeData)
    assert not isinstance(message.subject, SafeData)


def test_a_notice_without_html_of_its_own_links_only_the_links_it_was_given():
    message = render_email(
        "account/no_such_notice",
        {
            "email": "<b>x</b>@example.org https://evil.example/",
            "signup_url": "https://example.org/accounts/signup/",
        },
        to=["a@example.org"],
        fallback_prefix="account/email/unknown_account",
    )

    html = message.alternatives[0][0]
    assert '<a href="https://example.org/accounts/signup/">' in html
    assert 'href="https://evil.example/' not in html
    assert "&lt;b&gt;x&lt;/b&gt;@example.org" in html
    assert "<b>x</b>@example.org" in message.body


def test_a_site_email_without_its_html_template_is_an_error(settings, tmp_path):
    (tmp_path / "emails" / "signers").mkdir(parents=True)
    for suffix in ("subject.txt", "txt"):
        (tmp_path / "emails" / "signers" / f"half.{suffix}").write_text("Hello")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]

    with pytest.raises(TemplateDoesNotExist):
        render_email("signers/half", {}, to=["a@example.org"])


def test_every_site_email_has_its_own_html_part():
    texts = [
        p
        for p in EMAIL_TEMPLATES.rglob("*.txt")
        if not p.name.startswith("_") and not p.name.endswith(".subject.txt")
    ]

    assert len(texts) > 20
    assert [p for p in texts if not p.with_suffix(".html").exists()] == []


def test_no_email_template_marks_text_safe():
    marks = re.compile(r"\|\s*safe|safeseq|autoescape\s+off|filter\s+safe")

    found = [
        p.relative_to(EMAIL_TEMPLATES)
        for p in EMAIL_TEMPLATES.rglob("*")
        if p.is_file() and marks.search(p.read_text())
    ]

    assert found == []
