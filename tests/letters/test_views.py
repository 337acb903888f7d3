import re
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from letters.models import AuditEvent, Letter, Membership, Revision, TeamInvitation
from letters.services.letters import letter_create
from letters.services.lifecycle import letter_start_circulating
from letters.services.revisions import revision_publish
from letters.services.team import team_invitation_create
from signers.models import Signature
from tests.factories import PASSWORD, LetterFactory, SignatureFactory, UserFactory
from tests.letters.helpers import edit_draft

pytestmark = pytest.mark.django_db

# In the past: a test session logged in now must not have expired at NOW.
NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def owner():
    return UserFactory(display_name="Ada Owner")


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def letter(owner):
    return LetterFactory(owner=owner, slug="clean-air")


def url(name, letter, **kwargs):
    return reverse(f"letters:{name}", kwargs={"slug": letter.slug, **kwargs})


def page(response):
    return response.content.decode()


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def draft_data(**overrides):
    return {
        "title": "Clean air for every school",
        "addressee": "To the City Council",
        "point_1": "Clean air is a right.",
        "point_2": "",
        "point_3": "",
        "body": "We **ask** the Council to act.",
        **overrides,
    }


def publish_revision(letter, author, body=None, kind=None):
    if body is not None:
        edit_draft(letter, author, body=body)
    return revision_publish(letter=letter, author=author, change_note="n", kind=kind)


# --- Dashboard ----------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_dashboard_shows_status_signers_and_next_deadline_in_the_letters_zone(
    owner_client, owner
):
    letter = LetterFactory(
        owner=owner,
        status=Letter.Status.CIRCULATING,
        time_zone="America/New_York",
        soft_deadline=datetime(2024, 4, 1, tzinfo=UTC),  # passed
        hard_deadline=datetime(2024, 6, 1, 16, 0, tzinfo=UTC),
    )
    SignatureFactory.create_batch(2, letter=letter)
    SignatureFactory(letter=letter, status=Signature.Status.PENDING)

    html = page(owner_client.get(reverse("letters:dashboard")))

    assert "Circulating" in html
    assert "<strong>2</strong> signed" in html
    assert "Signing closes" in html
    assert "1 June 2024, 12:00" in html and "EDT" in html


def test_dashboard_cost_does_not_grow_with_letters(owner_client, owner):
    LetterFactory(owner=owner)
    with CaptureQueriesContext(connection) as one:
        owner_client.get(reverse("letters:dashboard"))
    for _ in range(4):
        SignatureFactory(letter=LetterFactory(owner=owner))
    with CaptureQueriesContext(connection) as five:
        owner_client.get(reverse("letters:dashboard"))

    assert len(five) == len(one)


def test_dashboard_lists_only_the_users_letters(owner_client, letter):
    LetterFactory(title="Somebody else's letter")

    html = page(owner_client.get(reverse("letters:dashboard")))

    assert letter.title in html and "Somebody else" not in html


# --- Create -------------------------------------------------------------------


def test_creating_a_letter_makes_its_creator_owner(owner_client, owner):
    response = owner_client.post(
        reverse("letters:create"),
        draft_data(slug="", time_zone="Europe/Paris", point_2="Act now."),
    )

    letter = Letter.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("revisions", letter)
    assert letter.slug == "clean-air-for-every-school"
    assert letter.points == ["Clean air is a right.", "Act now."]
    assert letter.time_zone == "Europe/Paris"
    assert letter.memberships.get().user == owner


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"slug": "taken"}, "Another letter already uses this web address."),
        ({"point_1": ""}, "Write at least one point of unity."),
        ({"point_2": "x" * 281}, "Ensure this value has at most 280 characters"),
        ({"time_zone": "Mars/Olympus"}, "is not a time zone we know."),
    ],
)
def test_bad_input_on_create_is_explained_and_nothing_typed_is_lost(
    owner_client, overrides, error
):
    LetterFactory(slug="taken")
    data = draft_data(**{"slug": "", "time_zone": "UTC", **overrides})
    data["body"] = "A long body the organiser typed, with <care>."

    response = owner_client.post(reverse("letters:create"), data)

    html = page(response)
    assert response.status_code == 200
    assert error in html
    assert "A long body the organiser typed, with &lt;care&gt;." in html
    assert 'value="To the City Council"' in html
    assert 'aria-invalid="true"' in html
    assert Letter.objects.count() == 1


