"""The send step of invitations, in a real browser: the organiser edits the
subject and opening, writes a personal note, sees the exact email, sends; the
dispatcher delivers over real SMTP what the preview showed."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from coalition.outbox.dispatcher import outbox_dispatch
from signers.models import InvitationBatch
from tests.browser.conftest import serious_accessibility_violations
from tests.browser.test_journey import screenshot
from tests.browser.test_letters import log_in
from tests.browser.test_signing import text_of
from tests.factories import ProspectFactory, UserFactory, circulating_letter

pytestmark = pytest.mark.django_db(transaction=True)

FROM = '"Maria Lopez via Coalition" <coalition@localhost>'


def test_organiser_previews_and_sends_an_invitation_in_their_own_words(
    page, browser, live_server, settings, smtp_settings
):
    settings.SITE_URL = live_server.url
    settings.DEFAULT_FROM_EMAIL = "coalition@localhost"
    maria = UserFactory(display_name="Maria Lopez", email="maria@ngo.example")
    letter = circulating_letter(owner=maria, title="Clean air now")
    park = ProspectFactory(
        letter=letter, organisation="Friends of the Park", contact_name="Rosa"
    )
    ProspectFactory(letter=letter, organisation="Zeta Cyclists")

    log_in(page, maria)
    page.goto(reverse("signers:outreach", kwargs={"slug": letter.slug}))
    page.get_by_label("Select Friends of the Park").check()
    page.get_by_role("button", name="Invite the ticked prospects").click()

    # The send step shows the email as it stands, from the organiser.
    expect(page.get_by_role("heading", name="Send invitations")).to_be_visible()
    preview = page.locator("#invitation-preview")
    expect(preview.locator('[data-preview="from"]')).to_have_text(FROM)
    expect(preview.locator('[data-preview="reply-to"]')).to_have_text(maria.email)
    expect(preview.locator('[data-preview="subject"]')).to_have_text(
        'Will Friends of the Park sign "Clean air now"?'
    )

    compose = reverse("signers:outreach-compose", kwargs={"slug": letter.slug})
    assert (
        serious_accessibility_violations(
            browser,
            f"{live_server.url}{compose}?selected={park.pk}",
            storage_state=page.context.storage_state(),
        )
        == []
    )

    # Typing updates the preview (htmx)...
    page.get_by_label("Subject").fill("Will {organisation} join us, Rosa?")
    expect(preview.locator('[data-preview="subject"]')).to_have_text(
        "Will Friends of the Park join us, Rosa?"
    )
    # ...and the Preview button does it without script.
    page.get_by_label("Opening paragraph").fill(
        "Our neighbourhood needs {organisation} on this letter."
    )
    page.get_by_label("Note to Friends of the Park").fill(
        "Rosa, we spoke at the assembly."
    )
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#invitation-preview")
    frame = page.frame_locator("iframe.invitation-preview__html")
    expect(
        frame.get_by_text("Our neighbourhood needs Friends of the Park on this letter.")
    ).to_be_visible()
    expect(frame.get_by_text("Rosa, we spoke at the assembly.")).to_be_visible()
    expect(page.get_by_label("Subject")).to_have_value(
        "Will {organisation} join us, Rosa?"
    )
    screenshot(page, "invitation-preview")

    page.get_by_role("button", name="Send 1 invitation").click()
    expect(page.get_by_text("Sending the invitations.")).to_be_visible()
    assert InvitationBatch.objects.get().sender_name == "Maria Lopez"

    outbox_dispatch()
    (message,) = smtp_settings.wait_for(1)
    assert message["To"] == park.email
    assert message["From"] == FROM
    assert message["Reply-To"] == maria.email
    assert message["Subject"] == "Will Friends of the Park join us, Rosa?"
    body = text_of(message)
    assert "Our neighbourhood needs Friends of the Park on this letter." in body
    assert "Rosa, we spoke at the assembly." in body
    assert body.index("Our neighbourhood") < body.index("we spoke at the assembly")
