from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError, connection
from django.utils import timezone

from letters.models import AuditEvent, Letter, Membership, Revision, TeamInvitation
from letters.services import lifecycle as lifecycle_services
from letters.services.letters import (
    letter_create,
    letter_update_draft,
    letter_update_settings,
)
from letters.services.lifecycle import letter_publish, letter_reopen
from letters.services.revisions import revision_publish
from letters.services.team import (
    membership_change_role,
    membership_remove,
    team_invitation_accept,
    team_invitation_create,
    team_invitation_revoke,
)
from signers.models import Signature
from tests.factories import LetterFactory, SignatureFactory, UserFactory
from tests.letters.helpers import edit_draft as edit
from tests.letters.helpers import run_at_once

pytestmark = pytest.mark.django_db


def actions(letter):
    return list(
        AuditEvent.objects.filter(letter=letter)
        .order_by("id")
        .values_list("action", flat=True)
    )


@pytest.fixture
def owner():
    return UserFactory()


@pytest.fixture
def letter(owner):
    return LetterFactory(owner=owner)


# --- letter_create ------------------------------------------------------------


def test_create_makes_a_draft_owned_by_its_creator(owner):
    letter = letter_create(
        owner=owner,
        title="Clean air",
        points=[" One ", "", "Two"],
        time_zone="Europe/Paris",
    )

    assert letter.status == Letter.Status.DRAFT
    assert letter.slug == "clean-air"
    assert letter.points == ["One", "Two"]
    assert letter.memberships.get().user == owner
    assert letter.memberships.get().role == Membership.Role.OWNER
    assert actions(letter) == ["letter.created"]


def test_create_makes_a_free_slug_from_a_title_in_use(owner):
    letter_create(owner=owner, title="Clean air")
    second = letter_create(owner=owner, title="Clean air")

    assert second.slug == "clean-air-2"


def test_create_refuses_a_slug_in_use(owner):
    letter_create(owner=owner, title="One", slug="taken")

    with pytest.raises(ValidationError) as exc:
        letter_create(owner=owner, title="Two", slug="taken")

    assert "slug" in exc.value.error_dict
    assert Letter.objects.count() == 1


def test_create_refuses_an_unknown_time_zone(owner):
    with pytest.raises(ValidationError):
        letter_create(owner=owner, title="T", time_zone="Mars/Olympus")


# --- letter_update_draft ------------------------------------------------------


def test_draft_edit_saves_and_logs_what_changed(letter, owner):
    edit(letter, owner, body="New body", points=["Only one"])

    letter.refresh_from_db()
    assert letter.body == "New body" and letter.points == ["Only one"]
    event = AuditEvent.objects.filter(letter=letter).first()
    assert event.action == "letter.draft_edited"
    assert event.detail["fields"] == ["points", "body"]


def test_draft_edit_with_no_change_logs_nothing(letter, owner):
    edit(letter, owner)

    assert actions(letter) == []


@pytest.mark.parametrize(
    ("points", "code"),
    [
        ([], "points_empty"),
        (["", "  "], "points_empty"),
        (["a", "b", "c", "d"], "points_too_many"),
        (["x" * 281], "point_too_long"),
    ],
)
def test_draft_edit_refuses_bad_points(letter, owner, points, code):
    with pytest.raises(ValidationError) as exc:
        edit(letter, owner, points=points)

    assert exc.value.code == code
    letter.refresh_from_db()
    assert letter.points == [
        "Clean air is a right.",
        "Act before the next school year.",
    ]


@pytest.mark.parametrize(
    ("field", "length"),
    [("body", 20_001), ("title", 201), ("addressee", 301)],
)
def test_draft_edit_and_create_refuse_texts_over_their_limit(
    letter, owner, field, length
):
    with pytest.raises(ValidationError) as exc:
        edit(letter, owner, **{field: "x" * length})
    with pytest.raises(ValidationError) as create:
        letter_create(owner=owner, **{"title": "T", field: "x" * length})

    assert list(exc.value.error_dict) == list(create.value.error_dict) == [field]
    assert f"{length} characters long" in exc.value.messages[0]
    letter.refresh_from_db()
    assert len(getattr(letter, field)) < length
    assert Letter.objects.count() == 1