# --- Draft --------------------------------------------------------------------


def test_saving_the_draft_goes_to_the_revisions_page(owner_client, letter):
    response = owner_client.post(
        url("edit", letter), draft_data(base_version=letter.draft_version)
    )

    assert response.status_code == 302 and response["Location"] == url(
        "revisions", letter
    )
    letter.refresh_from_db()
    assert letter.body == "We **ask** the Council to act."


def test_a_body_over_the_limit_is_refused_and_kept_for_the_organiser(
    owner_client, letter
):
    body = "Pathological ![[" * 1300  # 20,800 characters

    response = owner_client.post(
        url("edit", letter), draft_data(body=body, base_version=letter.draft_version)
    )

    html = page(response)
    assert response.status_code == 200
    assert "The letter is 20800 characters long; it may be at most 20000." in html
    assert 'maxlength="20000"' in html
    assert body[:200] in html  # nothing typed is lost
    letter.refresh_from_db()
    assert letter.body == "We ask the Council to act."


def test_a_fourth_point_cannot_be_sent(owner_client, letter):
    owner_client.post(url("edit", letter), draft_data(point_4="Sneaked in"))

    letter.refresh_from_db()
    assert "Sneaked in" not in letter.points and len(letter.points) == 1


def test_an_edit_over_someone_elses_save_keeps_both_texts(owner_client, owner, letter):
    started_from = letter.draft_version
    publish_revision(letter, owner, body="Their saved text.")

    response = owner_client.post(
        url("edit", letter),
        draft_data(body="My unsaved text.", base_version=started_from),
    )

    html = page(response)
    assert "Someone else saved this draft" in html
    assert "My unsaved text." in html and "Their saved text." in html
    letter.refresh_from_db()
    assert letter.body == "Their saved text."
    # The form now carries the saved version: saving again goes through.
    again = re.search(r'name="base_version" value="(\w+)"', html).group(1)
    owner_client.post(url("edit", letter), draft_data(body="Mine.", base_version=again))
    letter.refresh_from_db()
    assert letter.body == "Mine."


# --- Settings -----------------------------------------------------------------


def settings_data(letter, **overrides):
    return {
        "slug": letter.slug,
        "time_zone": letter.time_zone,
        "reply_to": "",
        "signer_kinds": "organisations",
        "soft_deadline": "",
        "hard_deadline": "",
        "release_at": "",
        **overrides,
    }


@time_machine.travel(NOW, tick=False)
def test_deadlines_are_typed_and_shown_in_the_letters_zone(owner_client, letter):
    response = owner_client.post(
        url("settings", letter),
        settings_data(
            letter,
            time_zone="europe/berlin",  # any case: the zone's own spelling is kept
            soft_deadline="2024-06-01T18:00",
            hard_deadline="2024-06-08T18:00",
            release_at="2024-06-10T09:30",
        ),
    )

    assert response.status_code == 302
    letter.refresh_from_db()
    assert letter.time_zone == "Europe/Berlin"
    assert letter.soft_deadline == datetime(2024, 6, 1, 16, 0, tzinfo=UTC)
    assert letter.release_at == datetime(2024, 6, 10, 7, 30, tzinfo=UTC)
    html = page(owner_client.get(url("settings", letter)))
    assert 'value="2024-06-01T18:00"' in html
    assert 'value="2024-06-10T09:30"' in html


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("overrides", "field", "error"),
    [
        (
            {"soft_deadline": "2024-06-08T18:00", "hard_deadline": "2024-06-01T18:00"},
            "hard_deadline",
            "Signing cannot close before the date given to invitees.",
        ),
        (
            {"release_at": "2024-04-30T09:00"},
            "release_at",
            "The release date is in the past",
        ),
        (
            {"soft_deadline": "next tuesday"},
            "soft_deadline",
            "Enter a valid date/time.",
        ),
        ({"slug": "taken"}, "slug", "Another letter already uses this web address."),
    ],
)
def test_bad_settings_are_explained_and_nothing_typed_is_lost(
    owner_client, letter, overrides, field, error
):
    LetterFactory(slug="taken")
    data = settings_data(letter, reply_to="team@example.org", **overrides)

    response = owner_client.post(url("settings", letter), data)

    assert response.status_code == 200
    assert error in str(response.context["form"].errors[field])
    html = page(response)
    assert 'value="team@example.org"' in html
    for value in overrides.values():
        assert f'value="{value}"' in html
    letter.refresh_from_db()
    assert letter.reply_to == ""


