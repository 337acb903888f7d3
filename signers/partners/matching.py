"""Proposals that a prospect or a signature is a directory partner, and the
organisers' answers to them. Never silent: only confirming links a row.

A row is proposed for every partner of its letter's coalition that shares:
its name's duplicate key (``signers.names``), or its look-alike skeleton, or
one of the partner's other names, or its email domain (or, for a signature,
its website's) with the partner's website or email domains, leaving out
addresses anyone can have (``domains.FREE_MAIL``). One proposal per (partner,
row), with the strongest reason, so a rejected proposal is not made again.

Linking writes ``partner`` with a queryset update: neither ``updated_at`` nor
the letter's ``signers_version`` moves, and nothing public changes.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.coalitions.audit import CoalitionAction, coalition_audit_record
from coalition.models import Coalition, User
from signers import names
from signers.models import (
    PartnerMatch,
    Prospect,
    Signature,
)
from signers.partners.domains import email_domain, website_domain
from signers.partners.services import partner_names_add, require_editor

Reason = PartnerMatch.Reason


@dataclass(frozen=True)
class _Keys:
    normalised: str
    skeleton: str
    domains: frozenset[str]


def _keys_of_prospect(prospect: Prospect) -> _Keys:
    normalised, skeleton = names.name_keys(prospect.organisation)
    domain = email_domain(prospect.email)
    return _Keys(normalised, skeleton, frozenset({domain} - {""}))


def _keys_of_signature(signature: Signature) -> _Keys:
    domains = {email_domain(signature.email), website_domain(signature.website)}
    return _Keys(
        signature.normalised_name or names.normalise_name(signature.display_name),
        signature.skeleton_name or names.skeleton_name(signature.display_name),
        frozenset(domains - {""}),
    )


# Where a partner may answer from, as (select, the columns matched against the
# name keys, the look-alikes and the domains): the partner's own name,
# look-alike and website domain; its other names; its email domains. Each row
# says which it came from.
_PARTNER, _OTHER_NAME, _DOMAIN = "partner", "name", "domain"
_BRANCHES = (
    (
        "SELECT p.id, 'partner', p.normalised_name, p.skeleton_name, "
        "p.website_domain FROM signers_partner p",
        ("p.normalised_name", "p.skeleton_name", "p.website_domain"),
    ),
    (
        "SELECT n.partner_id, 'name', n.normalised_name, n.skeleton_name, '' "
        "FROM signers_partnername n JOIN signers_partner p ON p.id = n.partner_id",
        ("n.normalised_name", "n.skeleton_name", ""),
    ),
    (
        "SELECT d.partner_id, 'domain', '', '', d.domain "
        "FROM signers_partnerdomain d JOIN signers_partner p ON p.id = d.partner_id",
        ("", "", "d.domain"),
    ),
)


def _candidates(
    coalition_id: int, normalised: set[str], skeletons: set[str], domains: set[str]
) -> list[tuple[int, str, str, str, str]]:
    """The coalition's partners whose name, look-alike or website domain is
    one of these, their other names that are, and their email domains that
    are, as (partner, source, name key, skeleton, domain).

    One statement written out rather than three querysets in a union: it runs
    on every organisation's signature, and building the union took ten times
    what the database takes to answer it. Values go in as parameters only.
    """
    wanted = (sorted(normalised), sorted(skeletons), sorted(domains))
    parts: list[str] = []
    params: list[int | str] = []
    for select, columns in _BRANCHES:
        conditions, values = [], []
        for column, keys in zip(columns, wanted, strict=True):
            if column and keys:
                conditions.append(f"{column} IN ({', '.join(['%s'] * len(keys))})")
                values.extend(keys)
        if conditions:
            either = " OR ".join(conditions)
            parts.append(f"{select} WHERE p.coalition_id = %s AND ({either})")
            params += [coalition_id, *values]
    if not parts:
        return []
    with connection.cursor() as cursor:
        # The site's own table and column names and placeholders only.
        cursor.execute(" UNION ALL ".join(parts), params)
        return list(cursor.fetchall())


def _found(coalition_id: int, keys: Sequence[_Keys]) -> dict[_Keys, dict[int, str]]:
    """For each row's keys, the partners found and why (the strongest reason:
    name, other name, look-alike, domain): one query in all."""
    normalised = {k.normalised for k in keys if k.normalised}
    skeletons = {k.skeleton for k in keys if k.skeleton}
    domains = set().union(*(k.domains for k in keys)) if keys else set()
    by_name: dict[str, set[int]] = defaultdict(set)
    by_skeleton: dict[str, set[int]] = defaultdict(set)
    by_other: dict[str, set[int]] = defaultdict(set)
    by_domain: dict[str, set[int]] = defaultdict(set)
    for pk, source, key, skeleton, domain in _candidates(
        coalition_id, normalised, skeletons, domains
    ):
        if source == _PARTNER:
            by_name[key].add(pk)
            by_skeleton[skeleton].add(pk)
            by_domain[domain].add(pk)
        elif source == _OTHER_NAME:
            by_other[key].add(pk)
            by_other[skeleton].add(pk)
        else:
            by_domain[domain].add(pk)

    result: dict[_Keys, dict[int, str]] = {}
    for k in keys:
        found: list[tuple[Iterable[int], str]] = [
            (by_name.get(k.normalised, ()), Reason.NAME),
            (by_other.get(k.normalised, ()), Reason.OTHER_NAME),
            (by_other.get(k.skeleton, ()) if k.skeleton else (), Reason.OTHER_NAME),
            (by_skeleton.get(k.skeleton, ()) if k.skeleton else (), Reason.LOOK_ALIKE),
            *((by_domain.get(d, ()), Reason.DOMAIN) for d in sorted(k.domains)),
        ]
        reasons: dict[int, str] = {}
        for pks, reason in found:
            for pk in pks:
                reasons.setdefault(pk, reason)
        result[k] = reasons
    return result


def _propose(
    coalition_id: int,
    rows: Sequence[tuple[Prospect | Signature, _Keys]],
) -> list[PartnerMatch]:
    """The new proposals for these rows; a pair proposed before (answered or
    not) stays as it is."""
    found = _found(coalition_id, [keys for _row, keys in rows])
    if not any(found[keys] for _row, keys in rows):
        return []  # no partner answers to these names: nothing to propose
    prospect_ids = [r.pk for r, _k in rows if isinstance(r, Prospect)]
    signature_ids = [r.pk for r, _k in rows if isinstance(r, Signature)]
    existing = PartnerMatch.objects.filter(
        Q(prospect_id__in=prospect_ids) | Q(signature_id__in=signature_ids)
    )
    known: set[tuple[int, int | None, int | None]] = set(
        existing.values_list("partner_id", "prospect_id", "signature_id")
    )
    proposals = []
    for row, keys in rows:
        is_prospect = isinstance(row, Prospect)
        for partner_id, reason in found[keys].items():
            pair = (
                (partner_id, row.pk, None)
                if is_prospect
                else (partner_id, None, row.pk)
            )
            if pair in known:
                continue
            known.add(pair)
            proposals.append(
                PartnerMatch(
                    partner_id=partner_id,
                    reason=reason,
                    prospect_id=pair[1],
                    signature_id=pair[2],
                )
            )
    # Conflicts: the same proposal made a moment ago by another request.
    PartnerMatch.objects.bulk_create(proposals, ignore_conflicts=True)
    wanted = {(m.partner_id, m.prospect_id, m.signature_id) for m in proposals}
    return [
        m
        for m in existing.select_related("partner")  # read again: now with these
        if (m.partner_id, m.prospect_id, m.signature_id) in wanted
    ]


def propose_for_prospects(prospects: Sequence[Prospect]) -> list[PartnerMatch]:
    """Proposals for these prospects of one letter (not yet linked)."""
    rows = [(p, _keys_of_prospect(p)) for p in prospects if p.partner_id is None]
    if not rows:
        return []
    return _propose(rows[0][0].letter.coalition_id, rows)


def propose_for_signature(signature: Signature) -> list[PartnerMatch]:
    """Proposals for an organisation's signature (not yet linked)."""
    if signature.partner_id or signature.kind != Signature.Kind.ORGANISATION:
        return []
    rows = [(signature, _keys_of_signature(signature))]
    return _propose(signature.letter.coalition_id, rows)


