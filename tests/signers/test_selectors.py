import json

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from letters.models import AuditEvent, Letter
from signers import exports
from signers.models import ChangeRequest, EmailKind, Prospect, Signature
from signers.selectors import public
from signers.selectors.consent import consent_violations
from signers.selectors.personal_data import signature_personal_data
from signers.selectors.public import signature_list_public
from signers.selectors.signatures import signature_count_public
from signers.services.personal_data import signature_erase_personal_data
from signers.services.responses import (
    change_request_create,
    prospect_decline,
    referral_create,
)
from signers.services.signatures import (
    signature_confirm,
    signature_set_sort_name,
    signature_update_public_details,
)
from tests.factories import ProspectFactory, RevisionFactory, SignatureFactory
from tests.signers.conftest import make_letter
from tests.signers.helpers import sign

pytestmark = pytest.mark.django_db


def as_json(data) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)


def test_personal_data_holds_the_signature_its_revision_and_all_around_it(
    letter, organiser
):
    prospect = ProspectFactory(
        letter=letter, email="chair@friends.example.org", notes="Met at the fair"
    )
    signature = sign(
        letter,
        prospect=prospect,
        phone="+44 20 7946 0000",
        comment="Happy to help",
        contact_title="Chair",
    )
    referral_create(
        signature=signature, organisation="Parents", email="sam@parents.example.org"
    )
    change_request_create(
        revision=letter.current_revision,
        anchor="point-1",
        text="Say buses",
        signature=signature,
    )
    signature_set_sort_name(
        signature=signature, actor=organiser, sort_name="Park Friends"
    )

    data = signature_personal_data(signature=signature)

    mine = data["signature"]
    assert mine["email"] == "chair@friends.example.org"
    assert (mine["phone"], mine["comment"], mine["contact_title"]) == (
        "+44 20 7946 0000",
        "Happy to help",
        "Chair",
    )
    assert mine["status"] == Signature.Status.CONFIRMED
    assert mine["created_at"] and mine["confirmed_at"]
    assert data["revision_signed"] == {
        "number": 1,
        "sha256": letter.current_revision.sha256,
        "published_at": letter.current_revision.created_at,
    }
    assert data["prospect"]["notes"] == "Met at the fair"
    assert data["prospect"]["status"] == Prospect.Status.SIGNED
    assert [r["email"] for r in data["referrals"]] == ["sam@parents.example.org"]
    assert [(c["anchor"], c["text"]) for c in data["change_requests"]] == [
        ("point-1", "Say buses")
    ]
    assert [e["kind"] for e in data["emails"]] == [EmailKind.RECEIPT]
    assert [e["action"] for e in data["history"]] == ["signature.sort_name_set"]
    assert data["letter"]["address"].endswith(f"/letters/{letter.slug}/")
    assert "Happy to help" in as_json(data)


def test_every_stored_field_of_the_signature_is_exported(letter):
    signature = sign(letter)

    exported = signature_personal_data(signature=signature)["signature"]

    stored = {f.attname for f in Signature._meta.concrete_fields}
    given_elsewhere = {"letter_id", "revision_id", "prospect_id"}
    # The database's markup of the public fields, which are exported.
    derived = {"public_row"}
    assert set(exported) == stored - given_elsewhere - derived


def test_personal_data_finds_the_outreach_record_by_email_and_their_requests(
    open_letter,
):
    prospect = ProspectFactory(letter=open_letter, email="chair@friends.example.org")
    prospect_decline(
        prospect_id=prospect.pk, reason="Not yet", anchor="point-2", change="Shorter"
    )
    signature = sign(open_letter, source=Signature.Source.OPEN_JOIN, prospect=None)

    data = signature_personal_data(signature=signature)

    assert data["prospect"]["id"] == prospect.pk
    assert data["prospect"]["decline_reason"] == "Not yet"
    assert [c["text"] for c in data["change_requests"]] == ["Shorter"]


def test_personal_data_says_nothing_of_other_signers_or_organisers(letter, organiser):
    other = sign(letter, display_name="Other Org", email="other@example.org")
    referral = referral_create(
        signature=other, organisation="Friends", email="chair@friends.example.org"
    )
    Prospect.objects.filter(letter=letter).update(owner=organiser)
    signature = sign(letter, prospect=referral)
    assert signature.source == Signature.Source.REFERRAL

    text = as_json(signature_personal_data(signature=signature))

    assert "other@example.org" not in text
    assert "Other Org" not in text
    assert organiser.email not in text
    assert str(organiser.display_name) not in text


