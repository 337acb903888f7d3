import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from coalition.outbox.dispatcher import outbox_dispatch
from coalition.tokens import make_token
from letters.models import Letter
from signers.models import EmailKind, Prospect, Signature
from signers.services.outreach import invitations_send
from tests.factories import ProspectFactory
from tests.signers.conftest import make_letter
from tests.signers.helpers import signature_emails

pytestmark = pytest.mark.django_db(transaction=True)


def text_of(message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode(part.get_content_charset())
    raise AssertionError("no text part")


def run_email_task(kind: str) -> None:
    """What the worker does after commit: the real dispatcher, the real SMTP
    backend."""
    assert signature_emails(kind=kind).exists()
    outbox_dispatch()


def test_invitee_signs_from_the_emailed_link_gets_the_receipt_and_withdraws(
    page, live_server, settings, smtp_settings
):
    settings.SITE_URL = live_server.url
    letter = make_letter(status=Letter.Status.CIRCULATING, title="Clean air now")
    prospect = ProspectFactory(
        letter=letter, organisation="Friends of the Park", contact_name="Rosa"
    )

    invitations_send(letter=letter, actor=None)
    outbox_dispatch()
    (invitation,) = smtp_settings.wait_for(1)
    sign_url = re.search(
        rf"{live_server.url}/invite/[^/\s]+/(?=\s)", text_of(invitation)
    )

    page.goto(sign_url.group(0))
    expect(page.get_by_role("heading", name="Clean air now")).to_be_visible()
    expect(page.get_by_text(letter.current_revision.sha256)).to_be_visible()
    expect(page.get_by_label("Your organisation's name")).to_have_value(
        "Friends of the Park"
    )
    page.get_by_label("City or region").fill("Springfield")
    page.get_by_role("button", name="Sign the letter").click()
    # The attestation is required, and nothing typed is lost.
    expect(page.get_by_text("Please confirm that you are authorised")).to_be_visible()
    expect(page.get_by_label("City or region")).to_have_value("Springfield")
    page.get_by_label("I am authorised to sign on behalf of this organisation").check()
    page.get_by_role("button", name="Sign the letter").click()

    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    expect(page.get_by_role("heading", name="Who else should sign?")).to_be_visible()
    signature = Signature.objects.get()
    assert signature.status == Signature.Status.CONFIRMED
    assert Prospect.objects.get().status == Prospect.Status.SIGNED

    run_email_task(EmailKind.RECEIPT)
    receipt = smtp_settings.wait_for(2)[1]
    body = text_of(receipt)
    assert receipt["To"] == prospect.email
    assert letter.current_revision.sha256 in body
    withdraw_url = re.search(rf"{live_server.url}/s/withdraw/[^/\s]+/", body)

    page.goto(withdraw_url.group(0))
    assert Signature.objects.get().status == Signature.Status.CONFIRMED  # GET: nothing
    page.get_by_role("button", name="Withdraw our signature").click()

    expect(page.get_by_text("Your signature has been withdrawn.")).to_be_visible()
    assert Signature.objects.get().status == Signature.Status.WITHDRAWN
    run_email_task(EmailKind.WITHDRAWN)
    assert "withdrawn" in smtp_settings.wait_for(3)[2]["Subject"]


def test_an_invitation_counts_as_opened_only_once_a_person_touches_the_page(
    page, live_server
):
    letter = make_letter(status=Letter.Status.CIRCULATING, title="Clean air now")
    prospect = ProspectFactory(letter=letter, status=Prospect.Status.INVITED)
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    url = reverse("signers:invitation", args=[make_token("invite", prospect.pk)])

    # What a scanner that runs the page's scripts does: load it, make events.
    page.goto(live_server.url + url)
    expect(page.get_by_role("heading", name="Clean air now")).to_be_visible()
    page.evaluate(
        "for (const name of ['pointerdown', 'keydown', 'touchstart', 'wheel'])"
        " document.dispatchEvent(new Event(name, {bubbles: true}))"
    )
    page.wait_for_load_state("networkidle")
    assert posts == []
    prospect.refresh_from_db()
    assert (prospect.status, prospect.opened_at) == (Prospect.Status.INVITED, None)

    # A person presses a key.
    with page.expect_response(lambda r: "/opened/" in r.url) as opened:
        page.keyboard.press("Tab")

    assert opened.value.status == 204
    prospect.refresh_from_db()
    assert prospect.status == Prospect.Status.OPENED
    assert prospect.opened_at is not None


def focused_name(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.name")


def tab_to(page, name: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused_name(page) == name:
            return
    raise AssertionError(f"Tab never reached {name!r}")


def test_a_shortened_form_is_signed_as_an_individual_with_the_keyboard_alone(
    page, live_server
):
    letter = make_letter(
        status=Letter.Status.PUBLISHED,
        open_joining=True,
        signer_kinds=Letter.SignerKinds.BOTH,
        signing_fields={"city": "required"},
    )
    page.goto(reverse("signers:join", args=[letter.slug]))
    for absent in ("country", "phone", "comment", "website", "contact_name"):
        assert page.locator(f"[name={absent}]").count() == 0
    expect(page.get_by_text("Your organisation's name")).to_be_visible()
    expect(page.get_by_text("Your name", exact=True)).to_be_hidden()

    # Choose "Individual" in the radio group with the arrow keys.
    tab_to(page, "kind")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("radio", name="Individual")).to_be_checked()
    expect(page.get_by_text("Your name", exact=True)).to_be_visible()
    expect(page.get_by_text("Your organisation's name")).to_be_hidden()
    expect(page.get_by_text("List me publicly with the other signers")).to_be_visible()
    expect(page.locator("[name=attested]")).to_be_hidden()
    expect(page.locator("[name=consent_logo]")).to_be_hidden()

    # Each Tab reaches the next field the individual is asked, and no other.
    for name, typed in [
        ("display_name", "Ada Lovelace"),
        ("city", "London"),
        ("email", "ada@example.org"),
        ("consent_listed", ""),  # ticked already
        ("consent_updates", " "),  # Space ticks it
    ]:
        page.keyboard.press("Tab")
        assert focused_name(page) == name
        page.keyboard.type(typed)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign the letter")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    ada = Signature.objects.get()
    assert (ada.kind, ada.display_name, ada.city) == (
        "individual",
        "Ada Lovelace",
        "London",
    )
    assert ada.consent_listed and ada.consent_updates and not ada.attested
