"""Starting the next letter from the directory: partners become prospects."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from coalition.models import User
from letters.models import Letter
from letters.permissions import membership_for
from signers.models import Partner, PartnerMatch, Prospect
from signers.services.outreach import prospect_create


@dataclass
class InviteResult:
    added: list[Prospect]
    without_contact: list[Partner]
    already_listed: list[str]


@transaction.atomic
def prospects_from_partners(
    *, letter: Letter, actor: User, partners: Iterable[Partner]
) -> InviteResult:
    """Make each partner a prospect of ``letter``, once per contact who agreed to
    be contacted and has an email, held by the partner's holder, and linked to
    the partner (the organiser chose it from the directory). Addresses already
    on the list are left as they are."""
    membership = membership_for(letter=letter, user=actor)
    if membership is None or not membership.can_edit:
        raise PermissionDenied
    result = InviteResult([], [], [])
    for partner in partners:
        if partner.coalition_id != letter.coalition_id:
            raise PermissionDenied
        contacts = partner.contacts.filter(consent_to_contact=True).exclude(email="")
        if not contacts:
            result.without_contact.append(partner)
        for contact in contacts:
            try:
                with transaction.atomic():
                    prospect = prospect_create(
                        letter=letter,
                        organisation=partner.name,
                        email=contact.email,
                        contact_name=contact.name,
                        owner=partner.holder,
                        is_large=partner.influence
                        in (
                            Partner.Influence.NATIONAL,
                            Partner.Influence.INTERNATIONAL,
                        ),
                    )
            except ValidationError:
                result.already_listed.append(contact.email)
                continue
            Prospect.objects.filter(pk=prospect.pk).update(partner=partner)
            PartnerMatch.objects.filter(prospect=prospect).delete()
            result.added.append(prospect)
    return result
