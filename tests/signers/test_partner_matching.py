"""Matching prospects and signers to partners (never silently), and merging."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from coalition.models import CoalitionMember
from signers.models import PartnerMatch, Prospect, Signature
from signers.partners import matching, merging, services
from signers.services import outreach, signatures, signing
from tests.factories import (
    AgreementFactory,
    CoalitionMemberFactory,
    PartnerContactFactory,
    PartnerFactory,
    ProspectFactory,
    SignatureFactory,
)
from tests.letters.public_fixtures import published_letter
from tests.letters.test_permissions import client_for

pytestmark = pytest.mark.django_db
Reason = PartnerMatch.Reason
Status = PartnerMatch.Status


@pytest.fixture
def setup():
    organiser = CoalitionMemberFactory(role=CoalitionMember.Role.ORGANISER)
    coalition = organiser.coalition
    viewer = CoalitionMemberFactory(coalition=coalition, role="viewer").user
    letter = published_letter(coalition=coalition)
    return {
        "coalition": coalition,
        "organiser": organiser.user,
        "viewer": viewer,
        "letter": letter,
    }


def partner(setup, name, **fields):
    return services.partner_create(
        coalition=setup["coalition"],
        actor=setup["organiser"],
        name=name,
        kind="ngo",
        **fields,
    )


def prospect(setup, organisation, email):
    row = ProspectFactory(
        letter=setup["letter"], organisation=organisation, email=email
    )
    return row, matching.propose_for_prospects([row])


def reasons(matches):
    return {(m.partner.name, m.reason) for m in matches}


# --- Proposals -------------------------------------------------------------------


def test_the_same_name_in_another_spelling_is_proposed(setup):
    partner(setup, "The Sierra Club")
    _row, found = prospect(setup, "sierra-club", "ana@mail.example.net")

    assert reasons(found) == {("The Sierra Club", Reason.NAME)}


def test_a_look_alike_name_is_proposed(setup):
    partner(setup, "SIERRA CLUB")
    # A lower-case L for the I: the same only in capitals (the skeleton key).
    _row, found = prospect(setup, "SlERRA CLUB", "ana@mail.example.net")

    assert reasons(found) == {("SIERRA CLUB", Reason.LOOK_ALIKE)}


def test_one_of_its_other_names_is_proposed(setup):
    partner(setup, "Friends of the Earth", other_names=["FoE Scotland"])
    _row, found = prospect(setup, "FOE scotland", "ana@mail.example.net")

    assert reasons(found) == {("Friends of the Earth", Reason.OTHER_NAME)}


def test_the_email_domain_or_website_is_proposed_but_not_free_mail(setup):
    partner(setup, "River Trust", email_domains=["rivers.example.org"])
    partner(setup, "Lake Trust", website="https://www.lakes.example.org/")
    _row, by_mail = prospect(setup, "R.T.", "ana@rivers.example.org")
    _row, by_site = prospect(setup, "L.T.", "bo@lakes.example.org")
    _row, free = prospect(setup, "Someone", "someone@gmail.com")
    signature = SignatureFactory(
        letter=setup["letter"],
        display_name="Lakes",
        email="x@gmail.com",
        website="http://lakes.example.org/join",
    )

    assert reasons(by_mail) == {("River Trust", Reason.DOMAIN)}
    assert reasons(by_site) == {("Lake Trust", Reason.DOMAIN)}
    assert free == []
    assert reasons(matching.propose_for_signature(signature)) == {
        ("Lake Trust", Reason.DOMAIN)
    }


def test_another_coalitions_partners_are_never_proposed(setup):
    PartnerFactory(name="Sierra Club")  # its own coalition
    _row, found = prospect(setup, "Sierra Club", "ana@mail.example.net")

    assert found == []


def test_a_rejected_proposal_is_not_made_again(setup):
    partner(setup, "Sierra Club")
    row, (match,) = prospect(setup, "Sierra Club", "ana@mail.example.net")
    matching.partner_match_reject(match=match, actor=setup["organiser"])

    assert matching.propose_for_prospects([row]) == []
    assert PartnerMatch.objects.count() == 1
    assert PartnerMatch.objects.get().status == Status.REJECTED
    assert Prospect.objects.get().partner is None


def test_the_scan_proposes_for_every_letter_of_the_coalition(setup):
    partner(setup, "Sierra Club")
    ProspectFactory(letter=setup["letter"], organisation="Sierra Club", email="a@b.c")
    SignatureFactory(letter=setup["letter"], display_name="sierra club")
    SignatureFactory(display_name="Sierra Club")  # another coalition's letter

    found = matching.partner_matches_scan(
        coalition=setup["coalition"], actor=setup["organiser"]
    )

    assert found == 2
    assert (
        matching.partner_matches_scan(
            coalition=setup["coalition"], actor=setup["organiser"]
        )
        == 0
    )


# --- Answers ------------------------------------------------------------------------


def test_confirming_links_the_row_and_learns_the_name(setup):
    sierra = partner(setup, "Sierra Club", email_domains=["sierra.example.org"])
    partner(setup, "Club of Sierra", email_domains=["sierra.example.org"])
    row, found = prospect(setup, "Sierra Club Glasgow", "ana@sierra.example.org")
    match = next(m for m in found if m.partner == sierra)

    matching.partner_match_confirm(match=match, actor=setup["organiser"])

    row.refresh_from_db()
    assert row.partner == sierra
    assert [n.name for n in sierra.other_names.all()] == ["Sierra Club Glasgow"]
    statuses = dict(PartnerMatch.objects.values_list("partner__name", "status"))
    assert statuses == {"Sierra Club": "confirmed", "Club of Sierra": "rejected"}


def test_answers_are_posts_by_organisers_only(setup):
    sierra = partner(setup, "Sierra Club")
    _row, (match,) = prospect(setup, "Sierra Club", "ana@mail.example.net")
    url = reverse(
        "partners:match-answer", args=[setup["coalition"].slug, match.pk, "confirm"]
    )
    listing = reverse("partners:matches", args=[setup["coalition"].slug])

    organiser = client_for(setup["organiser"])
    assert "Sierra Club" in organiser.get(listing).content.decode()
    assert organiser.get(url).status_code == 405
    assert client_for(setup["viewer"]).post(url).status_code == 403
    with pytest.raises(PermissionDenied):
        matching.partner_match_confirm(match=match, actor=setup["viewer"])
    assert Prospect.objects.get().partner is None

    organiser.post(url)
    assert Prospect.objects.get().partner == sierra
    with pytest.raises(ValidationError):
        matching.partner_match_confirm(match=match, actor=setup["organiser"])


def test_matching_changes_nothing_public(setup, client):
    letter = setup["letter"]
    signature = SignatureFactory(letter=letter, display_name="Sierra Club")
    sierra = partner(setup, "Sierra Club")
    public = reverse("signers:public", args=[letter.slug])
    before = client.get(public).content
    csv_before = b"".join(
        client.get(reverse("signers:signers-csv", args=[letter.slug])).streaming_content
    )
    updated_at, version = signature.updated_at, letter.signers_version

    (match,) = matching.propose_for_signature(signature)
    matching.partner_match_confirm(match=match, actor=setup["organiser"])

    signature.refresh_from_db()
    letter.refresh_from_db()
    assert signature.partner == sierra
    assert (signature.updated_at, letter.signers_version) == (updated_at, version)
    assert client.get(public).content == before
    csv_after = client.get(reverse("signers:signers-csv", args=[letter.slug]))
    assert b"".join(csv_after.streaming_content) == csv_before


# --- Merging -----------------------------------------------------------------------


def test_merge_moves_every_link_and_changes_nothing_public(setup, client):
    letter = setup["letter"]
    keep = partner(setup, "Sierra Club", tags=["climate"])
    absorb = partner(
        setup,
        "Sierra Club Scotland",
        other_names=["SC Scotland"],
        email_domains=["scotland.example.org"],
        place="Glasgow",
        tags=["climate", "land"],
    )
    contact = PartnerContactFactory(partner=absorb)
    agreement = AgreementFactory(partner=absorb)
    row = ProspectFactory(letter=letter, partner=absorb)
    signature = SignatureFactory(letter=letter, partner=absorb)
    other_row = ProspectFactory(letter=letter)
    PartnerMatch.objects.create(partner=absorb, prospect=other_row, reason="name")
    PartnerMatch.objects.create(partner=keep, prospect=other_row, reason="domain")
    public = reverse("signers:public", args=[letter.slug])
    before = client.get(public).content

    preview = merging.partner_merge_preview(keep=keep, absorb=absorb)
    assert list(preview.contacts) == [contact]
    assert list(preview.signatures) == [signature]
    assert [t.name for t in preview.tags] == ["land"]
    assert preview.names == ["Sierra Club Scotland", "SC Scotland"]
    assert preview.domains == ["scotland.example.org"]

    merging.partner_merge(keep=keep, absorb=absorb, actor=setup["organiser"])

    for obj in (contact, agreement, row, signature):
        obj.refresh_from_db()
        assert obj.partner == keep
    keep.refresh_from_db()
    assert keep.place == "Glasgow"
    assert sorted(n.name for n in keep.other_names.all()) == [
        "SC Scotland",
        "Sierra Club Scotland",
    ]
    assert sorted(t.name for t in keep.tags.all()) == ["climate", "land"]
    assert [d.domain for d in keep.email_domains.all()] == ["scotland.example.org"]
    assert list(PartnerMatch.objects.values_list("partner", "reason")) == [
        (keep.pk, "domain")
    ]
    assert client.get(public).content == before
    assert Signature.objects.get(pk=signature.pk).status == signature.status


def test_merge_is_previewed_on_get_and_done_on_post_by_organisers(setup):
    keep = partner(setup, "Keep")
    absorb = partner(setup, "Absorb")
    url = reverse("partners:merge", args=[setup["coalition"].slug])
    data = {"keep": keep.pk, "absorb": absorb.pk}

    organiser = client_for(setup["organiser"])
    page = organiser.get(url, data)
    assert "From Absorb to Keep" in page.content.decode()
    assert absorb.__class__.objects.filter(pk=absorb.pk).exists()
    assert client_for(setup["viewer"]).post(url, data).status_code == 403
    assert client_for(setup["viewer"]).get(url, data).status_code == 403

    response = organiser.post(url, data)
    assert response.status_code == 302
    assert not absorb.__class__.objects.filter(pk=absorb.pk).exists()


def test_merging_a_partner_into_itself_or_across_coalitions_is_refused(setup):
    keep = partner(setup, "Keep")
    with pytest.raises(ValidationError):
        merging.partner_merge(keep=keep, absorb=keep, actor=setup["organiser"])
    with pytest.raises(ValidationError):
        merging.partner_merge(
            keep=keep, absorb=PartnerFactory(), actor=setup["organiser"]
        )


# --- Where proposals are made: creation, import, invitation, signing ---------------


def test_adding_or_importing_prospects_proposes_matches(setup):
    sierra = partner(setup, "Sierra Club")
    added = outreach.prospect_create(
        letter=setup["letter"], organisation="Sierra Club", email="a@mail.example.net"
    )
    outreach.prospects_import(
        letter=setup["letter"],
        data=b"organisation,email\nSIERRA CLUB,b@mail.example.net\n",
        actor=None,
    )

    imported = Prospect.objects.get(email="b@mail.example.net")
    proposed = PartnerMatch.objects.filter(partner=sierra, status=Status.PROPOSED)
    assert sorted(m.prospect_id for m in proposed) == sorted([added.pk, imported.pk])
    assert Prospect.objects.filter(partner__isnull=False).count() == 0


def test_inviting_proposes_partners_added_since(setup):
    letter = setup["letter"]
    row = ProspectFactory(letter=letter, organisation="River Trust", email="r@x.org")
    river = partner(setup, "River Trust")

    outreach.invitations_send(letter=letter, actor=None)

    assert PartnerMatch.objects.get().partner == river
    assert PartnerMatch.objects.get().prospect == row


def rivers_sign(letter, source):
    """Rivers United signs from the domain the River Trust partner has."""
    return signing.signature_create(
        letter=letter,
        revision_id=letter.current_revision_id,
        source=source,
        display_name="Rivers United",
        email="ana@rivers.example.org",
        attested=True,
    )


def assert_proposed_by_domain(partner, signature):
    match = PartnerMatch.objects.get()
    assert (match.partner, match.signature, match.reason) == (
        partner,
        signature,
        Reason.DOMAIN,
    )


def test_signing_proposes_a_match(setup):
    river = partner(setup, "River Trust", email_domains=["rivers.example.org"])

    signature = rivers_sign(setup["letter"], Signature.Source.IMPORT)

    assert_proposed_by_domain(river, signature)
    assert Signature.objects.get().partner is None


def test_an_open_join_is_proposed_once_its_address_is_confirmed(setup):
    letter = setup["letter"]
    letter.open_joining = True
    letter.save(update_fields=["open_joining"])
    river = partner(setup, "River Trust", email_domains=["rivers.example.org"])

    signature = rivers_sign(letter, Signature.Source.OPEN_JOIN)

    # Unproven: a sign-up that never confirms proposes nothing.
    assert signature.status == Signature.Status.PENDING
    assert not PartnerMatch.objects.exists()

    assert signatures.signature_confirm(
        signature_id=signature.pk, revision_id=letter.current_revision_id
    )

    assert_proposed_by_domain(river, signature)
