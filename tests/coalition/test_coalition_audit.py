"""The coalition's log: every change to members, settings and the partner
directory is recorded once, read as a sentence, and shown only to members."""

import datetime as dt
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from coalition.coalitions import services as coalitions
from coalition.coalitions.audit import CoalitionAction, coalition_event_sentence
from coalition.models import CoalitionEvent, CoalitionMember
from signers.models import Agreement
from signers.partners import matching, merging
from signers.partners import services as partners
from tests.coalition.test_page_sweep import MARKUP, assert_inert
from tests.factories import CoalitionMemberFactory, ProspectFactory, UserFactory
from tests.letters.public_fixtures import published_letter
from tests.letters.test_permissions import client_for

pytestmark = pytest.mark.django_db
Role = CoalitionMember.Role


@pytest.fixture
def team():
    owner = CoalitionMemberFactory(role=Role.OWNER)
    coalition = owner.coalition
    viewer = CoalitionMemberFactory(coalition=coalition, role=Role.VIEWER)
    return {"coalition": coalition, "owner": owner.user, "viewer": viewer.user}


def log(coalition):
    """(action, detail) of each event, oldest first."""
    events = CoalitionEvent.objects.filter(coalition=coalition).order_by("id")
    return [(e.action, e.detail) for e in events]


def sentences(coalition):
    events = CoalitionEvent.objects.filter(coalition=coalition).order_by("id")
    return [coalition_event_sentence(e) for e in events]


def test_every_action_reads_as_a_sentence():
    for action in CoalitionAction:
        event = CoalitionEvent(action=str(action), detail={"partner": "P"})
        text = coalition_event_sentence(event)
        assert text and text != str(action), action
    assert coalition_event_sentence(CoalitionEvent(action="gone.away")) == "gone.away"


def test_creating_a_coalition_and_managing_members_is_logged():
    owner = UserFactory()
    coalition = coalitions.coalition_create(owner=owner, name="River Alliance")
    other = UserFactory(email="ana@example.org")
    member = coalitions.coalition_member_add(
        coalition=coalition, actor=owner, email="ANA@example.org", role=Role.VIEWER
    )
    coalitions.coalition_member_change_role(
        member=member, actor=owner, role=Role.ORGANISER
    )
    # The same role again changes nothing and says nothing.
    coalitions.coalition_member_change_role(
        member=member, actor=owner, role=Role.ORGANISER
    )
    coalitions.coalition_update(
        coalition=coalition,
        actor=owner,
        name="River Alliance",
        description="Rivers",
        is_public=True,
    )
    coalitions.coalition_member_remove(member=member, actor=owner)
    third = CoalitionMemberFactory(coalition=coalition, role=Role.VIEWER)
    coalitions.coalition_member_remove(member=third, actor=third.user)

    assert [a for a, _ in log(coalition)] == [
        "coalition.created",
        "member.added",
        "member.role_changed",
        "coalition.settings_changed",
        "member.removed",
        "member.left",
    ]
    assert log(coalition)[3][1] == {"fields": ["description", "is_public"]}
    assert sentences(coalition)[1:5] == [
        f"Added {other.email} as viewer",
        f"Changed {other.email} from viewer to organiser",
        "Changed settings: description, show a public page of our published letters",
        f"Removed {other.email} from the coalition",
    ]


def test_partner_changes_are_logged_with_what_changed(team):
    coalition, owner = team["coalition"], team["owner"]
    partner = partners.partner_create(
        coalition=coalition, actor=owner, name="Friends of the Park", kind="ngo"
    )
    fields = {"name": "Friends of the Park", "kind": "ngo"}
    partners.partner_update(
        partner=partner,
        actor=owner,
        other_names=[],
        email_domains=[],
        tags=[],
        **fields,
    )  # nothing changed: nothing logged
    partners.partner_update(
        partner=partner,
        actor=owner,
        other_names=["Park Friends"],
        email_domains=[],
        tags=["parks"],
        **{**fields, "place": "Leeds"},
    )
    contact = partners.partner_contact_save(
        partner=partner, actor=owner, name="Maria Secret", email="maria@example.org"
    )
    partners.partner_contact_save(
        partner=partner, actor=owner, contact=contact, name="Maria S."
    )
    partners.partner_contact_delete(contact=contact, actor=owner)
    partners.partner_delete(partner=partner, actor=owner)

    assert [a for a, _ in log(coalition)] == [
        "partner.created",
        "partner.changed",
        "contact.added",
        "contact.changed",
        "contact.removed",
        "partner.deleted",
    ]
    assert log(coalition)[1][1]["fields"] == ["other_names", "place", "tags"]
    assert "place" in sentences(coalition)[1]
    # Contacts are people: the log names the partner, never them.
    assert not CoalitionEvent.objects.filter(detail__icontains="Maria").exists()
    assert "Maria" not in " ".join(sentences(coalition))