def test_a_body_at_the_limit_is_saved_with_windows_line_endings_counted_once(
    letter, owner
):
    body = ("x" * 99 + "\r\n") * 200  # 20,200 as typed, 20,000 once normalised

    edit(letter, owner, body=body)

    letter.refresh_from_db()
    assert len(letter.body) == 20_000


def test_draft_edit_refuses_to_overwrite_someone_elses_save(letter, owner):
    started_from = letter.draft_version
    other = Letter.objects.get(pk=letter.pk)
    edit(other, owner, body="Their edit")

    with pytest.raises(ValidationError) as exc:
        letter_update_draft(
            letter=letter,
            actor=owner,
            title=letter.title,
            addressee=letter.addressee,
            points=letter.points,
            body="My edit",
            base_version=started_from,
        )

    assert exc.value.code == "stale"
    letter.refresh_from_db()
    assert letter.body == "Their edit"


# --- letter_update_settings ---------------------------------------------------


def test_settings_change_is_logged_with_before_and_after(letter, owner):
    soon = timezone.now() + timedelta(days=3)

    letter_update_settings(
        letter=letter, actor=owner, soft_deadline=soon, reply_to="team@example.org"
    )

    letter.refresh_from_db()
    assert letter.soft_deadline == soon
    event = AuditEvent.objects.get(letter=letter)
    assert event.action == "letter.settings_changed"
    assert event.detail["changes"]["soft_deadline"] == [None, soon.isoformat()]
    assert event.detail["changes"]["reply_to"] == ["", "team@example.org"]


def test_settings_refuse_a_hard_deadline_before_the_soft_one(letter, owner):
    now = timezone.now()

    with pytest.raises(ValidationError) as exc:
        letter_update_settings(
            letter=letter,
            actor=owner,
            soft_deadline=now + timedelta(days=5),
            hard_deadline=now + timedelta(days=4),
        )

    assert "hard_deadline" in exc.value.error_dict


def test_settings_refuse_a_new_release_date_in_the_past(letter, owner):
    with pytest.raises(ValidationError) as exc:
        letter_update_settings(
            letter=letter, actor=owner, release_at=timezone.now() - timedelta(hours=1)
        )

    assert "release_at" in exc.value.error_dict


def test_settings_keep_a_release_date_that_has_passed_unchanged(letter, owner):
    past = timezone.now() - timedelta(hours=1)
    Letter.objects.filter(pk=letter.pk).update(release_at=past)
    letter.refresh_from_db()

    letter_update_settings(
        letter=letter, actor=owner, release_at=past, reply_to="a@example.org"
    )

    letter.refresh_from_db()
    assert letter.reply_to == "a@example.org"


def test_settings_refuse_a_slug_in_use_and_a_slug_change_after_draft(letter, owner):
    LetterFactory(slug="taken")
    with pytest.raises(ValidationError) as exc:
        letter_update_settings(letter=letter, actor=owner, slug="taken")
    assert "slug" in exc.value.error_dict

    Letter.objects.filter(pk=letter.pk).update(status=Letter.Status.CIRCULATING)
    with pytest.raises(ValidationError) as exc:
        letter_update_settings(letter=letter, actor=owner, slug="free-one")
    assert "slug" in exc.value.error_dict


def test_settings_refuse_an_unknown_time_zone(letter, owner):
    with pytest.raises(ValidationError):
        letter_update_settings(letter=letter, actor=owner, time_zone="Nowhere")


def test_settings_refuse_fields_that_are_not_settings(letter, owner):
    with pytest.raises(TypeError):
        letter_update_settings(letter=letter, actor=owner, status="closed")


# --- revision_publish ---------------------------------------------------------


