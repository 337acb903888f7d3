"""The partner directory: who reads it, who changes it, and what it keeps."""

import csv
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from coalition.models import CoalitionMember
from signers.models import Agreement, Partner, PartnerContact
from signers.partners import selectors, services
from signers.partners.selectors import PartnerFilters
from tests.coalition.test_page_sweep import MARKUP, assert_inert
from tests.factories import (
    AgreementFactory,
    CoalitionMemberFactory,
    PartnerContactFactory,
    PartnerFactory,
    TagFactory,
)
from tests.letters.test_permissions import client_for

pytestmark = pytest.mark.django_db
Role = CoalitionMember.Role


@pytest.fixture
def team():
    organiser = CoalitionMemberFactory(role=Role.ORGANISER)
    coalition = organiser.coalition
    viewer = CoalitionMemberFactory(coalition=coalition, role=Role.VIEWER)
    return {
        "coalition": coalition,
        "organiser": organiser.user,
        "viewer": viewer.user,
        "stranger": CoalitionMemberFactory(role=Role.OWNER).user,
    }


def create(team, **fields):
    return services.partner_create(
        coalition=team["coalition"],
        actor=team["organiser"],
        **{"name": "Friends of the Park", "kind": "ngo", **fields},
    )


def url(name, team, *args):
    return reverse(f"partners:{name}", args=[team["coalition"].slug, *args])


# --- Services ------------------------------------------------------------------------


def test_a_partner_keeps_its_name_keys_domains_other_names_and_tags(team):
    partner = create(
        team,
        name="The Friends of the Park",
        website="https://www.friends-park.example.org/about",
        other_names=["Park Friends", "park friends", "The Friends of the Park"],
        email_domains=["FRIENDS-PARK.example.org", "@mail.friends.example.org"],
        tags=["Parks", "housing", "parks"],
    )

    assert partner.normalised_name == "friends of the park"
    assert partner.sort_name == "friends of the park"
    assert partner.website_domain == "friends-park.example.org"
    assert [n.name for n in partner.other_names.all()] == ["Park Friends"]
    assert sorted(d.domain for d in partner.email_domains.all()) == [
        "friends-park.example.org",
        "mail.friends.example.org",
    ]
    assert sorted(t.name for t in partner.tags.all()) == ["Parks", "housing"]


def test_a_free_mail_domain_is_refused(team):
    with pytest.raises(ValidationError, match=r"gmail\.com"):
        create(team, email_domains=["gmail.com"])


def test_the_holder_must_be_a_member_of_the_coalition(team):
    with pytest.raises(ValidationError):
        create(team, holder=team["stranger"])
    assert create(team, holder=team["viewer"]).holder == team["viewer"]


def test_a_viewer_cannot_change_the_directory(team):
    partner = PartnerFactory(coalition=team["coalition"])
    with pytest.raises(PermissionDenied):
        services.partner_create(
            coalition=team["coalition"], actor=team["viewer"], name="X", kind="ngo"
        )
    with pytest.raises(PermissionDenied):
        services.partner_delete(partner=partner, actor=team["viewer"])
    with pytest.raises(PermissionDenied):
        services.partner_contact_save(partner=partner, actor=team["viewer"], name="Y")


def test_consent_to_be_contacted_is_dated_and_cleared_when_withdrawn(team):
    partner = PartnerFactory(coalition=team["coalition"])
    contact = services.partner_contact_save(
        partner=partner,
        actor=team["organiser"],
        name="Ana",
        email="Ana@Park.example.org",
        consent_to_contact=True,
    )
    assert contact.email == "ana@park.example.org" and contact.consent_at

    contact = services.partner_contact_save(
        partner=partner, actor=team["organiser"], contact=contact, name="Ana"
    )
    assert not contact.consent_to_contact and contact.consent_at is None


# --- Pages: members read, organisers write, viewers and strangers do not ----------


