"""Every URL the site has, walked as the wrong people and with the wrong methods.

The URLs come from the resolver, so a new view cannot be forgotten here.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RegexPattern
from django.utils import timezone

from coalition.models import CoalitionMember
from coalition.outbox.services import outbox_enqueue
from coalition.tokens import make_token
from letters.models import Membership, TeamInvitation
from signers.models import (
    Call,
    CallInvitation,
    EmailKind,
    PartnerMatch,
    Reissue,
    ReissueOptIn,
    SignatureImportJob,
)
from tests.factories import (
    AgreementFactory,
    LetterFactory,
    PartnerContactFactory,
    PartnerFactory,
    ProspectFactory,
    RevisionFactory,
    SignatureFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SKIP_PREFIXES = ("admin/", "static/", "media/")


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    params: tuple[tuple[str, str], ...]  # (argument, converter or "regex")


def walk(patterns, prefix="", namespace="") -> Iterator[Route]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern) and p.name:
            if isinstance(p.pattern, RegexPattern):
                params = tuple((k, "regex") for k in p.pattern.regex.groupindex)
            else:
                params = tuple(
                    (k, type(v).__name__) for k, v in p.pattern.converters.items()
                )
            yield Route(f"{namespace}{p.name}", prefix + str(p.pattern), params)


ROUTES = [
    r
    for r in walk(get_resolver().url_patterns)
    if not r.route.startswith(SKIP_PREFIXES)
]
# Organiser pages of one letter or one coalition (the dashboards are everyone's).
ORGANISER_ROUTES = [
    r
    for r in ROUTES
    if r.route.startswith("workspace/")
    and {("slug", "SlugConverter"), ("coalition", "SlugConverter")} & set(r.params)
]
SECRET_ROUTES = [r for r in ROUTES if {"token", "key"} & {n for n, _ in r.params}]


@pytest.fixture
def world():
    owner, viewer, stranger = UserFactory(), UserFactory(), UserFactory()
    letter = LetterFactory(owner=owner, status="circulating")
    letter.current_revision = RevisionFactory(letter=letter, number=1)
    letter.save()
    Membership.objects.create(letter=letter, user=viewer, role=Membership.Role.VIEWER)
    # Member URLs name the owner's row: a viewer may leave, but not remove them.
    coalition_owner = CoalitionMember.objects.create(
        coalition=letter.coalition, user=owner, role=CoalitionMember.Role.OWNER
    )
    CoalitionMember.objects.create(
        coalition=letter.coalition, user=viewer, role=CoalitionMember.Role.VIEWER
    )
    signature = SignatureFactory(letter=letter, revision=letter.current_revision)
    prospect = ProspectFactory(letter=letter)
    team_invitation = TeamInvitation.objects.create(
        letter=letter, email="new@example.org", role="editor", invited_by=owner
    )
    delivery = outbox_enqueue(
        kind=EmailKind.INVITATION,
        key="sweep",
        to=prospect.email,
        letter_id=letter.pk,
        prospect_id=prospect.pk,
    )
    call = Call.objects.create(
        letter=letter,
        title="Coalition call",
        starts_at=timezone.now() + timedelta(days=2),
        join_url="https://meet.example.org/x",
    )
    call_invitation = CallInvitation.objects.create(
        call=call, email=signature.email, signature=signature
    )
    reissue = Reissue.objects.create(source=letter, letter=LetterFactory(owner=owner))
    reissue_opt_in = ReissueOptIn.objects.create(reissue=reissue, earlier=signature)
    partner = PartnerFactory(coalition=letter.coalition)
    import_job = SignatureImportJob.objects.create(
        letter=letter, created_by=owner, payload=b"Organisation,Email\n", total_rows=1
    )
    return {
        "import_job": import_job,
        "partner": partner,
        "partner_contact": PartnerContactFactory(partner=partner),
        "agreement": AgreementFactory(partner=partner),
        "partner_match": PartnerMatch.objects.create(
            partner=partner, prospect=prospect, reason=PartnerMatch.Reason.NAME
        ),
        "coalition_member": coalition_owner,
        "call_invitation": call_invitation,
        "reissue_opt_in": reissue_opt_in,
        "delivery": delivery,
        "team_invitation": team_invitation,
        "owner": owner,
        "viewer": viewer,
        "stranger": stranger,
        "letter": letter,
        "signature": signature,
        "prospect": prospect,
    }


# Which row and purpose a token URL expects, so a GET reaches the real page.
TOKEN_FOR = {
    "signers:invitation": ("invite", "prospect"),
    "signers:decline": ("decline", "prospect"),
    "signers:confirm": ("confirm", "signature"),
    "signers:withdraw": ("withdraw", "signature"),
    "signers:edit": ("edit", "signature"),
    "signers:my-data": ("edit", "signature"),
    "signers:suggest": ("edit", "signature"),
    "signers:reconfirm": ("reconfirm", "signature"),
    "signers:thanks": ("refer", "signature"),
    "signers:invitation-opened": ("invite", "prospect"),
    "letters:team-accept": ("team", "team_invitation"),
    "signers:unsubscribe": ("unsubscribe", "delivery"),
    "signers:call-rsvp": ("rsvp", "call_invitation"),
    "signers:reissue-opt-in": ("reissue", "reissue_opt_in"),
}

# One-click unsubscribe (RFC 8058): mail programs POST it without a session or
# CSRF token; the signed, purpose-bound token in the URL is the authorisation.
CSRF_EXEMPT = {"signers:unsubscribe"}


# The row a coalition URL's <int:...> names.
COALITION_ROWS = {
    "member": "coalition_member",
    "partner": "partner",
    "contact": "partner_contact",
    "agreement": "agreement",
    "match": "partner_match",
}


def build(route: Route, world) -> str:
    kwargs = {}
    for name, conv in route.params:
        if name == "slug":
            kwargs[name] = world["letter"].slug
        elif name == "coalition":
            kwargs[name] = world["letter"].coalition.slug
        elif name in COALITION_ROWS:
            kwargs[name] = world[COALITION_ROWS[name]].pk
        elif name == "token":
            purpose, row = TOKEN_FOR.get(route.name, ("withdraw", "signature"))
            kwargs[name] = make_token(purpose, world[row].pk)
        elif name == "number":
            kwargs[name] = 1
        elif name == "job":
            kwargs[name] = world["import_job"].pk
        elif conv == "IntConverter":
            kwargs[name] = world["signature"].pk
        elif name == "action":
            kwargs[name] = "approve"
        elif name == "answer":
            kwargs[name] = "confirm"
        elif name == "uidb36":
            kwargs[name] = "1"
        else:
            kwargs[name] = "abc"
    return reverse(route.name, kwargs=kwargs)


def snapshot():
    """Every row the project's own apps hold."""
    rows = {}
    for label in ("coalition", "letters", "signers"):
        for model in apps.get_app_config(label).get_models():
            values = list(model.objects.order_by("pk").values())
            for v in values:
                v.pop("last_login", None)  # logging in is the test's doing
            rows[model.__name__] = values
    return rows


