"""An organiser answers a change request on the triage page."""

import pytest
from playwright.sync_api import expect

from signers.models import ChangeRequest
from signers.services.responses import change_request_create
from tests.browser.conftest import serious_accessibility_violations
from tests.browser.test_journey import screenshot
from tests.browser.test_letters import log_in
from tests.factories import (
    RevisionFactory,
    SignatureFactory,
    UserFactory,
    circulating_letter,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_organiser_replies_to_a_request_and_accepts_it(page, browser, live_server):
    owner = UserFactory()
    letter = circulating_letter(
        owner=owner,
        title="Clean air for every school",
        points=["Every child deserves clean air.", "Act before the school year."],
    )
    first = letter.current_revision
    signature = SignatureFactory(
        letter=letter, revision=first, display_name="Friends of the Park"
    )
    change_request_create(
        revision=first,
        anchor="point-2",
        text="Name the month, not the school year.",
        signature=signature,
    )
    RevisionFactory(letter=letter, number=2)
    log_in(page, owner)

    page.goto(f"/workspace/letters/{letter.slug}/")
    expect(page.get_by_text("Friends of the Park asked for a change")).to_be_visible()
    page.get_by_role("link", name="Change requests").first.click()
    expect(page.get_by_text("Act before the school year.")).to_be_visible()
    screenshot(page, "change-requests")
    page.get_by_role("link", name="Name the month, not the school year.").click()
    page.get_by_label("Reply, emailed to them").fill("We will, in revision 2.")
    page.get_by_role("button", name="Send the reply").click()
    expect(page.get_by_text("Reply saved; it is being emailed.")).to_be_visible()
    page.get_by_label("Accepted in revision").select_option("2")
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("Accepted in revision 2").first).to_be_visible()
    screenshot(page, "change-request")

    request = ChangeRequest.objects.get()
    assert request.status == ChangeRequest.Status.ACCEPTED
    assert request.reply == "We will, in revision 2."
    state = page.context.storage_state()
    for url in (
        page.url,
        f"{live_server.url}/workspace/letters/{letter.slug}/changes/",
    ):
        assert serious_accessibility_violations(browser, url, state) == []