def test_first_revision_freezes_the_draft(letter, owner):
    revision = revision_publish(letter=letter, author=owner, change_note="")

    assert revision.number == 1
    assert revision.kind == Revision.Kind.INITIAL
    assert revision.points == letter.points and revision.title == letter.title
    assert revision.sha256 == letter.draft_hash
    letter.refresh_from_db()
    assert letter.current_revision == revision
    assert letter.last_material_revision_number == 1
    event = AuditEvent.objects.get(letter=letter)
    assert event.action == "revision.published"
    assert event.detail["number"] == 1 and event.detail["sha256"] == revision.sha256


def test_publishing_updates_the_callers_letter_object(letter, owner):
    revision = revision_publish(letter=letter, author=owner, change_note="")

    assert letter.current_revision == revision


def test_publish_refuses_when_nothing_changed(letter, owner):
    revision_publish(letter=letter, author=owner, change_note="")

    with pytest.raises(ValidationError) as exc:
        revision_publish(letter=letter, author=owner, change_note="again")

    assert exc.value.code == "unchanged"
    assert letter.revisions.count() == 1


def test_a_new_title_alone_is_a_change(letter, owner):
    revision_publish(letter=letter, author=owner, change_note="")
    edit(letter, owner, title="Better title")

    revision = revision_publish(letter=letter, author=owner, change_note="t")

    assert revision.number == 2 and revision.title == "Better title"


@pytest.mark.parametrize("points", [[], ["a", "b", "c", "d"]])
def test_publish_refuses_empty_or_too_many_points(letter, owner, points):
    Letter.objects.filter(pk=letter.pk).update(points=points)

    with pytest.raises(ValidationError):
        revision_publish(letter=letter, author=owner, change_note="")

    assert not Revision.objects.exists()


def test_publish_refuses_a_body_over_the_limit_saved_before_there_was_one(
    letter, owner
):
    Letter.objects.filter(pk=letter.pk).update(body="x" * 20_001)

    with pytest.raises(ValidationError) as exc:
        revision_publish(letter=letter, author=owner, change_note="")

    assert list(exc.value.error_dict) == ["body"]
    assert not Revision.objects.exists()


def test_publish_refuses_a_change_note_over_the_limit(letter, owner):
    with pytest.raises(ValidationError) as exc:
        revision_publish(letter=letter, author=owner, change_note="n" * 2001)

    assert list(exc.value.error_dict) == ["change_note"]
    assert not Revision.objects.exists()


def test_publish_refuses_on_a_closed_letter(letter, owner):
    Letter.objects.filter(pk=letter.pk).update(status=Letter.Status.CLOSED)

    with pytest.raises(ValidationError) as exc:
        revision_publish(letter=letter, author=owner, change_note="")

    assert exc.value.code == "closed"


def test_later_revisions_default_to_editorial_without_signatures(letter, owner):
    first = revision_publish(letter=letter, author=owner, change_note="")
    edit(letter, owner, body="Changed")

    second = revision_publish(letter=letter, author=owner, change_note="typo")

    assert second.number == 2 and second.kind == Revision.Kind.EDITORIAL
    assert letter.last_material_revision_number == 1
    first.refresh_from_db()
    assert first.body == "We ask the Council to act."  # revision 1 is untouched


def _signed_and_edited(letter, owner, status=Signature.Status.CONFIRMED):
    revision_publish(letter=letter, author=owner, change_note="")
    SignatureFactory(letter=letter, status=status)
    edit(letter, owner, body="Changed after signing")


@pytest.mark.parametrize("status", ["confirmed", "needs_reconfirmation"])
@pytest.mark.parametrize("kind", [None, "initial", "nonsense"])
def test_with_live_signatures_the_change_must_be_classified(
    letter, owner, status, kind
):
    _signed_and_edited(letter, owner, status=status)

    with pytest.raises(ValidationError) as exc:
        revision_publish(letter=letter, author=owner, change_note="", kind=kind)

    assert "kind" in exc.value.error_dict
    assert letter.revisions.count() == 1


