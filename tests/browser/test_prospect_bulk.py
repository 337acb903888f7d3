"""The prospect list's "All" box, by keyboard: it ticks every row, follows
the rows (half-ticked when some are), and the bulk action changes exactly
the ticked prospects."""

import pytest
from playwright.sync_api import expect

from signers.models import Prospect
from tests.browser.test_letters import log_in
from tests.factories import ProspectFactory, UserFactory, circulating_letter

pytestmark = pytest.mark.django_db(transaction=True)

NAMES = ["Allotment Society", "Bike Kitchen", "Cycle Circle"]


def statuses(letter):
    rows = Prospect.objects.filter(letter=letter).order_by("organisation")
    return [p.status for p in rows]


def test_the_all_box_ticks_follows_and_the_action_takes_the_ticked(page):
    owner = UserFactory()
    letter = circulating_letter(owner=owner, title="Safe streets")
    for name in NAMES:
        ProspectFactory(letter=letter, organisation=name)
    other = circulating_letter(owner=owner, title="Another letter")
    stranger = ProspectFactory(letter=other, organisation="Not on this letter")
    log_in(page, owner)
    page.goto(f"/workspace/letters/{letter.slug}/outreach/")

    every = page.get_by_role("checkbox", name="All the prospects on this page")
    rows = [page.get_by_role("checkbox", name=f"Select {n}") for n in NAMES]
    every.focus()
    page.keyboard.press("Space")
    for row in rows:
        expect(row).to_be_checked()

    rows[1].focus()
    page.keyboard.press("Space")
    expect(every).not_to_be_checked()
    assert every.evaluate("box => box.indeterminate") is True
    page.keyboard.press("Space")
    expect(every).to_be_checked()
    assert every.evaluate("box => box.indeterminate") is False

    # Untick the first, then set the others' status from the keyboard.
    rows[0].focus()
    page.keyboard.press("Space")
    bulk = page.locator("fieldset.bulk-actions")
    bulk.get_by_label("Status").select_option("no_response")
    bulk.get_by_role("button", name="Set their status").focus()
    page.keyboard.press("Enter")

    expect(page.get_by_text("2 prospects changed.")).to_be_visible()
    assert statuses(letter) == ["identified", "no_response", "no_response"]
    stranger.refresh_from_db()
    assert stranger.status == "identified"
