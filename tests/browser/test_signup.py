import re

import pytest
from playwright.sync_api import expect

from coalition.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def test_organiser_signs_up_verifies_logs_out_and_logs_in(
    page, live_server, mailoutbox
):
    page.goto("/")
    page.get_by_role("link", name="Start organising").click()

    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill("Plenty-of-entropy-42")
    page.get_by_label("Password (again)").fill("Plenty-of-entropy-42")
    page.get_by_role("button", name="Sign Up").click()

    expect(
        page.get_by_role("heading", name="Verify Your Email Address")
    ).to_be_visible()
    assert len(mailoutbox) == 1
    link = re.search(r"http\S+/accounts/confirm-email/\S+/", mailoutbox[0].body).group(
        0
    )

    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Your letters")).to_be_visible()
    assert User.objects.get(email="ada@example.org").emailaddress_set.get().verified

    page.get_by_role("button", name="Log out").click()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Log in")).to_be_visible()

    nav.get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Password").fill("Plenty-of-entropy-42")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Your letters")).to_be_visible()


def test_signup_with_a_weak_password_shows_the_reason_in_place(page, live_server):
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill("bob@example.org")
    page.get_by_label("Password", exact=True).fill("password")
    page.get_by_label("Password (again)").fill("password")
    page.get_by_role("button", name="Sign Up").click()

    expect(page.get_by_text("This password is too common.")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("bob@example.org")
    assert not User.objects.filter(email="bob@example.org").exists()
