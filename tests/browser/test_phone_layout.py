"""Every organiser page fits a 390 px phone: no sideways scroll, nothing cut.

One browser session walks every organiser page of a demo-like coalition (the
demo seed, plus long names and addresses, a failed email and an invitation
batch), and at 768 px checks that a wide table scrolls inside itself, not the
page. `ORGANISER_PAGES` lists the pages; a test checks the list against the
URL conf, so a new organiser view must say here whether it is a page.
"""

import os
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from coalition.management.commands.seed_demo import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DEMO_SLUG,
)
from coalition.models import User
from coalition.outbox.models import OutboxMessage
from coalition.outbox.services import outbox_enqueue
from letters.models import Letter
from signers.models import (
    ChangeRequest,
    EmailKind,
    InvitationBatch,
    Partner,
    PartnerMatch,
    Signature,
    SignatureImportJob,
)
from signers.planning.reminders import batch_group
from tests.browser.test_journey import screenshot
from tests.coalition.test_url_sweep import ROUTES
from tests.factories import (
    AgreementFactory,
    PartnerContactFactory,
    PartnerFactory,
    ProspectFactory,
    SignatureFactory,
)

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}
# A folder to keep a phone-width screenshot of each page in, when set.
SHOTS = os.environ.get("PHONE_SCREENSHOTS", "")
# The pages the README shows at phone width (`make screenshots`).
README_SHOTS = {"signers:outreach": "phone-outreach"}
LONG_NAME = (
    "Internationale Arbeitsgemeinschaft der Bürgerinitiativen für "
    "Verkehrsberuhigung und Schulwegsicherheit Nordrhein-Westfalen e.V."
)
LONG_EMAIL = (
    "koordinationsstelle.verkehrsberuhigung.schulwegsicherheit"
    "@arbeitsgemeinschaft-buergerinitiativen-nordrhein-westfalen.example.org"
)

# Each organiser page: URL name -> the arguments it needs from the world
# (see `world_kwargs`) and, optionally, a query string.
ORGANISER_PAGES: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "letters:dashboard": ((), {}),
    "letters:create": ((), {}),
    "letters:detail": (("slug",), {}),
    "letters:edit": (("slug",), {}),
    "letters:settings": (("slug",), {}),
    "letters:revisions": (("slug",), {}),
    "letters:revision-publish": (("slug",), {}),
    "letters:revision": (("slug", "number"), {}),
    "letters:diff": (("slug",), {"old": "1", "new": "2"}),
    "letters:team": (("slug",), {}),
    "letters:activity": (("slug",), {}),
    "signers:change-requests": (("slug",), {}),
    "signers:change-request": (("slug", "pk:change_request"), {}),
    "signers:notice-settings": ((), {}),
    "signers:outreach-compose": (("slug",), {"only": "prospect"}),
    "signers:letter-signatures": (("slug",), {}),
    "signers:signature-import": (("slug",), {}),
    "signers:signature-import-job": (("slug", "job:import_job"), {}),
    "signers:signature-detail": (("slug", "pk:signature"), {}),
    "signers:outreach": (("slug",), {}),
    "signers:prospect-add": (("slug",), {}),
    "signers:prospect-edit": (("slug", "pk:prospect"), {}),
    "signers:prospect-import": (("slug",), {}),
    "signers:outreach-batch": (("slug", "pk:batch"), {}),
    "signers:outreach-schedule": (("slug",), {}),
    "signers:updates": (("slug",), {}),
    "signers:update-new": (("slug",), {}),
    "signers:update-detail": (("slug", "pk:update"), {}),
    "signers:update-edit": (("slug", "pk:update"), {}),
    "signers:calls": (("slug",), {}),
    "signers:call-new": (("slug",), {}),
    "signers:call-detail": (("slug", "pk:call"), {}),
    "signers:call-edit": (("slug", "pk:call"), {}),
    "signers:call-notes": (("slug", "pk:call"), {}),
    "signers:reissue": (("slug",), {}),
    "partners:invite": (("slug",), {}),
    "coalitions:list": ((), {}),
    "coalitions:detail": (("coalition",), {}),
    "coalitions:settings": (("coalition",), {}),
    "coalitions:members": (("coalition",), {}),
    "coalitions:activity": (("coalition",), {}),
    "partners:list": (("coalition",), {}),
    "partners:create": (("coalition",), {}),
    "partners:matches": (("coalition",), {}),
    "partners:merge": (("coalition",), {"keep": "partner", "absorb": "other"}),
    "partners:detail": (("coalition", "partner"), {}),
    "partners:edit": (("coalition", "partner"), {}),
    "partners:delete": (("coalition", "partner"), {}),
    "partners:contact-edit": (("coalition", "partner", "contact"), {}),
    "partners:agreement-add": (("coalition", "partner"), {}),
    "partners:agreement-edit": (("coalition", "partner", "agreement"), {}),
    "network:map": (("coalition",), {}),
    "network:review": (("coalition",), {}),
}
# Organiser URLs that are not pages: buttons (POST only), files, data, redirects.
NOT_PAGES = {
    "signers:change-request-accept",
    "signers:change-request-decline",
    "signers:change-request-reply",
    "signers:prospects-bulk",
    "signers:signature-logo",
    "signers:signature-logo-file",
    "letters:after-login",
    "letters:team-accept",
    "letters:start-circulating",
    "letters:publish",
    "letters:close",
    "letters:reopen",
    "letters:member-role",
    "letters:member-remove",
    "letters:invitation-revoke",
    "signers:signature-export",
    "signers:signature-act",
    "signers:prospect-export",
    "signers:outreach-invite",
    "signers:outreach-retry",
    "signers:update-digest",
    "signers:update-test",
    "signers:update-send",
    "signers:export-csv",
    "coalitions:member-role",
    "coalitions:member-remove",
    "partners:csv",
    "partners:match-scan",
    "partners:match-answer",
    "partners:contact-add",
    "partners:contact-delete",
    "partners:agreement-delete",
    "partners:agreement-file",
    "network:map-data",
    "network:graphml",
    "network:gexf",
    "network:nodes-csv",
    "network:edges-csv",
}

