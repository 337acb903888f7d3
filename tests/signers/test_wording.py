"""Sentences that read right: names ending in a full stop, counts, audiences, roles."""

import ast
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from coalition.emails import render_email
from coalition.text import before_full_stop
from coalition.tokens import make_token
from letters.models import Membership
from signers.models import Call, Update
from tests.factories import ProspectFactory, SignatureFactory, UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
TEMPLATES = ROOT / "templates"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Öko-Schulweg e.V.", "Öko-Schulweg e.V"),
        ("Acme Ltd.", "Acme Ltd"),
        ("Friends of the Park", "Friends of the Park"),
        ("Trailing space e.V. ", "Trailing space e.V"),
    ],
)
def test_a_name_before_a_full_stop_keeps_one(name, expected):
    assert before_full_stop(name) == expected
    assert not (before_full_stop(name) + ".").endswith("..")


def test_an_invitation_for_an_ev_has_no_doubled_full_stop(client, letter):
    prospect = ProspectFactory(letter=letter, organisation="Öko-Schulweg e.V.")

    page = client.get(
        reverse("signers:invitation", args=[make_token("invite", prospect.pk)])
    ).content.decode()

    assert "You are invited to sign this letter for Öko-Schulweg e.V.<" in page
    assert "e.V.." not in page


def test_the_welcome_email_of_a_site_named_with_an_abbreviation(settings):
    settings.SITE_NAME = "Netzwerk e.V."

    message = render_email(
        "account/email_confirmation_signup",
        {"activate_url": "https://example.org/confirm/abc/"},
        to=["new@example.org"],
    )

    assert "Welcome to Netzwerk e.V." in message.body
    assert "e.V.." not in message.body
    assert "e.V.." not in message.alternatives[0][0]


def test_the_updates_tab_counts_one_signer_and_one_invitee_in_the_singular(
    client, letter, organiser
):
    SignatureFactory(letter=letter, consent_updates=True)
    ProspectFactory(letter=letter, status="invited", invited_at=timezone.now())
    client.force_login(organiser)

    page = client.get(reverse("signers:updates", args=[letter.slug])).content.decode()

    assert "1 signer agreed to receive updates;" in page
    assert "1 invitee has not answered yet." in page
    assert "1 signers" not in page and "1 invitees" not in page


def test_a_call_reminder_one_minute_ahead_says_minute():
    letter_call = Call(
        title="Planning",
        starts_at=timezone.now() + timedelta(minutes=1),
        duration_minutes=1,
        join_url="https://meet.example.org/x",
    )

    message = render_email(
        "signers/call_reminder",
        {"call": letter_call, "minutes": 1},
        to=["a@example.org"],
    )

    assert message.subject.startswith("Starting in 1 minute: ")
    assert "starts in 1 minute." in message.body
    assert "1 minutes" not in message.body + message.subject


# A number followed by a plural noun in a block that is not counted: "1 recipients".
COUNTED_NOUN = re.compile(
    r"\{\{ ?(n|count|counter|total|minutes|seconds|days|hours|[a-z_]*count|[a-z_.]*s)"
    r" ?\}\} (?!of\b)[a-z]+s\b"
)
BLOCK = re.compile(r"\{% blocktranslate(?P<args>[^%]*)%\}(?P<body>.*?)\{% end", re.S)


def test_every_count_in_a_template_goes_through_a_plural_form():
    found = []
    for path in TEMPLATES.rglob("*.*"):
        for block in BLOCK.finditer(path.read_text()):
            if "count" in block["args"]:
                continue
            if match := COUNTED_NOUN.search(block["body"]):
                found.append(f"{path.relative_to(TEMPLATES)}: {match.group()}")
    assert found == []


def test_an_update_to_both_says_who_it_goes_to(client, letter, organiser):
    update = Update.objects.create(
        letter=letter, subject="News", body="Text", audience=Update.Audience.BOTH
    )
    client.force_login(organiser)

    page = client.get(
        reverse("signers:update-detail", args=[letter.slug, update.pk])
    ).content.decode()

    assert (
        "To: Signers who agreed to receive updates and invitees who have not "
        "answered yet" in page
    )
    assert "To: Both" not in page


def test_the_roles_are_explained_once_in_one_wording(client, letter, organiser):
    Membership.objects.create(
        letter=letter, user=UserFactory(), role=Membership.Role.EDITOR
    )
    client.force_login(organiser)

    page = client.get(reverse("letters:team", args=[letter.slug])).content.decode()

    assert page.count("editors also change") == 1
    assert escape(str(Membership.ROLES_EXPLAINED)) in page
    assert "publish revisions" in str(Membership.ROLES_EXPLAINED)
    assert "Invite a co-organiser" in page  # the owner's form is on the same page


# A count in a sentence given to gettext, not ngettext: "%(n)d recipients".
# (A line or revision number names one thing: "line %(line)d contains".)
PYTHON_COUNT = re.compile(r"%\((?!line\b|number\b)\w+\)d [a-z]+s\b")


def test_every_count_in_the_code_goes_through_a_plural_form():
    found = []
    for app in ("coalition", "letters", "signers"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "id", None) in ("_", "gettext")
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and PYTHON_COUNT.search(str(node.args[0].value))
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_sending_an_update_to_one_recipient_says_recipient(client, letter, organiser):
    SignatureFactory(letter=letter, consent_updates=True)
    update = Update.objects.create(letter=letter, subject="News", body="Text")
    client.force_login(organiser)

    response = client.post(
        reverse("signers:update-send", args=[letter.slug, update.pk]), follow=True
    )

    sent = [str(m) for m in response.context["messages"]]
    assert "Sending to 1 recipient." in sent