@pytest.mark.parametrize(
    "kind", [Signature.Kind.ORGANISATION, Signature.Kind.INDIVIDUAL]
)
def test_after_erasure_the_export_is_blank_and_the_public_count_unchanged(
    letter, organiser, kind
):
    letter.signer_kinds = Letter.SignerKinds.BOTH
    letter.save()
    SignatureFactory(letter=letter)
    signature = sign(
        letter,
        kind=kind,
        display_name="Ada Lovelace",
        contact_name="Ada",
        phone="+44 1",
        comment="Call me",
        attested=kind == Signature.Kind.ORGANISATION,
    )
    Prospect.objects.filter(pk=signature.prospect_id).update(notes="Knows the mayor")
    signature_update_public_details(
        signature_id=signature.pk, display_name="Ada King", city="London"
    )
    count = signature_count_public(letter=letter)

    assert signature_erase_personal_data(signature=signature, actor=organiser)

    assert signature_count_public(letter=letter) == count == 2
    data = signature_personal_data(signature=signature)
    mine = data["signature"]
    for field in ("contact_name", "contact_title", "phone", "comment"):
        assert mine[field] == "", field
    assert mine["email"].endswith("@erased.invalid")
    assert mine["erased_at"] is not None
    assert mine["status"] == Signature.Status.CONFIRMED
    assert data["revision_signed"]["sha256"] == letter.current_revision.sha256
    prospect = data["prospect"]
    assert (prospect["contact_name"], prospect["notes"]) == ("", "")
    assert prospect["email"].endswith("@erased.invalid")
    text = as_json(data)
    for personal in ("chair@friends.example.org", "+44 1", "Call me", "the mayor"):
        assert personal not in text
    if kind == Signature.Kind.INDIVIDUAL:
        # An individual's name is personal data: gone from the log too.
        assert "Ada" not in text
        assert "Ada" not in as_json(list(AuditEvent.objects.values("detail")))


def test_erasure_leaves_other_prospects_and_what_the_signer_suggested(
    letter, organiser
):
    signature = sign(letter)
    suggested = referral_create(
        signature=signature, organisation="Parents", email="sam@parents.example.org"
    )
    unrelated = ProspectFactory(letter=letter)
    request = change_request_create(
        revision=letter.current_revision,
        anchor="general",
        text="Shorter",
        signature=signature,
    )

    signature_erase_personal_data(signature=signature, actor=organiser)

    assert Prospect.objects.get(pk=suggested.pk).email == "sam@parents.example.org"
    assert Prospect.objects.get(pk=unrelated.pk).email == unrelated.email
    assert ChangeRequest.objects.get(pk=request.pk).text == "Shorter"


# --- The consent invariant -----------------------------------------------------


def test_signatures_made_through_the_services_break_no_promise(letter, organiser):
    open_letter = make_letter(status=Letter.Status.PUBLISHED, open_joining=True)
    sign(letter)
    pending = sign(
        open_letter, source=Signature.Source.OPEN_JOIN, email="a@alder.example.org"
    )
    signature_confirm(
        signature_id=pending.pk, revision_id=open_letter.current_revision_id
    )
    exports.letter_pdf_render(letter_id=open_letter.pk)

    assert consent_violations() == []


@pytest.mark.consent_violation_expected
def test_a_signer_counted_on_text_before_a_material_revision_is_a_violation(letter):
    signature = sign(letter)
    new = RevisionFactory(letter=letter, number=2, kind="material")
    Letter.objects.filter(pk=letter.pk).update(
        current_revision=new, last_material_revision_number=2
    )

    (violation,) = consent_violations()

    assert violation.signature_id == signature.pk
    assert str(violation) == (
        f"{letter.slug}, signature {signature.pk}: counted on revision 1, before "
        "the material revision 2 it has not agreed to"
    )


@pytest.mark.consent_violation_expected
@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        (
            {"attested": False},
            "counted without attesting the authority to sign for the organisation",
        ),
        ({"withdrawn_at": timezone.now()}, "counted after withdrawing"),
    ],
)
def test_a_listed_signer_without_each_consent_is_a_violation(letter, fields, problem):
    signature = SignatureFactory(letter=letter, **fields)

    assert [(v.signature_id, v.problem) for v in consent_violations()] == [
        (signature.pk, problem)
    ]


@pytest.mark.consent_violation_expected
def test_a_signature_bound_to_another_letters_text_is_a_violation(letter):
    other = make_letter()
    signature = SignatureFactory(letter=letter, revision=other.current_revision)

    assert [v.problem for v in consent_violations()] == [
        "bound to another letter's text"
    ]
    assert consent_violations(letter=other) == []
    assert consent_violations(letter=letter)[0].signature_id == signature.pk


@pytest.mark.consent_violation_expected
def test_the_check_reads_the_public_lists_own_definition(open_letter, monkeypatch):
    letter = open_letter
    pending = sign(letter, source=Signature.Source.OPEN_JOIN)
    assert consent_violations() == []

    # A change to what the public list shows is a change to what is checked.
    monkeypatch.setattr(
        public,
        "counted_signatures",
        lambda letter: Signature.objects.filter(letter=letter),
    )

    assert [s.pk for s in signature_list_public(letter=letter)] == [pending.pk]
    assert [v.problem for v in consent_violations()] == [
        "counted with the status “pending”, not confirmed"
    ]


@pytest.mark.consent_violation_expected
def test_a_pdf_on_offer_rendered_from_another_list_is_a_violation(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    letter = make_letter(status=Letter.Status.PUBLISHED)
    sign(letter)
    exports.letter_pdf_render(letter_id=letter.pk)
    assert consent_violations() == []

    # A new name listed without a new list version: the PDF still looks current.
    SignatureFactory(letter=letter, display_name="Unannounced Group")

    (violation,) = consent_violations()
    assert violation.signature_id is None
    assert violation.problem.startswith(
        "the PDF on offer was rendered from another signer list"
    )