# What may scroll sideways inside itself on a phone: nothing yet (tables
# become cards). A selector, for `Element.matches`.
SCROLLS_INSIDE = ".scrolls-inside"

# Runs in the page: whether it scrolls sideways, and each visible element of
# the header and main that reaches past the screen's right (or left) edge,
# unless a box between it and main scrolls or clips sideways on purpose
# (a `.table-wrap`, the map's canvas). Visually hidden and off-screen helpers
# (the skip link, the honeypot) sit wholly outside and are left alone. A box
# that scrolls sideways inside itself is reported too, unless SCROLLS_INSIDE.
OVERFLOW_JS = """
(SCROLLS_INSIDE) => {
  const width = window.innerWidth;
  const problems = [];
  const scroll = document.documentElement.scrollWidth;
  if (scroll > width) problems.push(`the page is ${scroll}px wide`);
  const describe = (el) => {
    const parts = [];
    let e = el;
    for (; e && e !== document.body && parts.length < 3; e = e.parentElement) {
      let part = e.tagName.toLowerCase();
      if (e.id) part += '#' + e.id;
      if (e.classList.length) part += '.' + [...e.classList].join('.');
      parts.unshift(part);
    }
    return parts.join(' > ');
  };
  const clipped = (el) => {
    for (let e = el.parentElement; e && e !== document.body; e = e.parentElement) {
      if (!['visible', ''].includes(getComputedStyle(e).overflowX)) return true;
    }
    return false;
  };
  for (const el of document.querySelectorAll('main *')) {
    const style = getComputedStyle(el);
    const scrolls = ['auto', 'scroll'].includes(style.overflowX);
    if (scrolls && el.scrollWidth > el.clientWidth + 1 && !el.matches(SCROLLS_INSIDE)) {
      problems.push(`${describe(el)} scrolls sideways inside itself`);
    }
  }
  for (const el of document.querySelectorAll('.site-header *, main *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right <= 0 || r.left >= width) continue;
    if (getComputedStyle(el).visibility === 'hidden') continue;
    if (r.right <= width + 0.5 && r.left >= -0.5) continue;
    if (clipped(el)) continue;
    const span = `${Math.round(r.left)}..${Math.round(r.right)}px`;
    problems.push(`${describe(el)} spans ${span}`);
    if (problems.length > 5) break;
  }
  return problems;
}
"""


def test_every_organiser_url_is_listed_as_a_page_or_not():
    organiser = {r.name for r in ROUTES if r.route.startswith("workspace/")}
    listed = set(ORGANISER_PAGES) | NOT_PAGES
    assert organiser - listed == set(), "add new organiser URLs to ORGANISER_PAGES"
    assert listed - organiser == set(), "these URLs are gone"
    assert set(ORGANISER_PAGES) & NOT_PAGES == set()


