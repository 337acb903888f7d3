"""The whole journey, end to end: a real browser, a real worker, real SMTP.

An organiser signs up and verifies, writes a letter, imports prospects and
invites them; invitees sign and decline from their emailed links; the reminder
reaches only the one who has not answered; a material revision sends signers
back to re-confirm; the letter is published, its page lists the signers A to Z
and its PDF holds them. Screenshots of the key pages go to var/screenshots
(or docs/screenshots, for the README, with `make screenshots`).
"""

import io
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.message import Message
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import kombu.pools
import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from coalition.celery import app as celery_app
from coalition.outbox.models import OutboxMessage
from coalition.outbox.tasks import outbox_dispatch_task
from letters.models import Letter, LetterPdf
from signers.models import EmailKind, Prospect, Signature
from signers.tasks import outreach_plan_due_task
from tests.browser.conftest import serious_accessibility_violations
from tests.browser.test_signing import text_of
from tests.conftest import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Screenshots go to var/ on every run; `JOURNEY_SCREENSHOTS=docs/screenshots` (as
# `make screenshots` sets) refreshes the README's copies, so a test run never
# leaves committed files changed.
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / os.environ.get("JOURNEY_SCREENSHOTS", "var/screenshots")
ZONE = ZoneInfo("Europe/London")
TITLE = "Clean air around every school"
ORGANISER = "ada@coalition.example.org"
PASSWORD = "Plenty-of-entropy-42"


@dataclass(frozen=True)
class Invitee:
    organisation: str
    contact: str
    email: str


RIVERSIDE = Invitee(
    "Riverside Tenants' Association", "Rosa Diaz", "rosa@riverside.example.org"
)
NORTHGATE = Invitee("Northgate Food Bank", "Sam Okafor", "sam@northgate.example.org")
HILLCREST = Invitee(
    "Hillcrest Cycling Club", "Priya Shah", "priya@hillcrest.example.org"
)
JOINER = "hello@allotments.example.org"  # joins from the public page at the end

PROSPECTS_CSV = "organisation,contact name,email\n" + "".join(
    f'"{p.organisation}",{p.contact},{p.email}\n'
    for p in (RIVERSIDE, NORTHGATE, HILLCREST)
)


# --- Plumbing -------------------------------------------------------------------


@pytest.fixture
def site(live_server, settings, monkeypatch) -> str:
    """Emailed links point at the live server, from this process and the worker
    (which is started after this and copies the environment)."""
    settings.SITE_URL = live_server.url
    monkeypatch.setenv("SITE_URL", live_server.url)
    return live_server.url


@pytest.fixture
def worker(site, celery_worker):
    """The worker, with every task the site queues sent to it.

    Unit tests publish to an in-memory broker; here the live server's
    ``delay_on_commit`` calls go to the worker's queue on Redis instead.
    """
    conf = celery_app.conf
    keys = ("broker_url", "task_default_queue", "broker_transport_options")
    saved = {key: conf[key] for key in keys}
    _configure_broker(
        broker_url=celery_worker.broker_url,
        task_default_queue=celery_worker.queue,
        broker_transport_options={},
    )
    try:
        yield celery_worker
    finally:
        _configure_broker(**saved)


def _configure_broker(**conf) -> None:
    app: Any = celery_app
    app.conf.update(conf)
    # Connection and producer pools, and the queue table, are built from the
    # configuration at first use and kept (the pools in a registry shared by
    # every app and keyed by broker URL): close and forget them all, so that
    # the next task builds them afresh from the new configuration.
    kombu.pools.reset()
    app._pool = None
    vars(app).pop("amqp", None)


@contextmanager
def someone_else(browser, site: str) -> Iterator:
    """A browser of their own: an invitee or a visitor is not the organiser."""
    context = browser.new_context(base_url=site)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
    finally:
        context.close()


def recipient(message: Message) -> str:
    return parseaddr(message["To"])[1].lower()


def subject(message: Message) -> str:
    return " ".join(str(message["Subject"]).split())  # unfolded


def wait_for_mail(worker, to: str, about: str) -> Message:
    """The newest message to ``to`` whose subject contains ``about``."""
    found: list[Message] = []

    def arrived() -> bool:
        found[:] = [
            m
            for m in worker.smtp.messages
            if recipient(m) == to and about in subject(m)
        ]
        return bool(found)

    assert wait_until(arrived, timeout=30), (
        f"no mail to {to} about {about!r}; got "
        f"{[(recipient(m), subject(m)) for m in worker.smtp.messages]}\n"
        + worker.log.read_text(errors="replace")[-3000:]
    )
    return found[-1]


def link_in(message: Message, site: str, path: str) -> str:
    """The link in the message's text whose path matches the ``path`` pattern."""
    match = re.search(rf"{re.escape(site)}{path}(?=\s|$)", text_of(message))
    assert match, text_of(message)
    return match.group(0)


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def funnel(page) -> dict[str, str]:
    """The outreach page's funnel: stage -> number."""
    rows = page.locator("table.funnel tbody tr").all()
    return {
        row.locator("th").inner_text(): row.locator(".funnel__count").inner_text()
        for row in rows
    }


# --- The journey ----------------------------------------------------------------


def test_a_letter_goes_from_sign_up_to_a_published_page_and_pdf(
    page, browser, site, worker
):
    tabs = page.get_by_role("navigation", name="Letter sections")
    soft_deadline = datetime.combine(
        timezone.localdate(timezone=ZONE) + timedelta(days=10), time(17), ZONE
    )

    # The organiser signs up and verifies their address from the email.
    page.goto("/")
    page.get_by_role("link", name="Start organising").click()
    page.get_by_label("Email").fill(ORGANISER)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(
        page.get_by_role("heading", name="Verify Your Email Address")
    ).to_be_visible()
    verify = wait_for_mail(worker, ORGANISER, "Confirm your email address")
    page.goto(link_in(verify, site, r"/accounts/confirm-email/[^/\s]+/"))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Your letters")).to_be_visible()

    # They write the letter, set its deadline, and publish revision 1.
    page.get_by_role("link", name="New letter").click()
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Time zone").fill("Europe/London")
    page.get_by_label("Addressee").fill("To the Members of the City Council")
    page.get_by_label("Point of unity 1").fill("Every child deserves clean air.")
    page.get_by_label("Point of unity 2").fill("Traffic should slow near schools.")
    page.get_by_label("Letter", exact=True).fill(
        "We ask the Council to act before the next school year."
    )
    page.get_by_role("button", name="Create letter").click()
    expect(page.get_by_text("Letter created.")).to_be_visible()
    letter = Letter.objects.get(title=TITLE)

    tabs.get_by_role("link", name="Settings").click()
    page.get_by_label("Deadline given to invitees").fill(
        soft_deadline.strftime("%Y-%m-%dT%H:%M")
    )
    page.get_by_label("Once published, anyone may add their organisation").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()

    tabs.get_by_role("link", name="Text and revisions").click()
    page.get_by_role("link", name="Publish revision").click()
    page.get_by_role("button", name="Publish revision 1").click()
    expect(page.get_by_text("Revision 1 published.")).to_be_visible()
    tabs.get_by_role("link", name="Overview").click()
    page.get_by_role("button", name="Start circulating").click()
    expect(page.get_by_text("The letter is circulating")).to_be_visible()

    # Prospects come from a CSV file: a preview first, then the import.
    tabs.get_by_role("link", name="Outreach").click()
    page.get_by_role("link", name="Import from CSV").click()
    page.get_by_label("CSV file").set_input_files(
        {
            "name": "prospects.csv",
            "mimeType": "text/csv",
            "buffer": PROSPECTS_CSV.encode(),
        }
    )
    page.get_by_role("button", name="Preview the import").click()
    expect(page.get_by_role("status")).to_contain_text("3 rows to add")
    expect(page.get_by_role("cell", name=HILLCREST.organisation)).to_be_visible()
    assert not Prospect.objects.exists()  # a preview writes nothing
    page.get_by_role("button", name="Import 3 prospects").click()
    expect(page.get_by_text("3 prospects imported.")).to_be_visible()

    # The invitations go out through the worker.
    page.get_by_role("button", name="Invite the 3 prospects not invited yet").click()
    # The send step shows the exact email first, from the organiser.
    expect(
        page.get_by_role("heading", name=f"The email to {HILLCREST.organisation}")
    ).to_be_visible()
    page.get_by_role("button", name="Send 3 invitations").click()
    expect(page.get_by_text("Sending the invitations.")).to_be_visible()
    invitations = {
        who: wait_for_mail(worker, who.email, f"Will {who.organisation} sign")
        for who in (RIVERSIDE, NORTHGATE, HILLCREST)
    }
    assert wait_until(
        lambda: Prospect.objects.filter(status=Prospect.Status.INVITED).count() == 3
    )
    page.reload()
    page.get_by_role("link", name="Results of the last invitations").click()
    expect(page.get_by_role("heading", name="Invitations sent")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("3 of 3 done: 3 sent")

    # Two invitees sign from their emailed links.
    for who in (RIVERSIDE, NORTHGATE):
        sign_url = link_in(invitations[who], site, r"/invite/[^/\s]+/")
        with someone_else(browser, site) as invitee:
            invitee.goto(sign_url)
            expect(invitee.get_by_role("heading", name=TITLE)).to_be_visible()
            expect(invitee.get_by_label("Your organisation's name")).to_have_value(
                who.organisation
            )
            invitee.get_by_label("City or region").fill("Springfield")
            invitee.get_by_label("Country").fill("United Kingdom")
            invitee.get_by_label(
                "I am authorised to sign on behalf of this organisation"
            ).check()
            if who == RIVERSIDE:
                screenshot(invitee, "signing-page")
                serious = serious_accessibility_violations(browser, sign_url)
                assert serious == [], json.dumps(serious, indent=2)
            invitee.get_by_role("button", name="Sign the letter").click()
            expect(invitee.get_by_role("heading", name="Thank you")).to_be_visible()
        receipt = wait_for_mail(worker, who.email, "Your signature on")
        assert letter.revisions.get(number=1).sha256 in text_of(receipt)

    # A day before the deadline, the planner and the dispatcher (beat runs
    # them every minute)
    # reminds only the invitee who has not answered, once. It runs in this
    # process, where the clock can move, and sends over real SMTP to the same
    # server as the worker.
    sent_before = len(worker.smtp.received)
    with time_machine.travel(soft_deadline - timedelta(hours=20)) as clock:
        outreach_plan_due_task()
        outbox_dispatch_task()
        clock.shift(timedelta(minutes=1))
        outreach_plan_due_task()
        outbox_dispatch_task()
    new_mail = worker.smtp.messages[sent_before:]
    assert [(recipient(m), subject(m)) for m in new_mail] == [
        (HILLCREST.email, f'Reminder: will {HILLCREST.organisation} sign "{TITLE}"?')
    ]
    reminder = new_mail[0]
    assert OutboxMessage.objects.filter(kind=EmailKind.SOFT_REMINDER).count() == 1

    # The third declines, from the reminder.
    with someone_else(browser, site) as invitee:
        invitee.goto(link_in(reminder, site, r"/invite/[^/\s]+/decline/"))
        invitee.get_by_label("Would you tell us why?").fill("Our board meets too late.")
        invitee.get_by_role("button", name="Tell the organisers").click()
        expect(invitee.get_by_text("We have told the organisers.")).to_be_visible()

    # The organiser's funnel shows it all: each of the three acted on a page,
    # so each opened the invitation.
    page.goto(f"/workspace/letters/{letter.slug}/outreach/")
    expect(page.get_by_role("heading", name="Funnel")).to_be_visible()
    assert funnel(page) == {
        "Prospects": "3",
        "Invited": "3",
        "Opened": "3",
        "Signed": "2",
        "Declined": "1",
    }
    screenshot(page, "outreach")
    serious = serious_accessibility_violations(
        browser, page.url, storage_state=page.context.storage_state()
    )
    assert serious == [], json.dumps(serious, indent=2)

    # A material revision 2: both signers are asked to re-confirm.
    tabs.get_by_role("link", name="Text and revisions").click()
    page.get_by_role("link", name="Edit draft").click()
    point = page.get_by_label("Point of unity 2")
    point.fill("Traffic must stop outside schools at opening and closing times.")
    point.blur()
    screenshot(page, "letter-editor")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    page.get_by_role("link", name="Publish revision").click()
    page.get_by_label("What changed, and why").fill("A firmer second point.")
    page.get_by_label("Material (signers must re-confirm)").check()
    page.get_by_role("button", name="Publish revision 2").click()
    expect(page.get_by_text("Revision 2 published.")).to_be_visible()
    requests = {
        who: wait_for_mail(worker, who.email, "has changed: please re-confirm")
        for who in (RIVERSIDE, NORTHGATE)
    }

    # One re-confirms; the other does not, and drops out of the count.
    with someone_else(browser, site) as signer:
        signer.goto(link_in(requests[RIVERSIDE], site, r"/s/reconfirm/[^/\s]+/"))
        expect(
            signer.get_by_role("heading", name="The letter has changed")
        ).to_be_visible()
        signer.get_by_role("button", name="Re-confirm on the new text").click()
        expect(signer.get_by_text("Thank you: you have re-confirmed.")).to_be_visible()
    statuses = dict(Signature.objects.values_list("email", "status"))
    assert statuses == {
        RIVERSIDE.email: Signature.Status.CONFIRMED,
        NORTHGATE.email: Signature.Status.NEEDS_RECONFIRMATION,
    }

    # The letter is published; a visitor adds their organisation.
    tabs.get_by_role("link", name="Overview").click()
    page.get_by_role("button", name="Publish now").click()
    expect(page.get_by_text("The letter is published")).to_be_visible()
    public_url = f"/letters/{letter.slug}/"
    with someone_else(browser, site) as visitor:
        visitor.goto(public_url)
        visitor.get_by_role("link", name="Add your organisation").click()
        visitor.get_by_label("Your organisation's name").fill("The Allotment Society")
        visitor.get_by_label("City or region").fill("Ashford")
        visitor.get_by_label("Email").fill(JOINER)
        visitor.get_by_label(
            "I am authorised to sign on behalf of this organisation"
        ).check()
        visitor.get_by_role("button", name="Sign the letter").click()
        expect(visitor.get_by_role("heading", name="Check your email")).to_be_visible()
        confirm = wait_for_mail(worker, JOINER, "Confirm your signature")
        visitor.goto(link_in(confirm, site, r"/s/confirm/[^/\s]+/"))
        visitor.get_by_role("button", name="Confirm our signature").click()
        expect(visitor.get_by_role("heading", name="Thank you")).to_be_visible()

        # The public page: signers A to Z (leading "The" ignored), the right count.
        visitor.goto(public_url)
        expect(visitor.locator(".signers__count")).to_have_text("2 signers")
        expect(visitor.locator("li[data-signer] .signer__name")).to_have_text(
            ["The Allotment Society", RIVERSIDE.organisation]
        )
        expect(visitor.get_by_text(NORTHGATE.organisation)).to_have_count(0)
        screenshot(visitor, "public-page")

        # The PDF, rendered by the worker for the current signer list.
        pdf_url = visitor.get_by_role("link", name="Download PDF").get_attribute("href")
        text = pdf_text_when_current(visitor, pdf_url, letter)
    allotment = text.index("The Allotment Society")
    assert allotment < text.index(RIVERSIDE.organisation)
    assert NORTHGATE.organisation not in text
    assert letter.revisions.get(number=2).sha256 in text.replace("\n", "")

    page.goto("/workspace/")
    card = page.locator(".card").filter(has_text=TITLE)
    expect(card).to_contain_text("Published")
    expect(card.locator(".dashboard__figures")).to_contain_text("2 signed")
    expect(card).to_contain_text("Nothing needs you now.")
    screenshot(page, "dashboard")


def pdf_text_when_current(page, url: str, letter: Letter) -> str:
    """Download the PDF once the worker has rendered the current signer list.

    Every signature changes the list: the first answer is the current list's
    PDF rendered in the request, or "being prepared" while a render is queued
    that the test then waits for; never an older list's PDF.
    """

    def current() -> bool:
        letter.refresh_from_db()
        pdfs = LetterPdf.objects.filter(letter=letter)
        return any(pdf.is_current_for(letter) for pdf in pdfs)

    first = page.request.get(url)
    assert first.status in (200, 503)
    assert wait_until(current, timeout=60)
    response = page.request.get(url)
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.body()))
    return "\n".join(p.extract_text() for p in reader.pages)
