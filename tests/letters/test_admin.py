import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from coalition.models import User
from letters.models import AuditEvent, Letter
from letters.services.lifecycle import letter_close
from tests.factories import LetterFactory, UserFactory, circulating_letter
from tests.letters.public_fixtures import published_letter

pytestmark = pytest.mark.django_db


def test_staff_cannot_repoint_the_text_signatures_count_against(admin_client):
    letter = circulating_letter()

    response = admin_client.get(
        reverse("admin:letters_letter_change", args=[letter.pk])
    )

    html = response.content.decode()
    assert response.status_code == 200
    for field in (
        "current_revision",
        "last_material_revision_number",
        "signers_version",
        "signers_removed_version",
    ):
        assert f'name="{field}"' not in html


def change_page(admin_client, letter) -> str:
    url = reverse("admin:letters_letter_change", args=[letter.pk])
    return admin_client.get(url).content.decode()


def act(admin_client, action, *letters):
    return admin_client.post(
        reverse("admin:letters_letter_changelist"),
        {"action": action, "_selected_action": [letter.pk for letter in letters]},
        follow=True,
    )


def test_staff_change_no_field_the_services_own(admin_client):
    html = change_page(admin_client, LetterFactory())

    for field in ("status", "slug", "title", "body", "release_at", "published_at"):
        assert f'name="{field}"' not in html
    assert "/web-address/" in html
    assert admin_client.get(reverse("admin:letters_letter_add")).status_code == 403


def test_staff_close_and_reopen_a_letter_through_the_services(admin_client):
    letter = published_letter(owner=UserFactory())

    act(admin_client, "close", letter)
    letter.refresh_from_db()
    assert letter.status == Letter.Status.CLOSED
    assert letter.closed_at is not None

    act(admin_client, "reopen", letter)
    letter.refresh_from_db()
    assert letter.status == Letter.Status.PUBLISHED
    staff = User.objects.get(is_staff=True)
    assert list(
        AuditEvent.objects.filter(letter=letter).values_list("action", "actor")
    ) == [("letter.reopened", staff.pk), ("letter.closed", staff.pk)]


def test_a_move_the_letter_cannot_make_is_refused_and_said(admin_client):
    draft = LetterFactory()

    response = act(admin_client, "close", draft)

    draft.refresh_from_db()
    assert draft.status == Letter.Status.DRAFT
    assert "A draft cannot be closed." in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_staff_publish_a_letter_they_are_not_on_the_team_of(
    admin_client, django_capture_on_commit_callbacks
):
    letter = circulating_letter()

    with django_capture_on_commit_callbacks():
        act(admin_client, "publish", letter)

    letter.refresh_from_db()
    assert letter.status == Letter.Status.PUBLISHED
    assert AuditEvent.objects.get(letter=letter).action == "letter.published"


def test_a_non_staff_member_cannot_pass_for_staff():
    viewer = UserFactory()
    letter = circulating_letter()
    letter.memberships.create(user=viewer, role="viewer")

    with pytest.raises(PermissionDenied):
        letter_close(letter=letter, actor=viewer, as_staff=True)


def web_address(admin_client, letter, slug):
    url = reverse("admin:letters_letter_web_address", args=[letter.pk])
    return admin_client.post(url, {"slug": slug})


def test_staff_change_a_drafts_web_address_and_it_is_logged(admin_client):
    letter = LetterFactory(slug="old-address")

    response = web_address(admin_client, letter, "new-address")

    assert response.status_code == 302
    letter.refresh_from_db()
    assert letter.slug == "new-address"
    event = AuditEvent.objects.get(letter=letter)
    assert event.action == "letter.settings_changed"
    assert event.detail["changes"] == {"slug": ["old-address", "new-address"]}


def test_the_web_address_form_says_what_the_service_refuses(admin_client):
    LetterFactory(slug="taken")
    draft = LetterFactory(slug="draft")
    out = circulating_letter(slug="out")

    taken = web_address(admin_client, draft, "taken").content.decode()
    left_draft = web_address(admin_client, out, "elsewhere").content.decode()

    assert "Another letter already uses this web address." in taken
    assert "cannot change once the letter has left draft" in left_draft
    assert {draft.slug, out.slug} == {"draft", "out"}
    assert set(Letter.objects.values_list("slug", flat=True)) == {
        "taken",
        "draft",
        "out",
    }
    assert not AuditEvent.objects.exists()