def _world():
    """The demo, and the long text that organisers' data really holds."""
    call_command("seed_demo", "--quiet")
    user = User.objects.get(email=DEMO_EMAIL)
    letter = Letter.objects.get(slug=DEMO_SLUG)
    coalition = letter.coalition
    signature = SignatureFactory(
        letter=letter,
        revision=letter.current_revision,
        display_name=LONG_NAME,
        email=LONG_EMAIL,
        contact_name="Maria-Theresia Aufderheide-Oberkirchner",
        status=Signature.Status.PENDING_APPROVAL,
    )
    prospect = ProspectFactory(
        letter=letter, organisation=LONG_NAME, email=LONG_EMAIL, owner=user
    )
    batch = InvitationBatch.objects.create(letter=letter, created_by=user)
    outbox_enqueue(
        kind=EmailKind.INVITATION,
        key=f"phone:{prospect.pk}",
        to=prospect.email,
        letter_id=letter.pk,
        prospect_id=prospect.pk,
        group=batch_group(batch.pk),
    )
    OutboxMessage.objects.filter(key=f"phone:{prospect.pk}").update(
        status=OutboxMessage.Status.FAILED,
        attempts=5,
        last_error="550 5.1.1 " + LONG_EMAIL + ": recipient address rejected",
    )
    partner = PartnerFactory(
        coalition=coalition,
        name=LONG_NAME,
        website="https://" + LONG_EMAIL.split("@")[1] + "/ueber-uns/vorstand",
    )
    other = Partner.objects.filter(coalition=coalition).exclude(pk=partner.pk).first()
    PartnerMatch.objects.create(
        partner=partner, prospect=prospect, reason=PartnerMatch.Reason.NAME
    )
    change_request = ChangeRequest.objects.create(
        letter=letter,
        revision=letter.current_revision,
        signature=signature,
        anchor="point-1",
        text=f"Please name {LONG_NAME} in point 1: {LONG_EMAIL}",
    )
    # A failed background import: its page lists each line's problem.
    import_job = SignatureImportJob.objects.create(
        letter=letter,
        created_by=user,
        payload=b"",
        total_rows=5000,
        status=SignatureImportJob.Status.FAILED,
        errors=[f"Line {n}: {LONG_NAME} has signed already." for n in (2, 3)],
    )
    return {
        "user": user,
        "import_job": import_job.pk,
        "change_request": change_request.pk,
        "slug": letter.slug,
        "coalition": coalition.slug,
        "number": 1,
        "signature": signature.pk,
        "prospect": prospect.pk,
        "batch": batch.pk,
        "update": letter.updates.first().pk,
        "call": letter.calls.first().pk,
        "partner": partner.pk,
        "other": other.pk,
        "contact": PartnerContactFactory(partner=partner, email=LONG_EMAIL).pk,
        "agreement": AgreementFactory(partner=partner, title=LONG_NAME).pk,
    }


def _url(name, world):
    args, query = ORGANISER_PAGES[name]
    kwargs = {}
    for arg in args:
        key, _, row = arg.partition(":")
        kwargs[key] = world[row or key]
    url = reverse(name, kwargs=kwargs)
    if query:
        url += "?" + urlencode({k: world.get(v, v) for k, v in query.items()})
    return url


def _keyboard_misses(page) -> list[str]:
    """The site menu's and the letter tabs' entries that Tab does not reach,
    or reaches off the screen."""
    wanted = page.eval_on_selector_all(
        ".site-nav a, .site-nav button, .subnav a",
        "els => els.map(e => e.textContent.trim())",
    )
    reached = set()
    for _ in range(len(wanted) + 5):
        page.keyboard.press("Tab")
        reached.add(
            page.evaluate(
                """() => {
                  const el = document.activeElement;
                  const r = el.getBoundingClientRect();
                  const seen = r.width > 0 && r.left >= 0
                    && r.right <= window.innerWidth;
                  return seen ? el.textContent.trim() : null;
                }"""
            )
        )
    return [f"Tab does not reach {name!r}" for name in wanted if name not in reached]


@pytest.mark.django_db(transaction=True)
def test_every_organiser_page_fits_a_phone(page):
    world = _world()
    page.set_viewport_size(PHONE)
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Your letters")).to_be_visible()

    failures = []
    for name in ORGANISER_PAGES:
        url = _url(name, world)
        response = page.goto(url)
        if response is None or response.status != 200:
            failures.append(f"{name} {url}: HTTP {response and response.status}")
            continue
        if SHOTS:
            shot = f"{SHOTS}/{name.replace(':', '-')}.png"
            page.screenshot(path=shot, full_page=True)
        if name in README_SHOTS:
            screenshot(page, README_SHOTS[name])
        for problem in page.evaluate(OVERFLOW_JS, SCROLLS_INSIDE):
            failures.append(f"{name} {url}: {problem}")
        # Wider than a phone, tables are tables again: a wide one scrolls
        # inside its .table-wrap, never the page.
        page.set_viewport_size(TABLET)
        if (wide := page.evaluate("document.documentElement.scrollWidth")) > 768:
            failures.append(f"{name} {url}: {wide}px wide on a tablet")
        page.set_viewport_size(PHONE)
    # The menu and the tabs, by keyboard, on the widest organiser page.
    page.goto(_url("signers:outreach", world))
    failures += _keyboard_misses(page)
    assert failures == [], "\n".join(failures)