@transaction.atomic
def partner_matches_scan(*, coalition: Coalition, actor: User) -> int:
    """Look for partners for every unlinked prospect and organisation signature
    of the coalition's letters; the number of new proposals."""
    require_editor(coalition, actor)
    before = PartnerMatch.objects.filter(partner__coalition=coalition).count()
    prospects = Prospect.objects.filter(
        letter__coalition=coalition, partner__isnull=True
    ).select_related("letter")
    signatures = Signature.objects.filter(
        letter__coalition=coalition,
        partner__isnull=True,
        kind=Signature.Kind.ORGANISATION,
    )
    rows: list[tuple[Prospect | Signature, _Keys]] = [
        (p, _keys_of_prospect(p)) for p in prospects
    ]
    rows += [(s, _keys_of_signature(s)) for s in signatures]
    if rows:
        _propose(coalition.pk, rows)
    proposed = (
        PartnerMatch.objects.filter(partner__coalition=coalition).count() - before
    )
    coalition_audit_record(
        coalition, actor, CoalitionAction.MATCHES_SCANNED, proposed=proposed
    )
    return proposed


@transaction.atomic
def partner_match_confirm(*, match: PartnerMatch, actor: User) -> PartnerMatch:
    """Link the row to the partner and add the name it came under to the
    partner's other names; the row's other proposals are rejected."""
    partner = match.partner
    require_editor(partner.coalition, actor)
    match = PartnerMatch.objects.select_for_update().get(pk=match.pk)
    if match.status != PartnerMatch.Status.PROPOSED:
        raise ValidationError(_("This proposal has been answered already."))
    now = timezone.now()
    if match.prospect_id:
        prospects = Prospect.objects.filter(pk=match.prospect_id)
        name = prospects.values_list("organisation", flat=True).get()
        linked = prospects.filter(partner__isnull=False).exclude(partner=partner)
        siblings = PartnerMatch.objects.filter(prospect_id=match.prospect_id)
        if linked.exists():
            raise ValidationError(_("This row is linked to another partner already."))
        prospects.update(partner=partner)
    else:
        signatures = Signature.objects.filter(pk=match.signature_id or 0)
        name = signatures.values_list("display_name", flat=True).get()
        linked_s = signatures.filter(partner__isnull=False).exclude(partner=partner)
        siblings = PartnerMatch.objects.filter(signature_id=match.signature_id or 0)
        if linked_s.exists():
            raise ValidationError(_("This row is linked to another partner already."))
        signatures.update(partner=partner)
    partner_names_add(partner=partner, other_names=[name])
    siblings.filter(status=PartnerMatch.Status.PROPOSED).exclude(pk=match.pk).update(
        status=PartnerMatch.Status.REJECTED, decided_at=now, decided_by=actor
    )
    match.status = PartnerMatch.Status.CONFIRMED
    match.decided_at, match.decided_by = now, actor
    match.save(update_fields=["status", "decided_at", "decided_by"])
    coalition_audit_record(
        partner.coalition,
        actor,
        CoalitionAction.MATCH_CONFIRMED,
        partner=partner.name,
        name=name,
    )
    return match


@transaction.atomic
def partner_match_reject(*, match: PartnerMatch, actor: User) -> PartnerMatch:
    require_editor(match.partner.coalition, actor)
    updated = PartnerMatch.objects.filter(
        pk=match.pk, status=PartnerMatch.Status.PROPOSED
    ).update(
        status=PartnerMatch.Status.REJECTED, decided_at=timezone.now(), decided_by=actor
    )
    if not updated:
        raise ValidationError(_("This proposal has been answered already."))
    match.refresh_from_db()
    coalition_audit_record(
        match.partner.coalition,
        actor,
        CoalitionAction.MATCH_REJECTED,
        partner=match.partner.name,
        name=_matched_name(match),
    )
    return match


def _matched_name(match: PartnerMatch) -> str:
    if match.prospect_id:
        return str(
            Prospect.objects.filter(pk=match.prospect_id)
            .values_list("organisation", flat=True)
            .first()
            or ""
        )
    return str(
        Signature.objects.filter(pk=match.signature_id or 0)
        .values_list("display_name", flat=True)
        .first()
        or ""
    )