def test_pending_signatures_do_not_need_a_classification(letter, owner):
    _signed_and_edited(letter, owner, status=Signature.Status.PENDING)

    revision = revision_publish(letter=letter, author=owner, change_note="")

    assert revision.kind == Revision.Kind.EDITORIAL


def test_a_material_revision_moves_the_last_material_number(letter, owner):
    _signed_and_edited(letter, owner)

    revision = revision_publish(
        letter=letter, author=owner, change_note="new demand", kind="material"
    )

    assert revision.kind == Revision.Kind.MATERIAL
    letter.refresh_from_db()
    assert letter.last_material_revision_number == 2


def test_an_editorial_revision_keeps_the_last_material_number(letter, owner):
    _signed_and_edited(letter, owner)

    revision_publish(letter=letter, author=owner, change_note="typo", kind="editorial")

    letter.refresh_from_db()
    assert letter.last_material_revision_number == 1


def test_the_signing_hook_runs_for_revision_two_on(letter, owner, monkeypatch):
    seen = []
    monkeypatch.setattr(
        "signers.services.signatures.signatures_on_new_revision",
        lambda *, revision: seen.append(revision.number),
    )
    revision_publish(letter=letter, author=owner, change_note="")
    edit(letter, owner, body="Changed")
    revision_publish(letter=letter, author=owner, change_note="")

    assert seen == [2]


def test_a_failing_signing_hook_undoes_the_revision(letter, owner, monkeypatch):
    revision_publish(letter=letter, author=owner, change_note="")
    edit(letter, owner, body="Changed")

    def fail(*, revision):
        raise RuntimeError("hook failed")

    monkeypatch.setattr("signers.services.signatures.signatures_on_new_revision", fail)
    with pytest.raises(RuntimeError):
        revision_publish(letter=letter, author=owner, change_note="")

    letter.refresh_from_db()
    assert letter.current_revision.number == 1
    assert letter.revisions.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_publishes_at_once_make_one_revision():
    owner = UserFactory()
    letter = LetterFactory(owner=owner)

    results = run_at_once(
        2,
        lambda: revision_publish(
            letter=Letter.objects.get(pk=letter.pk), author=owner, change_note=""
        ),
    )

    published = [r for r in results if isinstance(r, Revision)]
    refused = [r for r in results if not isinstance(r, Revision)]
    assert len(published) == 1 and published[0].number == 1
    # PostgreSQL waits on the row lock and then finds nothing to publish;
    # SQLite has one writer at a time and may refuse the second outright.
    expected = (
        (ValidationError,)
        if connection.vendor == "postgresql"
        else (ValidationError, OperationalError)
    )
    assert len(refused) == 1 and isinstance(refused[0], expected), refused
    if isinstance(refused[0], ValidationError):
        assert refused[0].code == "unchanged"
    assert Revision.objects.filter(letter=letter).count() == 1


# --- Life cycle ---------------------------------------------------------------

ALLOWED = [
    # (status before, published before?, service, status after, action)
    ("draft", False, "letter_start_circulating", "circulating", "letter.circulating"),
    ("draft", False, "letter_publish", "published", "letter.published"),
    ("circulating", False, "letter_publish", "published", "letter.published"),
    ("circulating", False, "letter_close", "closed", "letter.closed"),
    ("published", True, "letter_close", "closed", "letter.closed"),
    ("closed", True, "letter_reopen", "published", "letter.reopened"),
    ("closed", False, "letter_reopen", "circulating", "letter.reopened"),
]
REFUSED = [
    ("circulating", "letter_start_circulating", "already"),
    ("published", "letter_start_circulating", "status"),
    ("closed", "letter_start_circulating", "status"),
    ("published", "letter_publish", "already"),
    ("closed", "letter_publish", "status"),
    ("draft", "letter_close", "status"),
    ("closed", "letter_close", "already"),
    ("draft", "letter_reopen", "status"),
    ("circulating", "letter_reopen", "status"),
    ("published", "letter_reopen", "status"),
]


