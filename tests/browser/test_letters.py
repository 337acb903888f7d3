import pytest
from playwright.sync_api import expect

from letters.models import Letter
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page, user):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Your letters")).to_be_visible()


def test_organiser_publishes_two_revisions_and_reads_the_diff(page, live_server):
    log_in(page, UserFactory())

    page.get_by_role("link", name="New letter").click()
    page.get_by_label("Title").fill("Clean air for every school")
    page.get_by_label("Addressee").fill("To the Members of the City Council")
    page.get_by_label("Point of unity 1").fill("Every child deserves clean air.")
    page.get_by_label("Letter", exact=True).fill("We ask the Council to act this year.")
    page.get_by_role("button", name="Create letter").click()
    expect(page.get_by_text("Letter created.")).to_be_visible()

    page.get_by_role("link", name="Publish revision").click()
    page.get_by_role("button", name="Publish revision 1").click()
    expect(page.get_by_text("Revision 1 published.")).to_be_visible()

    page.get_by_role("link", name="Edit draft").click()
    page.get_by_label("Letter", exact=True).fill(
        "We urge the Council to act this year."
    )
    page.get_by_role("button", name="Save draft").click()
    page.get_by_role("link", name="Publish revision").click()
    expect(page.get_by_role("heading", name="Changes since revision 1")).to_be_visible()
    page.get_by_label("What changed, and why").fill("A stronger verb.")
    page.get_by_role("button", name="Publish revision 2").click()
    expect(page.get_by_text("Revision 2 published.")).to_be_visible()

    page.get_by_role("button", name="Compare").click()
    expect(
        page.get_by_role("heading", name="From revision 1 to revision 2")
    ).to_be_visible()
    expect(page.get_by_text("A stronger verb.")).to_be_visible()
    changed = page.locator(".diff__field").filter(has_text="Letter")
    expect(changed.locator("del")).to_have_text("deleted: ask")
    expect(changed.locator("ins")).to_have_text("inserted: urge")

    letter = Letter.objects.get()
    assert [r.number for r in letter.revisions.all()] == [1, 2]
    assert letter.current_revision.change_note == "A stronger verb."
