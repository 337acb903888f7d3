"""Every email the site sends, built from a stranger's worst text.

Each kind (every signer email and outreach ``EmailKind``, the team
invitation, every allauth email) is built twice: from harmless values, and with
hostile ones in every field a signer, prospect or organiser can set. The hostile
HTML part must have exactly the elements and attributes of the harmless one,
with the hostile text in its text nodes only; the text part carries it as
typed; every header stays on its line. The kinds come from the models and from
allauth's templates, so a new kind without a case here fails.
"""

import email
from datetime import timedelta
from email import policy
from functools import partial
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import allauth
import pytest
from django.apps import apps
from django.core import mail
from django.utils import timezone
from icalendar import Calendar

from coalition.adapter import AccountAdapter
from coalition.models import User
from coalition.outbox.models import OutboxMessage
from coalition.outbox.services import outbox_message
from letters.emails import build_team_invitation
from letters.models import Letter, Revision, TeamInvitation
from signers.emails import BUILDERS, signature_email_message
from signers.models import (
    SIGNATURE_EMAIL_KINDS,
    Call,
    CallInvitation,
    ChangeRequest,
    EmailKind,
    Prospect,
    Reissue,
    ReissueOptIn,
    Signature,
    SignatureImportJob,
    Update,
)
from tests.factories import (
    LetterFactory,
    ProspectFactory,
    RevisionFactory,
    SignatureFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# Markup, a script, a Markdown link to javascript:, template syntax, an
# ampersand and a quote, and a header on a line of its own.
PAYLOAD = (
    '<img src=x onerror=alert(1)>"><script>alert(1)</script>'
    "[x](javascript:alert(1)) & ' "
    '{{ 7|add:1 }}{% now "Y" %}\r\nBcc: v@evil.example'
)
# The same shape, nothing in it.
HARMLESS = " plain words [here] & ' seven year\r\nand more words"
# What must arrive as text, whole.
SHOWN = (
    '<img src=x onerror=alert(1)>"><script>alert(1)</script>',
    '{{ 7|add:1 }}{% now "Y" %}',
)
NEVER_IN_AN_ATTRIBUTE = ("<", ">", "alert(", "onerror", "javascript:", "evil.example")
ESCAPED = ("&lt;", "&gt;", "&amp;", "&quot;", "&#x27;", "&#39;")


def typed(name, *, hostile):
    return name + (f" {PAYLOAD}" if hostile else HARMLESS)


def fitted(model, **values):
    """``values`` cut to their fields' lengths, as the forms and the database
    would have them."""
    return {
        name: value[: model._meta.get_field(name).max_length or None]
        for name, value in values.items()
    }


def build_world(*, hostile):
    """A letter with every row an email can speak of, every free-text field
    filled with ``typed(...)``."""
    t = partial(typed, hostile=hostile)
    now = timezone.now()
    organiser = UserFactory(**fitted(User, display_name=t("organiser")))
    colleague = UserFactory(**fitted(User, display_name=t("colleague")))
    letter = LetterFactory(
        **fitted(Letter, title=t("title"), addressee=t("addressee"), body=t("body")),
        owner=organiser,
        status=Letter.Status.CIRCULATING,
        points=[t("first point"), t("second point")],
        reply_to="team@coalition.example.org",
        time_zone="Europe/Paris",
        soft_deadline=now + timedelta(days=3),
        hard_deadline=now + timedelta(days=10),
    )
    first = RevisionFactory(letter=letter, number=1, author=organiser)
    letter.current_revision = first
    letter.save()
    # Appended words: the same differences, harmless or not.
    second = RevisionFactory(
        letter=letter,
        number=2,
        author=organiser,
        kind=Revision.Kind.MATERIAL,
        addressee=f"{first.addressee} more",
        points=[f"{p} more" for p in first.points],
        body=f"{first.body} more",
        change_note=t("change note"),
    )
    signature = SignatureFactory(
        **fitted(
            Signature,
            display_name=t("organisation"),
            city=t("city"),
            country=t("country"),
            website=f"https://friends.example.org/?{t('website')}",
            contact_name=t("contact"),
            contact_title=t("role"),
            phone=t("phone"),
            comment=t("comment"),
            rejection_reason=t("reason"),
            requested_display_name=t("new name"),
        ),
        letter=letter,
        revision=first,
        consent_updates=True,
    )
    SignatureFactory(
        **fitted(
            Signature,
            display_name=t("person"),
            affiliation=t("affiliation"),
            city=t("person's city"),
        ),
        letter=letter,
        revision=first,
        kind=Signature.Kind.INDIVIDUAL,
        attested=False,
    )
    prospect = ProspectFactory(
        **fitted(
            Prospect,
            organisation=t("prospect"),
            contact_name=t("prospect contact"),
            notes=t("notes"),
            decline_reason=t("decline"),
        ),
        letter=letter,
        owner=colleague,
        status="invited",
        next_follow_up=timezone.localdate() - timedelta(days=1),
    )
    update = Update.objects.create(
        **fitted(Update, subject=t("subject"), body=t("update")),
        letter=letter,
        created_by=organiser,
    )
    # The join link is the organiser's by design: an https address it may
    # carry markup in, escaped in the link's href.
    call = Call.objects.create(
        **fitted(Call, title=t("call"), agenda=t("agenda"), notes=t("call notes")),
        letter=letter,
        starts_at=now + timedelta(days=2),
        join_url='https://meet.example.org/room?"><script>alert(1)</script>',
    )
    CallInvitation.objects.create(call=call, email=signature.email, signature=signature)
    reissued = LetterFactory(**fitted(Letter, title=t("new title")), owner=organiser)
    reissued.current_revision = RevisionFactory(
        letter=reissued, number=1, author=organiser, addressee=t("new addressee")
    )
    reissued.save()
    reissue = Reissue.objects.create(source=letter, letter=reissued)
    ReissueOptIn.objects.create(reissue=reissue, earlier=signature)
    team_invitation = TeamInvitation.objects.create(
        letter=letter, email="new@example.org", role="editor", invited_by=organiser
    )
    change_request = ChangeRequest.objects.create(
        letter=letter,
        revision=first,
        signature=signature,
        anchor="point-1",
        text=t("requested change"),
        status=ChangeRequest.Status.ACCEPTED,
        accepted_revision=second,
        reply=t("reply"),
        replied_at=now,
        replied_by=organiser,
    )
    import_job = SignatureImportJob.objects.create(
        letter=letter,
        created_by=organiser,
        payload=b"",
        status=SignatureImportJob.Status.FAILED,
        total_rows=1,
        errors=[t("Line 2: a problem with")],
        finished_at=now,
    )
    return SimpleNamespace(
        import_job=import_job,
        change_request=change_request,
        organiser=organiser,
        letter=letter,
        first=first,
        second=second,
        signature=signature,
        prospect=prospect,
        update=update,
        call=call,
        reissued=reissued,
        team_invitation=team_invitation,
    )


# --- What the messages must look like ------------------------------------------


class Shape(HTMLParser):
    """The elements and attribute names of an HTML document, in order, its
    attribute values and its text (entities decoded)."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.elements, self.values, self.text = [], [], []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, tuple(sorted(name for name, _ in attrs))))
        self.values += [value or "" for _, value in attrs]

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        self.text.append(data)

    def handle_comment(self, data):
        self.elements.append(("<!--", ()))

    def handle_decl(self, decl):
        self.elements.append((decl.lower(), ()))

    def handle_pi(self, data):
        self.elements.append(("<?", ()))

    def unknown_decl(self, data):
        self.elements.append(("<![", ()))


def html_part(message):
    (html,) = [c for c, mime in message.alternatives if mime == "text/html"]
    return html


def assert_inert(hostile, harmless, *, shown=True, links=()):
    """``hostile`` says what ``harmless`` says, with the hostile text as text."""
    html = html_part(hostile)
    got, expected = Shape(html), Shape(html_part(harmless))
    assert got.elements == expected.elements
    for value in got.values:
        if value not in links:
            assert not any(bad in value for bad in NEVER_IN_AN_ATTRIBUTE), value
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    text = "".join(got.text)
    for fragment in SHOWN:
        if shown or fragment in hostile.body:
            assert fragment in text
            assert fragment in hostile.body
    assert not [entity for entity in ESCAPED if entity in hostile.body]
    assert_one_line_headers(hostile)


def assert_one_line_headers(message):
    assert "\n" not in message.subject and "\r" not in message.subject
    parsed = email.message_from_bytes(
        message.message().as_bytes(), policy=policy.default
    )
    assert parsed["Bcc"] is None
    assert [str(a.addr_spec) for a in parsed["To"].addresses] == list(message.to)
    assert message.recipients() == list(message.to)
    for name in ("From", "Reply-To", "To"):
        for address in parsed[name].addresses if parsed[name] else ():
            assert not any(bad in address.display_name for bad in ("evil", "<", "\n"))


def ics_shape(message):
    events = []
    for _name, content, _mime in message.attachments:
        calendar = Calendar.from_ical(content)
        events += [sorted(event.keys()) for event in calendar.walk("VEVENT")]
    return events


# --- Emails about a signature ----------------------------------------------------


@pytest.mark.parametrize("kind", sorted(SIGNATURE_EMAIL_KINDS))
def test_signature_emails_show_a_strangers_text_as_text(kind):
    def build(world):
        revision = world.first
        if kind in (
            EmailKind.EDITORIAL_NOTICE,
            EmailKind.RECONFIRM_REQUEST,
        ):
            revision = world.second
        return signature_email_message(
            kind, signature=world.signature, revision=revision
        )

    assert_inert(build(build_world(hostile=True)), build(build_world(hostile=False)))


# --- Outreach, reminders, digests and coalition communications --------------------


def delivery_fields(world, kind):
    """Who each kind of delivery goes to, and what it is about."""
    K = EmailKind
    prospect = {"prospect_id": world.prospect.pk, "to": world.prospect.email}
    signer = {"signature_id": world.signature.pk, "to": world.signature.email}
    organiser = {"user_id": world.organiser.pk, "to": world.organiser.email}
    cases = {
        K.INVITATION: prospect,
        K.SOFT_REMINDER: prospect,
        K.HARD_ANNOUNCEMENT: prospect,
        K.LAST_CALL: prospect,
        K.CONFIRM_REMINDER: signer,
        K.RECONFIRM_REMINDER: signer,
        K.DIGEST: organiser,
        K.SIGNING_CLOSED: organiser,
        K.UPDATE: {**signer, "params": {"update": world.update.pk}},
        K.UPDATE_TEST: {**organiser, "params": {"update": world.update.pk}},
        K.SIGNER_LIST: signer,
        K.CALL_INVITATION: {**signer, "params": {"call": world.call.pk}},
        K.CALL_REMINDER: {
            **signer,
            "params": {"call": world.call.pk, "basis": "call/5m"},
        },
        K.CALL_NOTES: {**signer, "params": {"call": world.call.pk}},
        K.REISSUE_OPT_IN: {**signer, "letter_id": world.reissued.pk},
        K.CHANGE_REQUEST_REPLY: {
            **signer,
            "params": {"change_request": world.change_request.pk},
        },
        K.SIGNING_NOTICE: {**organiser, "params": {"signatures": [world.signature.pk]}},
        K.IMPORT_FINISHED: {**organiser, "params": {"job": world.import_job.pk}},
    }
    if kind not in cases:
        pytest.fail(f"no hostile-input case for delivery kind {kind!r}: add one")
    return cases[kind]


def delivery_message(world, kind, *, hostile):
    row = outbox_message(
        kind=kind,
        key=f"{kind}/{hostile}",
        send_at=timezone.now() + timedelta(minutes=1),
        **{"letter_id": world.letter.pk, **delivery_fields(world, kind)},
    )
    row.save()
    row = OutboxMessage.objects.get(pk=row.pk)
    built = BUILDERS[kind](row)
    assert built is not None, f"{kind}: nothing to say"
    return built.to_message(message_id=row.message_id)


OUTREACH_KINDS = sorted(set(EmailKind.values) - SIGNATURE_EMAIL_KINDS)


@pytest.mark.parametrize("kind", OUTREACH_KINDS)
def test_deliveries_show_a_strangers_text_as_text(kind):
    worlds = [build_world(hostile=h) for h in (True, False)]
    hostile, harmless = (
        delivery_message(world, kind, hostile=h)
        for world, h in zip(worlds, (True, False), strict=True)
    )

    assert_inert(hostile, harmless, links={worlds[0].call.join_url})
    assert ics_shape(hostile) == ics_shape(harmless)


# --- The organisers' team and accounts ------------------------------------------


def test_the_team_invitation_shows_a_strangers_text_as_text():
    hostile_message, harmless_message = (
        team_invitation_message(build_world(hostile=hostile).team_invitation)
        for hostile in (True, False)
    )

    assert_inert(hostile_message, harmless_message)


def team_invitation_message(invitation):
    row = outbox_message(
        kind="team_invitation",
        key=f"team:{invitation.pk}",
        to=invitation.email,
        params={"invitation": invitation.pk},
    )
    return build_team_invitation(row).to_message(message_id=row.message_id)


def allauth_email_prefixes():
    """Every email allauth can ask the site to send, from its own templates."""
    root = Path(allauth.__file__).parent / "templates"
    return [
        f"{app}/email/{path.name.removesuffix('_subject.txt')}"
        for app in ("account", "mfa", "socialaccount", "usersessions")
        if apps.is_installed(f"allauth.{app}")
        for path in sorted((root / app / "email").glob("*_subject.txt"))
    ]


def account_context(*, hostile):
    t = partial(typed, hostile=hostile)
    return {
        "user": UserFactory(**fitted(User, display_name=t("organiser"))),
        "email": "someone@example.org",
        "from_email": "old@example.org",
        "to_email": "new@example.org",
        "ip": "203.0.113.7",
        "user_agent": t("browser"),
        "timestamp": timezone.now(),
        "code": "QX7K2M",
        "key": "k3y",
        "current_site": SimpleNamespace(name=t("site"), domain="testserver"),
        "activate_url": "http://testserver/accounts/confirm-email/k3y/",
        "password_reset_url": "http://testserver/accounts/password/reset/key/x/",
        "signup_url": "http://testserver/accounts/signup/",
    }


def test_the_walk_finds_allauths_emails():
    prefixes = allauth_email_prefixes()

    assert "account/email/email_confirmation_signup" in prefixes
    assert "mfa/email/totp_activated" in prefixes


@pytest.mark.parametrize("prefix", allauth_email_prefixes())
def test_account_emails_show_a_strangers_text_as_text(prefix, mailoutbox, rf):
    adapter = AccountAdapter(rf.get("/"))
    for hostile in (True, False):
        context = account_context(hostile=hostile)
        adapter.send_mail(prefix, "someone@example.org", context)
    hostile_message, harmless_message = mailoutbox

    # Most account emails carry no stranger's text; those that do carry it
    # as text.
    assert_inert(hostile_message, harmless_message, shown=False)


def test_the_sweep_tells_markup_from_text():
    """The check itself: markup from the input is caught."""
    harmless = mail.EmailMultiAlternatives(subject="s", body="b", to=["a@b.org"])
    harmless.attach_alternative("<p>Friends</p>", "text/html")
    hostile = mail.EmailMultiAlternatives(subject="s", body="b", to=["a@b.org"])
    hostile.attach_alternative(
        "<p>Friends<img src=x onerror=alert(1)></p>", "text/html"
    )

    with pytest.raises(AssertionError):
        assert_inert(hostile, harmless, shown=False)