def test_viewers_see_settings_read_only(client, letter):
    viewer = UserFactory()
    Membership.objects.create(letter=letter, user=viewer, role="viewer")
    client.force_login(viewer)

    html = page(client.get(url("settings", letter)))

    assert "disabled" in html and "Save settings" not in html


# --- Revisions ----------------------------------------------------------------


def test_publishing_revision_one_then_two_with_a_change_note(owner_client, letter):
    first = owner_client.post(url("revision-publish", letter), {"change_note": ""})
    assert first.status_code == 302
    assert "Revision 1 published." in messages_of(owner_client.get(first["Location"]))

    owner_client.post(url("edit", letter), draft_data(body="We urge the Council."))
    page_two = owner_client.get(url("revision-publish", letter))
    assert "Publish revision 2" in page(page_two)
    assert "<del>" in page(page_two) and "<ins>" in page(page_two)

    no_note = owner_client.post(url("revision-publish", letter), {"change_note": ""})
    assert no_note.status_code == 200
    assert "change_note" in no_note.context["form"].errors

    owner_client.post(url("revision-publish", letter), {"change_note": "Stronger verb"})
    letter.refresh_from_db()
    assert letter.current_revision.number == 2
    assert letter.current_revision.change_note == "Stronger verb"


def test_with_signatures_the_organiser_must_say_what_kind_of_change(
    owner_client, owner, letter
):
    publish_revision(letter, owner)
    SignatureFactory(letter=letter)
    owner_client.post(url("edit", letter), draft_data(body="Changed."))

    asked = owner_client.get(url("revision-publish", letter))
    assert "What kind of change is this?" in page(asked)
    missing = owner_client.post(url("revision-publish", letter), {"change_note": "x"})
    assert "kind" in missing.context["form"].errors

    owner_client.post(
        url("revision-publish", letter), {"change_note": "x", "kind": "material"}
    )
    letter.refresh_from_db()
    assert letter.current_revision.kind == Revision.Kind.MATERIAL
    assert letter.last_material_revision_number == 2


def test_nothing_to_publish_says_so(owner_client, owner, letter):
    publish_revision(letter, owner)

    html = page(owner_client.get(url("revision-publish", letter)))

    assert "Nothing to publish" in html and "<button" not in html.split("<main")[1]


def test_history_lists_revisions_with_their_signatures(owner_client, owner, letter):
    publish_revision(letter, owner)
    SignatureFactory(letter=letter)
    publish_revision(letter, owner, body="Second text", kind="editorial")

    html = page(owner_client.get(url("revisions", letter)))

    assert "Revision 1" in html and "Revision 2" in html
    assert "Compare two revisions" in html
    assert [
        r.signature_count
        for r in owner_client.get(url("revisions", letter)).context["revisions"]
    ] == [0, 1]


def test_a_revision_page_shows_its_hash(owner_client, owner, letter):
    revision = publish_revision(letter, owner)

    html = page(owner_client.get(url("revision", letter, number=1)))

    assert revision.sha256 in html


def test_diff_shows_words_inserted_and_deleted(owner_client, owner, letter):
    publish_revision(letter, owner, body="We ask the Council to act.")
    publish_revision(letter, owner, body="We urge the Council to act.")

    chosen = page(owner_client.get(url("diff", letter) + "?old=1&new=2"))
    default = page(owner_client.get(url("diff", letter)))

    for html in (chosen, default):
        assert "From revision 1 to revision 2" in html
        assert re.search(r"<del>.*ask</del>", html)
        assert re.search(r"<ins>.*urge</ins>", html)


def test_diff_with_an_unknown_revision_explains(owner_client, owner, letter):
    publish_revision(letter, owner)
    publish_revision(letter, owner, body="Two")

    response = owner_client.get(url("diff", letter) + "?old=1&new=9")

    assert response.status_code == 200
    assert "Select a valid choice" in page(response)


def test_the_letter_page_never_renders_unsafe_markdown(owner_client, owner, letter):
    publish_revision(
        letter, owner, body="<script>alert(1)</script>\n\n[x](javascript:alert(2))"
    )

    html = page(owner_client.get(url("detail", letter)))

    assert "<script>alert(1)" not in html
    assert 'href="javascript:' not in html  # left as plain text, never a link