def test_the_list_searches_filters_and_sorts(team):
    coalition = team["coalition"]
    housing = TagFactory(coalition=coalition, name="housing")
    big = PartnerFactory(coalition=coalition, name="Big Union", kind="union", reach=900)
    small = PartnerFactory(coalition=coalition, name="Small Group", reach=10)
    big.tags.add(housing)
    services.partner_names_add(partner=small, other_names=["Tiny Collective"])

    def names(**filters):
        found = selectors.partner_list(
            coalition=coalition, filters=PartnerFilters(**filters)
        )
        return [p.name for p in found]

    assert names() == ["Big Union", "Small Group"]
    assert names(q="tiny") == ["Small Group"]
    assert names(kind="union") == ["Big Union"]
    assert names(tag=housing.pk) == ["Big Union"]
    assert names(sort="reach") == ["Big Union", "Small Group"]
    assert names(holder=0) == ["Big Union", "Small Group"]
    page = client_for(team["viewer"]).get(url("list", team), {"q": "big"})
    assert "Big Union" in page.content.decode()
    assert "Small Group" not in page.content.decode()


def test_an_organiser_adds_and_edits_a_partner_through_the_pages(team):
    client = client_for(team["organiser"])
    response = client.post(
        url("create", team),
        {"name": "River Trust", "kind": "ngo", "tags": "water, climate"},
    )
    partner = Partner.objects.get(name="River Trust")
    assert response.url == url("detail", team, partner.pk)

    client.post(
        url("edit", team, partner.pk),
        {"name": "River Trust", "kind": "network", "tags": "water", "reach": "50"},
    )
    partner.refresh_from_db()
    assert (partner.kind, partner.reach) == ("network", 50)
    assert [t.name for t in partner.tags.all()] == ["water"]


def test_a_viewer_reads_but_gets_403_on_every_change_and_no_edit_buttons(team):
    partner = PartnerFactory(coalition=team["coalition"], name="Kept")
    contact = PartnerContactFactory(partner=partner)
    agreement = AgreementFactory(partner=partner)
    client = client_for(team["viewer"])

    page = client.get(url("detail", team, partner.pk)).content.decode()
    assert "Kept" in page
    assert url("edit", team, partner.pk) not in page
    assert url("contact-add", team, partner.pk) not in page
    for name, args in [
        ("create", []),
        ("edit", [partner.pk]),
        ("delete", [partner.pk]),
        ("contact-add", [partner.pk]),
        ("contact-edit", [partner.pk, contact.pk]),
        ("contact-delete", [partner.pk, contact.pk]),
        ("agreement-add", [partner.pk]),
        ("agreement-edit", [partner.pk, agreement.pk]),
        ("agreement-delete", [partner.pk, agreement.pk]),
    ]:
        response = client.post(url(name, team, *args), {"name": "Changed"})
        assert response.status_code == 403, name
    partner.refresh_from_db()
    assert partner.name == "Kept"
    assert PartnerContact.objects.count() == Agreement.objects.count() == 1


def test_another_coalitions_member_gets_404_on_every_partner_page(team):
    partner = PartnerFactory(coalition=team["coalition"])
    contact = PartnerContactFactory(partner=partner)
    agreement = AgreementFactory(partner=partner)
    client = client_for(team["stranger"])
    for name, args in [
        ("list", []),
        ("csv", []),
        ("detail", [partner.pk]),
        ("contact-edit", [partner.pk, contact.pk]),
        ("agreement-edit", [partner.pk, agreement.pk]),
        ("agreement-file", [partner.pk, agreement.pk]),
    ]:
        assert client.get(url(name, team, *args)).status_code == 404, name
    # Nor through its own coalition's URL.
    own = reverse(
        "partners:detail",
        args=[team["stranger"].coalition_memberships.get().coalition.slug, partner.pk],
    )
    assert client.get(own).status_code == 404