def test_agreements_merges_and_matches_are_logged(team, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    coalition, owner = team["coalition"], team["owner"]
    keep = partners.partner_create(
        coalition=coalition, actor=owner, name="Tenants Union", kind="union"
    )
    absorb = partners.partner_create(
        coalition=coalition, actor=owner, name="Tenants' Union Leeds", kind="union"
    )
    agreement = partners.agreement_save(partner=keep, actor=owner, title="MoU")
    partners.agreement_save(
        partner=keep, actor=owner, agreement=agreement, title="MoU 2027"
    )
    partners.agreement_delete(agreement=agreement, actor=owner)
    merging.partner_merge(keep=keep, absorb=absorb, actor=owner)

    letter = published_letter(coalition=coalition)
    ProspectFactory(letter=letter, organisation="Tenants Union", email="a@x.example")
    ProspectFactory(letter=letter, organisation="Tenants Union", email="b@x.example")
    assert matching.partner_matches_scan(coalition=coalition, actor=owner) == 2
    first, second = keep.matches.order_by("id")
    matching.partner_match_confirm(match=first, actor=owner)
    matching.partner_match_reject(match=second, actor=owner)

    assert [a for a, _ in log(coalition)][2:] == [
        "agreement.added",
        "agreement.changed",
        "agreement.removed",
        "partner.merged",
        "match.scanned",
        "match.confirmed",
        "match.rejected",
    ]
    assert sentences(coalition)[5:] == [
        "Merged Tenants' Union Leeds into Tenants Union",
        "Looked for matches: 2 new proposals",
        "Confirmed that Tenants Union is the partner Tenants Union",
        "Decided that Tenants Union is not the partner Tenants Union",
    ]


def test_the_activity_page_is_for_members_only_and_keeps_names_inert(team):
    coalition = team["coalition"]
    partners.partner_create(
        coalition=coalition, actor=team["owner"], name=f"Evil {MARKUP}", kind="ngo"
    )
    url = reverse("coalitions:activity", args=[coalition.slug])

    page = client_for(team["viewer"]).get(url)
    assert page.status_code == 200
    assert "Added the partner Evil" in page.content.decode()
    assert_inert(page.content.decode())
    assert client_for(team["viewer"]).post(url).status_code == 405
    assert client_for(UserFactory()).get(url).status_code == 404


# --- Agreement files a rolled-back change would leave behind -------------------------


def test_a_failed_agreement_change_deletes_the_file_it_wrote(team, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    partner = partners.partner_create(
        coalition=team["coalition"], actor=team["owner"], name="P", kind="ngo"
    )
    failing = mock.patch.object(
        partners, "coalition_audit_record", side_effect=RuntimeError("database gone")
    )
    with failing, pytest.raises(RuntimeError):
        partners.agreement_save(
            partner=partner,
            actor=team["owner"],
            title="MoU",
            file=SimpleUploadedFile("mou.pdf", b"%PDF-1.4"),
        )
    assert not Agreement.objects.exists()
    assert not list(tmp_path.rglob("*.pdf"))


def test_the_sweep_deletes_files_no_agreement_names_once_they_are_old(
    team, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    partner = partners.partner_create(
        coalition=team["coalition"], actor=team["owner"], name="P", kind="ngo"
    )
    kept = partners.agreement_save(
        partner=partner,
        actor=team["owner"],
        title="Kept",
        file=SimpleUploadedFile("kept.pdf", b"%PDF-1.4"),
    )
    # A caller's transaction rolls back after the file was stored.
    with pytest.raises(RuntimeError), transaction.atomic():
        partners.agreement_save(
            partner=partner,
            actor=team["owner"],
            title="Lost",
            file=SimpleUploadedFile("lost.pdf", b"%PDF-1.4"),
        )
        raise RuntimeError("the request failed later")
    assert sorted(p.name for p in tmp_path.rglob("*.pdf")) == ["kept.pdf", "lost.pdf"]

    assert partners.agreement_files_sweep() == 0  # too young to be sure
    assert partners.agreement_files_sweep(older_than=dt.timedelta(0)) == 1
    assert [p.name for p in tmp_path.rglob("*.pdf")] == ["kept.pdf"]
    kept.refresh_from_db()
    assert kept.file.name.endswith("kept.pdf")