# --- Life cycle ---------------------------------------------------------------


def test_the_owner_moves_the_letter_through_its_life(owner_client, owner, letter):
    publish_revision(letter, owner)

    for name, status in [
        ("start-circulating", "circulating"),
        ("publish", "published"),
        ("close", "closed"),
        ("reopen", "published"),
    ]:
        response = owner_client.post(url(name, letter))
        assert response.status_code == 302 and response["Location"] == url(
            "detail", letter
        )
        letter.refresh_from_db()
        assert letter.status == status


def test_a_refused_transition_is_explained(owner_client, letter):
    response = owner_client.post(url("publish", letter), follow=True)

    assert "Publish a first revision before publishing the letter." in messages_of(
        response
    )
    letter.refresh_from_db()
    assert letter.status == Letter.Status.DRAFT


def test_the_overview_offers_owners_the_next_steps(owner_client, owner, letter):
    publish_revision(letter, owner)

    html = page(owner_client.get(url("detail", letter)))

    assert "Start circulating" in html and "Publish now" in html


# --- Team ---------------------------------------------------------------------


def invitation_link(mailoutbox):
    return re.search(
        r"http://testserver(/workspace/team/join/\S+/)", mailoutbox[-1].body
    ).group(1)


def test_an_invited_co_organiser_joins_with_one_button(
    owner_client, letter, client, mailoutbox
):
    owner_client.post(
        url("team", letter), {"email": "new@example.org", "role": "editor"}
    )
    link = invitation_link(mailoutbox)
    assert mailoutbox[0].subject == f"Help organise “{letter.title}”"

    newcomer_browser = Client()
    anonymous = page(newcomer_browser.get(link))
    signup = re.search(r'href="(/accounts/signup/\?next=[^"]+)"', anonymous).group(1)
    assert unquote(signup.split("next=")[1]) == link
    assert newcomer_browser.post(link)["Location"].startswith(reverse("account_login"))

    newcomer = UserFactory(email="new@example.org")
    newcomer_browser.force_login(newcomer)
    assert "Join the team" in page(newcomer_browser.get(link))
    assert Membership.objects.filter(letter=letter, user=newcomer).count() == 0

    joined = newcomer_browser.post(link)
    assert joined["Location"] == url("detail", letter)
    assert Membership.objects.get(letter=letter, user=newcomer).role == "editor"

    again = newcomer_browser.post(link, follow=True)
    assert "You are already on this letter's team." in messages_of(again)


def test_a_newcomer_signs_up_and_comes_back_to_accept(owner, letter, mailoutbox):
    team_invitation_create(
        letter=letter, actor=owner, email="new@example.org", role="editor"
    )
    link = invitation_link(mailoutbox)
    browser = Client()
    password = "Plenty-of-entropy-42"

    browser.post(
        f"{reverse('account_signup')}?next={link}",
        {"email": "new@example.org", "password1": password, "password2": password},
    )
    confirm = re.search(
        r"http://testserver(/accounts/confirm-email/\S+/)", mailoutbox[-1].body
    )
    back = browser.post(confirm.group(1))
    assert back["Location"] == link
    browser.post(link)

    assert letter.memberships.get(user__email="new@example.org").role == "editor"


def test_a_newcomer_who_confirms_in_another_browser_is_brought_to_the_invitation(
    owner, letter, mailoutbox
):
    """The sign-up page's own form, then the confirmation link opened elsewhere
    (a phone, another browser): the invitation is found again after logging in."""
    team_invitation_create(
        letter=letter, actor=owner, email="new@example.org", role="editor"
    )
    link = invitation_link(mailoutbox)
    laptop, phone = Client(), Client()
    password = "Plenty-of-entropy-42"

    signup_url = re.search(
        r'href="(/accounts/signup/\?next=[^"]+)"', page(laptop.get(link))
    ).group(1)
    form = page(laptop.get(signup_url.replace("&amp;", "&")))
    fields = dict(
        re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form)
    )
    fields.pop("csrfmiddlewaretoken", None)
    laptop.post(
        reverse("account_signup"),
        {
            **fields,
            "email": "new@example.org",
            "password1": password,
            "password2": password,
        },
    )
    confirm = re.search(
        r"http://testserver(/accounts/confirm-email/\S+/)", mailoutbox[-1].body
    ).group(1)
    phone.post(confirm)
    logged_in = phone.post(
        reverse("account_login"), {"login": "new@example.org", "password": password}
    )

    invitation_page = phone.get(logged_in["Location"], follow=True)
    [(accept, _status)] = invitation_page.redirect_chain[-1:]
    assert accept.startswith("/workspace/team/join/")
    assert "Join the team" in page(invitation_page)
    phone.post(accept)
    assert letter.memberships.get(user__email="new@example.org").role == "editor"
    # Once joined, logging in leads to the letters again.
    phone.logout()
    again = phone.post(
        reverse("account_login"), {"login": "new@example.org", "password": password}
    )
    assert phone.get(again["Location"])["Location"] == reverse("letters:dashboard")