def test_the_sweep_sees_the_organiser_and_signer_urls():
    names = {r.name for r in ROUTES}
    assert {
        "letters:dashboard",
        "signers:withdraw",
        "signers:letter-signatures",
    } <= names
    assert len(ORGANISER_ROUTES) >= 5


@pytest.mark.parametrize("route", ORGANISER_ROUTES, ids=lambda r: r.name)
def test_organiser_urls_refuse_strangers_and_anonymous_visitors(route, world):
    url = build(route, world)
    letter = world["letter"]
    before = snapshot()

    stranger = Client()
    stranger.force_login(world["stranger"])
    for response in (stranger.get(url), stranger.post(url, {})):
        assert response.status_code in (403, 404, 405), (url, response.status_code)
        assert letter.title.encode() not in response.content

    anonymous = Client()
    for response in (anonymous.get(url), anonymous.post(url, {})):
        assert response.status_code in (302, 403, 404, 405), url
        if response.status_code == 302:
            assert response.url.startswith("/accounts/login/"), url

    assert snapshot() == before


@pytest.mark.parametrize("route", ORGANISER_ROUTES, ids=lambda r: r.name)
def test_viewers_cannot_change_anything(route, world):
    url = build(route, world)
    viewer = Client()
    viewer.force_login(world["viewer"])
    before = snapshot()

    viewer.post(url, {})

    assert snapshot() == before, url


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_get_never_changes_state(route, world):
    url = build(route, world)
    client = Client()
    client.force_login(world["owner"])
    before = snapshot()

    client.get(url)

    assert snapshot() == before, url


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.name not in CSRF_EXEMPT], ids=lambda r: r.name
)
def test_post_without_a_csrf_token_is_refused(route, world):
    url = build(route, world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["owner"])
    before = snapshot()

    response = client.post(url, {})

    assert response.status_code in (403, 405), (url, response.status_code)
    assert snapshot() == before, url


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.name in CSRF_EXEMPT], ids=lambda r: r.name
)
def test_csrf_exempt_urls_act_only_on_a_token_for_their_purpose(route, world):
    client = Client(enforce_csrf_checks=True)
    wrong = route.route.replace(
        "<str:token>", make_token("withdraw", world["delivery"].pk)
    )
    before = snapshot()

    response = client.post("/" + wrong, {})

    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("route", ORGANISER_ROUTES, ids=lambda r: r.name)
def test_every_organiser_url_is_not_found_for_someone_not_on_the_team(route, world):
    """The one permission check (letters.permissions) answers alike everywhere:
    whether the letter exists is not told to an outsider."""
    url = build(route, world)
    stranger = Client()
    stranger.force_login(world["stranger"])

    assert stranger.get(url).status_code in (404, 405), url
    # 405 comes before any look-up, so it tells nothing about the letter.
    assert stranger.post(url, {}).status_code in (404, 405), url


# Anyone may leave a team, viewers too (tests/letters/test_permissions.py).
ANYONE_ON_THE_TEAM_POSTS = {"letters:member-remove"}


@pytest.mark.parametrize(
    "route",
    [r for r in ORGANISER_ROUTES if r.name not in ANYONE_ON_THE_TEAM_POSTS],
    ids=lambda r: r.name,
)
def test_every_organiser_url_refuses_a_viewers_post(route, world):
    url = build(route, world)
    viewer = Client()
    viewer.force_login(world["viewer"])

    assert viewer.post(url, {}).status_code in (403, 405), url
