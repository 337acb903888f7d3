import pytest
from django.core.mail import EmailMultiAlternatives
from playwright.sync_api import expect

from tests.browser.test_letters import log_in
from tests.factories import LetterFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_organiser_reads_a_sent_email_and_its_preview(
    page, live_server, settings, tmp_path
):
    settings.DEBUG = True
    settings.EMAIL_BACKEND = "coalition.devmail.DevMailBackend"
    settings.DEV_EMAIL_DIR = tmp_path / "mail"
    organiser = UserFactory()
    LetterFactory(owner=organiser)
    message = EmailMultiAlternatives(
        "Please sign our letter",
        "Dear Maria,\n\nSign here: https://example.org/sign/abc/\n",
        "site@example.org",
        ["maria@example.org"],
    )
    # What the preview must never do: run a script, even one the site wrote.
    message.attach_alternative(
        '<p id="greeting">Dear Maria, please sign.</p>'
        "<script>document.getElementById('greeting').textContent = 'ran';</script>",
        "text/html",
    )
    message.send()

    log_in(page, organiser)
    page.goto("/dev/emails/")
    expect(page.get_by_role("heading", name="Sent emails")).to_be_visible()
    expect(page.get_by_role("cell", name="maria@example.org")).to_be_visible()
    page.get_by_role("link", name="Please sign our letter").click()

    expect(page.get_by_role("heading", name="Please sign our letter")).to_be_visible()
    expect(
        page.get_by_role("link", name="https://example.org/sign/abc/")
    ).to_have_attribute("href", "https://example.org/sign/abc/")
    preview = page.frame_locator("iframe.dev-email__preview")
    expect(preview.locator("#greeting")).to_have_text("Dear Maria, please sign.")
    assert page.locator("iframe.dev-email__preview").get_attribute("sandbox") == ""
