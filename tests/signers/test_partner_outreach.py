"""A partner's history across letters, and the next letter's outreach from the
directory."""

import pytest
from django.urls import reverse
from django.utils import timezone

from coalition.models import CoalitionMember
from coalition.outbox.models import OutboxMessage
from signers.models import (
    CallInvitation,
    ChangeRequest,
    EmailKind,
    Prospect,
    Signature,
    Update,
)
from signers.partners import selectors
from signers.partners.selectors import SuggestionFilters
from signers.planning.reminders import new_delivery
from signers.planning.updates import update_group
from tests.factories import (
    CoalitionMemberFactory,
    PartnerContactFactory,
    PartnerFactory,
    ProspectFactory,
    SignatureFactory,
    TagFactory,
    circulating_letter,
)
from tests.letters.test_permissions import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def coalition_with_letters():
    organiser = CoalitionMemberFactory(role=CoalitionMember.Role.ORGANISER)
    coalition = organiser.coalition
    old = circulating_letter(coalition=coalition, title="Old letter")
    new = circulating_letter(coalition=coalition, title="New letter")
    return {"coalition": coalition, "organiser": organiser.user, "old": old, "new": new}


def test_the_history_shows_every_letter_answer_request_update_and_call(
    coalition_with_letters,
):
    data = coalition_with_letters
    old, new = data["old"], data["new"]
    partner = PartnerFactory(coalition=data["coalition"])
    holder = data["organiser"]
    asked = ProspectFactory(
        letter=old,
        partner=partner,
        owner=holder,
        status=Prospect.Status.DECLINED,
        decline_reason="Not our issue this year.",
        invited_at=timezone.now(),
    )
    signature = SignatureFactory(letter=new, partner=partner, display_name="P. Org")
    ChangeRequest.objects.create(
        letter=new,
        revision=new.current_revision,
        signature=signature,
        text="Mention buses.",
    )
    update = Update.objects.create(
        letter=new, subject="We met the Council", body="News", sent_at=timezone.now()
    )
    sent = new_delivery(
        letter=new,
        kind=EmailKind.UPDATE,
        basis=f"update{update.pk}",
        due_at=timezone.now(),
        signature=signature,
        group=update_group(update.pk),
        about={"update": update.pk},
    )
    sent.status = OutboxMessage.Status.SENT
    sent.save()
    call = new.calls.create(
        title="Hand-over call", starts_at=timezone.now(), join_url="https://x.example"
    )
    CallInvitation.objects.create(
        call=call, email=signature.email, signature=signature, response="yes"
    )
    # Someone else's rows on the same letters are not this partner's history.
    SignatureFactory(letter=old, display_name="Someone Else")

    history = selectors.partner_history(partner=partner)

    assert [h.letter for h in history] == [new, old]
    assert history[1].prospects == [asked] and history[1].answer == "Declined"
    assert history[0].answer == "Confirmed"
    assert [r.text for r in history[0].change_requests] == ["Mention buses."]
    assert history[0].updates == [update]
    assert [c.call for c in history[0].calls] == [call]
    url = reverse("partners:detail", args=[data["coalition"].slug, partner.pk])
    page = client_for(holder).get(url).content.decode()
    for text in (
        "Old letter",
        "Not our issue this year.",
        "Signed as P. Org",
        "Mention buses.",
        "We met the Council",
        "Hand-over call",
        str(holder),
    ):
        assert text in page, text


# --- Invite from the directory ------------------------------------------------------


def test_suggestions_leave_out_this_letters_prospects_and_put_past_signers_first(
    coalition_with_letters,
):
    data = coalition_with_letters
    coalition, old, new = data["coalition"], data["old"], data["new"]
    faithful = PartnerFactory(coalition=coalition, name="Faithful", reach=5)
    big = PartnerFactory(coalition=coalition, name="Big", reach=5000)
    small = PartnerFactory(coalition=coalition, name="Small", reach=None)
    listed = PartnerFactory(coalition=coalition, name="Listed")
    PartnerFactory(name="Elsewhere")  # another coalition
    SignatureFactory(letter=old, partner=faithful)
    ProspectFactory(letter=new, partner=listed)

    found = selectors.directory_suggestions(letter=new, filters=SuggestionFilters())

    assert [p.name for p in found] == ["Faithful", "Big", "Small"]
    assert found[0].signed_before == 1
    signed = SuggestionFilters(past="signed")
    assert list(selectors.directory_suggestions(letter=new, filters=signed)) == [
        faithful
    ]
    never = SuggestionFilters(past="never_asked")
    assert set(selectors.directory_suggestions(letter=new, filters=never)) == {
        big,
        small,
    }


def test_suggestions_filter_by_tag_place_and_influence(coalition_with_letters):
    data = coalition_with_letters
    coalition = data["coalition"]
    housing = TagFactory(coalition=coalition, name="housing")
    a = PartnerFactory(coalition=coalition, place="Leeds", influence="national")
    PartnerFactory(coalition=coalition, place="York", influence="local")
    a.tags.add(housing)

    def found(**filters):
        return list(
            selectors.directory_suggestions(
                letter=data["new"], filters=SuggestionFilters(**filters)
            )
        )

    assert found(tag=housing.pk) == [a]
    assert found(place="leeds") == [a]
    assert found(influence="national") == [a]


def test_adding_partners_makes_prospects_of_their_consenting_contacts(
    coalition_with_letters,
):
    data = coalition_with_letters
    coalition, new = data["coalition"], data["new"]
    holder = data["organiser"]
    partner = PartnerFactory(coalition=coalition, name="River Trust", holder=holder)
    PartnerContactFactory(partner=partner, name="Ana", email="ana@river.example.org")
    PartnerContactFactory(partner=partner, email="no@river.example.org",
                          consent_to_contact=False)  # fmt: skip
    silent = PartnerFactory(coalition=coalition, name="Silent")
    url = reverse("partners:invite", args=[new.slug])
    client = client_for(holder)

    page = client.get(url).content.decode()
    assert "River Trust" in page and "Ana" in page
    response = client.post(url, {"partner": [partner.pk, silent.pk]})

    assert response.url == reverse("signers:outreach", args=[new.slug])
    prospect = Prospect.objects.get(letter=new)
    assert (prospect.organisation, prospect.email, prospect.contact_name) == (
        "River Trust",
        "ana@river.example.org",
        "Ana",
    )
    assert (prospect.partner, prospect.owner) == (partner, holder)
    # Asked once: the partner is no longer suggested for this letter.
    assert partner not in selectors.directory_suggestions(
        letter=new, filters=SuggestionFilters()
    )
    assert client.post(url, {"partner": [partner.pk]}).status_code == 302
    assert Prospect.objects.filter(letter=new).count() == 1


def test_viewers_and_strangers_cannot_add_from_the_directory(coalition_with_letters):
    data = coalition_with_letters
    new = data["new"]
    partner = PartnerFactory(coalition=data["coalition"])
    PartnerContactFactory(partner=partner)
    viewer = CoalitionMemberFactory(coalition=data["coalition"], role="viewer").user
    stranger = CoalitionMemberFactory(role="owner").user
    url = reverse("partners:invite", args=[new.slug])

    assert client_for(viewer).get(url).status_code == 200
    assert client_for(viewer).post(url, {"partner": [partner.pk]}).status_code == 403
    assert client_for(stranger).get(url).status_code == 404
    assert client_for(stranger).post(url, {"partner": [partner.pk]}).status_code == 404
    assert not Prospect.objects.exists()
    assert Signature.objects.count() == 0
