"""Joining two records of one organisation: what would move, and moving it.

Every link is kept: the absorbed partner's contacts, agreements, prospects,
signatures, proposals, tags, domains and names (its own name becomes one of
the kept partner's other names) move to the kept one; the kept partner's empty
fields take the absorbed one's values. Prospects and signatures change only
their ``partner``, by queryset update: nothing public changes.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from coalition.coalitions.audit import CoalitionAction, coalition_audit_record
from coalition.models import User
from signers.models import (
    Agreement,
    Partner,
    PartnerContact,
    PartnerDomain,
    PartnerMatch,
    Prospect,
    Signature,
    Tag,
)
from signers.partners.services import partner_names_add, require_editor

# Fields the kept partner takes from the absorbed one when its own are empty.
FILLED_IF_EMPTY = (
    "website", "website_domain", "place", "members_count", "staff_count",
    "reach", "influence", "stakeholders", "relationships", "shared_interests",
    "deal_breakers", "holder",
)  # fmt: skip


@dataclass
class MergePreview:
    keep: Partner
    absorb: Partner
    contacts: QuerySet[PartnerContact]
    agreements: QuerySet[Agreement]
    prospects: QuerySet[Prospect]
    signatures: QuerySet[Signature]
    tags: QuerySet[Tag]
    names: list[str]
    domains: list[str]
    filled: list[str]


def partner_merge_preview(*, keep: Partner, absorb: Partner) -> MergePreview:
    """What ``partner_merge`` would move from ``absorb`` to ``keep``."""
    have_names = {keep.normalised_name} | set(
        keep.other_names.values_list("normalised_name", flat=True)
    )
    names = [absorb.name] + [n.name for n in absorb.other_names.all()]
    keys = [absorb.normalised_name] + [
        n.normalised_name for n in absorb.other_names.all()
    ]
    have_domains = set(keep.email_domains.values_list("domain", flat=True))
    return MergePreview(
        keep=keep,
        absorb=absorb,
        contacts=absorb.contacts.all(),
        agreements=absorb.agreements.all(),
        prospects=absorb.prospects.select_related("letter"),
        signatures=absorb.signatures.select_related("letter"),
        tags=absorb.tags.exclude(pk__in=keep.tags.values("pk")),
        names=[n for n, k in zip(names, keys, strict=True) if k not in have_names],
        domains=[
            d.domain for d in absorb.email_domains.all() if d.domain not in have_domains
        ],
        filled=[
            str(getattr(Partner._meta.get_field(f), "verbose_name", f))
            for f in FILLED_IF_EMPTY
            if f != "website_domain"
            and getattr(keep, f) in (None, "")
            and getattr(absorb, f) not in (None, "")
        ],
    )


@transaction.atomic
def partner_merge(*, keep: Partner, absorb: Partner, actor: User) -> Partner:
    """Move everything of ``absorb`` to ``keep`` and delete ``absorb``."""
    if keep.pk == absorb.pk or keep.coalition_id != absorb.coalition_id:
        raise ValidationError(_("Choose two different partners of this coalition."))
    require_editor(keep.coalition, actor)
    locked = Partner.objects.select_for_update().filter(pk__in=[keep.pk, absorb.pk])
    if len(locked) != 2:
        raise ValidationError(_("One of these partners no longer exists."))
    keep.refresh_from_db()
    absorb.refresh_from_db()

    absorb.contacts.update(partner=keep)
    absorb.agreements.update(partner=keep)
    Prospect.objects.filter(partner=absorb).update(partner=keep)
    Signature.objects.filter(partner=absorb).update(partner=keep)
    # A row proposed for both keeps the kept partner's proposal.
    for match in absorb.matches.all():
        twin = PartnerMatch.objects.filter(partner=keep)
        if match.prospect_id:
            twin = twin.filter(prospect_id=match.prospect_id)
        else:
            twin = twin.filter(signature_id=match.signature_id or 0)
        if twin.exists():
            match.delete()
        else:
            PartnerMatch.objects.filter(pk=match.pk).update(partner=keep)
    keep.tags.add(*absorb.tags.all())
    have = set(keep.email_domains.values_list("domain", flat=True))
    PartnerDomain.objects.bulk_create(
        PartnerDomain(partner=keep, domain=d.domain)
        for d in absorb.email_domains.all()
        if d.domain not in have
    )
    other = [absorb.name] + [n.name for n in absorb.other_names.all()]
    for field in FILLED_IF_EMPTY:
        if getattr(keep, field) in (None, "") and getattr(absorb, field) not in (
            None,
            "",
        ):
            setattr(keep, field, getattr(absorb, field))
    keep.save()
    coalition_audit_record(
        keep.coalition,
        actor,
        CoalitionAction.PARTNERS_MERGED,
        partner=keep.name,
        absorbed=absorb.name,
    )
    absorb.delete()
    partner_names_add(partner=keep, other_names=other)
    return keep