def test_an_invitation_is_not_offered_again_after_it_expired_or_was_withdrawn(
    owner, letter, mailoutbox
):
    expired = team_invitation_create(
        letter=letter, actor=owner, email="late@example.org", role="editor"
    )
    TeamInvitation.objects.filter(pk=expired.pk).update(
        sent_at=datetime.now(UTC) - timedelta(days=15)
    )
    withdrawn = team_invitation_create(
        letter=LetterFactory(owner=owner),
        actor=owner,
        email="late@example.org",
        role="editor",
    )
    TeamInvitation.objects.filter(pk=withdrawn.pk).update(revoked_at=datetime.now(UTC))
    UserFactory(email="late@example.org")
    browser = Client()

    logged_in = browser.post(
        reverse("account_login"), {"login": "late@example.org", "password": PASSWORD}
    )

    assert browser.get(logged_in["Location"])["Location"] == reverse(
        "letters:dashboard"
    )


def test_an_expired_or_forged_team_link_is_refused(owner, letter, client, mailoutbox):
    team_invitation_create(
        letter=letter, actor=owner, email="n@example.org", role="viewer"
    )
    link = invitation_link(mailoutbox)

    with time_machine.travel(datetime.now(UTC) + timedelta(days=15)):
        expired = client.get(link)
    assert expired.status_code == 410 and "expired" in page(expired)
    assert client.get(link[:-5] + "abcd/").status_code == 404


def test_owners_change_roles_and_the_last_owner_is_kept(owner_client, owner, letter):
    member = Membership.objects.create(letter=letter, user=UserFactory(), role="viewer")
    owner_membership = letter.memberships.get(user=owner)

    owner_client.post(url("member-role", letter, pk=member.pk), {"role": "editor"})
    refused = owner_client.post(
        url("member-role", letter, pk=owner_membership.pk),
        {"role": "viewer"},
        follow=True,
    )

    member.refresh_from_db()
    owner_membership.refresh_from_db()
    assert member.role == "editor" and owner_membership.role == "owner"
    assert any("at least one owner" in m for m in messages_of(refused))


def test_a_member_can_leave_the_team(client, letter):
    member = Membership.objects.create(letter=letter, user=UserFactory(), role="viewer")
    client.force_login(member.user)

    response = client.post(url("member-remove", letter, pk=member.pk))

    assert response["Location"] == reverse("letters:dashboard")
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert client.get(url("detail", letter)).status_code == 404


def test_owners_withdraw_invitations(owner_client, owner, letter):
    invitation = TeamInvitation.objects.create(letter=letter, email="x@example.org")

    owner_client.post(url("invitation-revoke", letter, pk=invitation.pk))

    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert "x@example.org" not in page(owner_client.get(url("team", letter)))


# --- Activity -----------------------------------------------------------------


def test_activity_lists_who_did_what_in_the_letters_zone(owner_client, owner):
    with time_machine.travel(datetime(2024, 1, 15, 12, 0, tzinfo=UTC), tick=False):
        letter = letter_create(
            owner=owner, title="Clean air", points=["One"], time_zone="Asia/Tokyo"
        )
        revision_publish(letter=letter, author=owner, change_note="Ready")
        letter_start_circulating(letter=letter, actor=owner)

    html = page(owner_client.get(url("activity", letter)))

    assert "Created the letter" in html
    assert "Published revision 1 — First revision: “Ready”" in html
    assert "Started circulating the letter" in html
    assert "15 January 2024, 21:00" in html  # noon UTC is 21:00 in Tokyo
    assert "Ada Owner" in html
    assert AuditEvent.objects.filter(letter=letter).count() == 3