def test_delete_keeps_prospects_and_signatures_unlinked(team, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    from tests.factories import ProspectFactory

    partner = PartnerFactory(coalition=team["coalition"])
    prospect = ProspectFactory(partner=partner)
    client = client_for(team["organiser"])

    assert client.get(url("delete", team, partner.pk)).status_code == 200
    assert Partner.objects.filter(pk=partner.pk).exists()
    client.post(url("delete", team, partner.pk))

    prospect.refresh_from_db()
    assert prospect.partner is None
    assert not Partner.objects.filter(pk=partner.pk).exists()


# --- Agreements: files --------------------------------------------------------------


def test_an_agreement_file_is_stored_and_served_only_as_an_attachment(
    team, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    partner = PartnerFactory(coalition=team["coalition"])
    upload = SimpleUploadedFile("mou.html", b"<script>alert(1)</script>")
    client = client_for(team["organiser"])

    response = client.post(
        url("agreement-add", team, partner.pk),
        {"title": "MoU", "status": "agreed", "file": upload},
    )
    assert response.status_code == 200  # HTML is not an agreement file
    assert not Agreement.objects.exists()

    pdf = SimpleUploadedFile("mou.pdf", b"%PDF-1.4 signed", "application/pdf")
    client.post(
        url("agreement-add", team, partner.pk),
        {"title": "MoU", "status": "agreed", "file": pdf},
    )
    agreement = Agreement.objects.get()
    response = client_for(team["viewer"]).get(
        url("agreement-file", team, partner.pk, agreement.pk)
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/octet-stream"
    assert b"".join(response.streaming_content) == b"%PDF-1.4 signed"


def test_an_agreement_file_over_the_limit_is_refused(team, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PARTNERS_AGREEMENT_MAX_BYTES = 10
    partner = PartnerFactory(coalition=team["coalition"])
    big = SimpleUploadedFile("big.pdf", b"x" * 11, "application/pdf")

    response = client_for(team["organiser"]).post(
        url("agreement-add", team, partner.pk),
        {"title": "Too big", "status": "draft", "file": big},
    )

    assert response.status_code == 200
    assert not Agreement.objects.exists()
    assert not list(tmp_path.rglob("*.pdf"))


def test_replacing_or_deleting_an_agreement_deletes_its_old_file(
    team, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    partner = PartnerFactory(coalition=team["coalition"])
    organiser = team["organiser"]
    with django_capture_on_commit_callbacks(execute=True):
        agreement = services.agreement_save(
            partner=partner,
            actor=organiser,
            title="MoU",
            file=SimpleUploadedFile("one.pdf", b"1"),
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.agreement_save(
            partner=partner,
            actor=organiser,
            agreement=agreement,
            title="MoU",
            file=SimpleUploadedFile("two.pdf", b"2"),
        )
    assert [p.name for p in tmp_path.rglob("*.pdf")] == ["two.pdf"]
    with django_capture_on_commit_callbacks(execute=True):
        services.agreement_delete(agreement=agreement, actor=organiser)
    assert not list(tmp_path.rglob("*.pdf"))


# --- Strangers' text stays text -----------------------------------------------------


def test_strangers_text_is_inert_on_the_pages_and_in_the_csv(team):
    partner = create(
        team,
        name=f"Evil {MARKUP}",
        place=MARKUP,
        other_names=[f"Other {MARKUP}"],
        tags=[f"tag {MARKUP}"],
        shared_interests=MARKUP,
        deal_breakers='=HYPERLINK("http://evil.example")',
    )
    PartnerContactFactory(partner=partner, name=MARKUP, role=MARKUP)
    AgreementFactory(partner=partner, title=MARKUP, text=MARKUP)
    client = client_for(team["viewer"])

    for page in ("list", "detail"):
        args = [partner.pk] if page == "detail" else []
        assert_inert(client.get(url(page, team, *args)).content.decode())
    response = client.get(url("csv", team))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert response["Content-Disposition"].startswith("attachment;")
    assert rows[1][0] == f"Evil {MARKUP}"
    assert rows[1][-1] == '\'=HYPERLINK("http://evil.example")'