def published_letter(owner, status, was_published=False):
    letter = LetterFactory(owner=owner)
    revision_publish(letter=letter, author=owner, change_note="")
    Letter.objects.filter(pk=letter.pk).update(
        status=status, published_at=timezone.now() if was_published else None
    )
    letter.refresh_from_db()
    return letter


@pytest.mark.parametrize(
    ("before", "was_published", "service", "after", "action"), ALLOWED
)
def test_life_cycle_transition_allowed(
    owner, before, was_published, service, after, action
):
    letter = published_letter(owner, before, was_published)

    getattr(lifecycle_services, service)(letter=letter, actor=owner)

    letter.refresh_from_db()
    assert letter.status == after
    event = AuditEvent.objects.filter(letter=letter).first()
    assert event.action == action and event.actor == owner
    assert event.detail["previous"] == before


@pytest.mark.parametrize(("before", "service", "code"), REFUSED)
def test_life_cycle_transition_refused(owner, before, service, code):
    letter = published_letter(owner, before)
    events = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as exc:
        getattr(lifecycle_services, service)(letter=letter, actor=owner)

    assert exc.value.code == code
    letter.refresh_from_db()
    assert letter.status == before
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("service", ["letter_start_circulating", "letter_publish"])
def test_no_circulating_or_publishing_without_a_revision(letter, owner, service):
    with pytest.raises(ValidationError) as exc:
        getattr(lifecycle_services, service)(letter=letter, actor=owner)

    assert exc.value.code == "no_revision"


@pytest.mark.parametrize(
    ("status", "service"),
    [
        ("draft", "letter_start_circulating"),
        ("draft", "letter_publish"),
        ("published", "letter_close"),
        ("closed", "letter_reopen"),
    ],
)
@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_only_owners_move_a_letter_through_its_life(owner, status, service, role):
    letter = published_letter(owner, status)
    member = UserFactory()
    Membership.objects.create(letter=letter, user=member, role=role)

    with pytest.raises(PermissionDenied):
        getattr(lifecycle_services, service)(letter=letter, actor=member)

    letter.refresh_from_db()
    assert letter.status == status


def test_publishing_keeps_the_first_publication_date(owner):
    first = timezone.now() - timedelta(days=10)
    letter = published_letter(owner, "closed", was_published=True)
    Letter.objects.filter(pk=letter.pk).update(published_at=first)
    letter.refresh_from_db()

    letter_reopen(letter=letter, actor=owner)

    letter.refresh_from_db()
    assert letter.published_at == first and letter.closed_at is None


# --- Team ---------------------------------------------------------------------


