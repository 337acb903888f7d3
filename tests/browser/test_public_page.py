import json
import re

import pytest
from playwright.sync_api import expect

from signers.models import Signature
from tests.browser.conftest import serious_accessibility_violations
from tests.letters.public_fixtures import published_letter

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = [
    "Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir", "Ginkgo", "Hazel", "Ivy",
    "Juniper", "Kauri", "Larch", "Maple", "Nettle", "Oak", "Pine", "Quince", "Rowan",
    "Spruce", "Teak", "Ulmus", "Viburnum", "Willow", "Xylosma", "Yew", "Zelkova",
]  # fmt: skip


def make_500_signers(letter):
    names = [f"{WORDS[i % 26]} Friends {i:03d}" for i in range(499)]
    names.append("Zebra Crossing Club")
    Signature.objects.bulk_create(
        Signature(
            letter=letter,
            revision=letter.current_revision,
            status=Signature.Status.CONFIRMED,
            source=Signature.Source.IMPORT,
            display_name=name,
            sort_name=name.lower(),
            normalised_name=name.lower(),
            city="Leeds",
            country="United Kingdom",
            email=f"browser{i}@signers.example.org",
            attested=True,
        )
        for i, name in enumerate(names)
    )


def test_visitor_searches_jumps_and_the_page_is_accessible(page, live_server, browser):
    letter = published_letter(open_joining=True)
    make_500_signers(letter)

    page.goto(f"/letters/{letter.slug}/")
    signers = page.locator("li[data-signer]")
    expect(signers).to_have_count(500)
    expect(page.get_by_text("500 signers").first).to_be_visible()

    search = page.get_by_label("Search the signers")
    search.fill("zebra")
    expect(page.locator("li[data-signer]:visible")).to_have_count(1)
    expect(page.get_by_text("Zebra Crossing Club")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("1 signer matches.")
    assert page.url.endswith(f"/letters/{letter.slug}/")  # no page load

    search.fill("maple friends 1")
    expect(page.locator("li[data-signer]:visible")).to_have_count(4)
    search.fill("")
    expect(page.locator("li[data-signer]:visible")).to_have_count(500)

    jump = page.get_by_role("navigation", name="Organisations: jump to a letter")
    jump.get_by_role("link", name="M", exact=True).click()
    expect(page).to_have_url(re.compile(r"#az-org-m$"))
    expect(page.locator("#az-org-m")).to_be_in_viewport()
    expect(page.get_by_text("Alder Friends 000")).not_to_be_in_viewport()

    serious = serious_accessibility_violations(browser, page.url)
    assert serious == [], json.dumps(serious, indent=2)


def test_every_signer_has_a_stable_anchor(page, live_server):
    letter = published_letter()
    make_500_signers(letter)
    zebra = Signature.objects.get(display_name="Zebra Crossing Club")

    page.goto(f"/letters/{letter.slug}/#s-{zebra.pk}")

    expect(page.locator(f"#s-{zebra.pk}")).to_be_in_viewport()
    expect(page.locator(f"#s-{zebra.pk}")).to_contain_text("Zebra Crossing Club")
