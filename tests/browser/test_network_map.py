import io
import json

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import expect

from signers.partners.services import partner_create
from tests.browser.conftest import serious_accessibility_violations
from tests.browser.test_journey import screenshot
from tests.browser.test_letters import log_in
from tests.factories import PartnerFactory, TagFactory
from tests.letters.public_fixtures import published_letter
from tests.signers.network_fixtures import coalition_with_member, partner_signs

pytestmark = pytest.mark.django_db(transaction=True)


def seeded_coalition():
    """Twenty partners in two groups, each around two letters of its own, three
    of them signing on both sides; one has a name that is markup."""
    coalition, member = coalition_with_member()
    tags = [TagFactory(coalition=coalition, name=n) for n in ("housing", "climate")]
    letters = [
        published_letter(coalition=coalition, title=f"Letter {n}") for n in range(4)
    ]
    for n in range(20):
        name = "<img src=x onerror=alert(1)>" if n == 0 else f"Partner {n:02d}"
        partner = PartnerFactory(coalition=coalition, name=name, reach=10 ** (n % 5))
        side = n % 2
        partner.tags.add(tags[side])
        signs = letters[2 * side : 2 * side + 2]
        if n in (3, 8, 13):
            signs = [letters[1], letters[2]]
        for letter in signs:
            partner_signs(partner, letter)
    return coalition, member


def test_the_map_draws_the_partners_with_no_console_error(page, live_server, browser):
    coalition, member = seeded_coalition()
    problems = []
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: problems.append(f"dialog {d.message}"))
    log_in(page, member)

    page.goto(f"/workspace/coalitions/{coalition.slug}/map/")
    root = page.locator("[data-network-map]")
    expect(root).to_have_attribute("data-ready", "true", timeout=30_000)

    # 20 partners and 4 letters are nodes of the picture, drawn on canvases.
    assert root.get_attribute("data-nodes") == "24"
    expect(page.locator("[data-map-status]")).to_have_text("20 of 20 partners shown.")
    canvases = page.locator("[data-map-canvas] canvas")
    assert canvases.count() > 0
    box = canvases.first.bounding_box()
    assert box["width"] > 300 and box["height"] > 200
    picture = Image.open(io.BytesIO(page.locator("[data-map-canvas]").screenshot()))
    picture = picture.convert("RGB")
    background = Image.new("RGB", picture.size, picture.getpixel((0, 0)))
    drawn = sum(ImageChops.difference(picture, background).convert("L").histogram()[1:])
    assert drawn > 500

    screenshot(page, "network-map")

    page.get_by_label("Issue area").select_option("housing")
    expect(page.locator("[data-map-status]")).to_have_text("10 of 20 partners shown.")
    assert problems == []


def test_the_map_table_is_accessible_and_fits_a_phone(page, live_server, browser):
    coalition, member = seeded_coalition()
    log_in(page, member)
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto(f"/workspace/coalitions/{coalition.slug}/map/")
    expect(page.locator("[data-network-map]")).to_have_attribute("data-ready", "true")

    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - window.innerWidth"
    )
    assert overflow <= 0
    expect(page.get_by_role("row")).to_have_count(21)
    serious = serious_accessibility_violations(
        browser, page.url, storage_state=page.context.storage_state()
    )
    assert serious == [], json.dumps(serious, indent=2)


def test_the_directory_a_partners_history_and_the_coalition_log_are_accessible(
    page, live_server, browser
):
    coalition, member = seeded_coalition()
    partner = coalition.partners.get(name="Partner 03")  # signed on both sides
    partner_create(
        coalition=coalition, actor=member, name="Allotment Society", kind="ngo"
    )
    log_in(page, member)
    state = page.context.storage_state()

    page.goto(f"/workspace/coalitions/{coalition.slug}/partners/")
    expect(page.get_by_role("link", name="Partner 03")).to_be_visible()
    assert (
        serious_accessibility_violations(browser, page.url, storage_state=state) == []
    )
    screenshot(page, "partner-directory")

    page.goto(f"/workspace/coalitions/{coalition.slug}/partners/{partner.pk}/")
    expect(page.get_by_text("Letter 1").first).to_be_visible()
    expect(page.get_by_text("Letter 2").first).to_be_visible()
    assert (
        serious_accessibility_violations(browser, page.url, storage_state=state) == []
    )
    screenshot(page, "partner-history")

    page.get_by_role("link", name="Activity").click()
    expect(
        page.get_by_role("cell", name="Added the partner Allotment Society")
    ).to_be_visible()