def test_inviting_records_the_invitation_and_queues_the_email(
    letter, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        invitation = team_invitation_create(
            letter=letter, actor=owner, email=" New@Example.org ", role="viewer"
        )

    assert invitation.email == "new@example.org" and invitation.role == "viewer"
    assert len(callbacks) == 1
    assert actions(letter) == ["member.invited"]


def test_inviting_again_updates_the_pending_invitation(letter, owner):
    team_invitation_create(
        letter=letter, actor=owner, email="a@example.org", role="viewer"
    )
    team_invitation_create(
        letter=letter, actor=owner, email="a@example.org", role="editor"
    )

    invitation = TeamInvitation.objects.get()
    assert invitation.role == "editor" and invitation.sent_at is None


def test_inviting_a_member_is_refused(letter, owner):
    with pytest.raises(ValidationError) as exc:
        team_invitation_create(
            letter=letter, actor=owner, email=owner.email.upper(), role="editor"
        )

    assert "email" in exc.value.error_dict


def test_only_owners_invite(letter):
    editor = UserFactory()
    Membership.objects.create(letter=letter, user=editor, role="editor")

    with pytest.raises(PermissionDenied):
        team_invitation_create(
            letter=letter, actor=editor, email="x@example.org", role="editor"
        )


def test_accepting_joins_with_the_invited_role_once(letter, owner):
    invitation = TeamInvitation.objects.create(
        letter=letter, email="new@example.org", role="viewer", invited_by=owner
    )
    joiner = UserFactory()

    membership, joined = team_invitation_accept(invitation=invitation, user=joiner)
    again, joined_again = team_invitation_accept(invitation=invitation, user=joiner)

    assert joined and not joined_again
    assert membership == again and membership.role == "viewer"
    assert actions(letter) == ["member.joined"]
    invitation.refresh_from_db()
    assert invitation.accepted_by == joiner


def test_a_used_invitation_does_not_let_someone_else_in(letter, owner):
    invitation = TeamInvitation.objects.create(letter=letter, email="n@example.org")
    team_invitation_accept(invitation=invitation, user=UserFactory())

    with pytest.raises(ValidationError) as exc:
        team_invitation_accept(invitation=invitation, user=UserFactory())

    assert exc.value.code == "used"
    assert letter.memberships.count() == 2


def test_a_withdrawn_invitation_cannot_be_accepted(letter, owner):
    invitation = TeamInvitation.objects.create(letter=letter, email="n@example.org")
    team_invitation_revoke(invitation=invitation, actor=owner)

    with pytest.raises(ValidationError) as exc:
        team_invitation_accept(invitation=invitation, user=UserFactory())

    assert exc.value.code == "revoked"
    assert actions(letter) == ["member.invitation_revoked"]


def test_accepting_as_an_existing_member_keeps_their_role(letter, owner):
    invitation = TeamInvitation.objects.create(
        letter=letter, email="n@example.org", role="viewer"
    )

    membership, joined = team_invitation_accept(invitation=invitation, user=owner)

    assert not joined and membership.role == "owner"


def test_owners_change_roles_but_never_demote_the_last_owner(letter, owner):
    member = Membership.objects.create(letter=letter, user=UserFactory(), role="viewer")
    membership_change_role(membership=member, actor=owner, role="owner")
    member.refresh_from_db()
    assert member.role == "owner"

    membership_change_role(
        membership=letter.memberships.get(user=owner), actor=owner, role="editor"
    )
    with pytest.raises(ValidationError) as exc:
        membership_change_role(membership=member, actor=member.user, role="viewer")

    assert exc.value.code == "last_owner"
    assert actions(letter) == ["member.role_changed", "member.role_changed"]


def test_the_last_owner_cannot_be_removed_or_leave(letter, owner):
    with pytest.raises(ValidationError) as exc:
        membership_remove(membership=letter.memberships.get(user=owner), actor=owner)

    assert exc.value.code == "last_owner"
    assert letter.memberships.count() == 1


def test_members_leave_and_owners_remove_but_others_cannot(letter, owner):
    viewer = Membership.objects.create(letter=letter, user=UserFactory(), role="viewer")
    editor = Membership.objects.create(letter=letter, user=UserFactory(), role="editor")

    with pytest.raises(PermissionDenied):
        membership_remove(membership=viewer, actor=editor.user)
    membership_remove(membership=editor, actor=editor.user)
    membership_remove(membership=viewer, actor=owner)

    assert list(letter.memberships.values_list("role", flat=True)) == ["owner"]
    assert actions(letter) == ["member.removed", "member.removed"]


def test_publishing_queues_the_first_pdf_render(
    django_capture_on_commit_callbacks, monkeypatch
):
    from signers.tasks import letter_pdf_render_task
    from tests.factories import LetterFactory, UserFactory

    queued = []
    monkeypatch.setattr(letter_pdf_render_task, "delay", queued.append)
    owner = UserFactory()
    letter = LetterFactory(owner=owner)
    revision_publish(letter=letter, author=owner, change_note="")

    with django_capture_on_commit_callbacks(execute=True):
        letter_publish(letter=letter, actor=owner)

    assert queued == [letter.pk]
