"""Writes to a coalition's partner directory: partners, contacts, agreements.

Organisers and owners write; viewers read (PermissionDenied). Name keys, the
website's domain, email domains, other names and tags are kept by these
functions only, so matching can trust them.
"""

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.coalitions.audit import CoalitionAction, coalition_audit_record
from coalition.coalitions.services import require_coalition_role
from coalition.models import Coalition, CoalitionMember, User
from signers import names
from signers.models import (
    Agreement,
    Partner,
    PartnerContact,
    PartnerDomain,
    PartnerName,
    Tag,
)
from signers.partners.domains import FREE_MAIL, clean_domain, website_domain

EDITORS = (CoalitionMember.Role.OWNER, CoalitionMember.Role.ORGANISER)
# The fields a form sets directly (the rest are kept by the functions below).
PARTNER_FIELDS = frozenset(
    {
        "name", "website", "place", "kind", "members_count", "staff_count",
        "reach", "influence", "stakeholders", "relationships",
        "shared_interests", "deal_breakers", "holder", "listed_publicly",
    }
)  # fmt: skip


def require_editor(coalition: Coalition, user: User) -> None:
    require_coalition_role(coalition, user, *EDITORS)


def _set_name(partner: Partner, name: str) -> None:
    name = names.clean_display_name(name)
    if not name:
        raise ValidationError({"name": _("Give the partner a name.")})
    partner.name = name
    partner.sort_name = names.sort_name(name)
    partner.normalised_name, partner.skeleton_name = names.name_keys(name)


def _check_holder(coalition: Coalition, holder: User | None) -> None:
    if holder is not None and not coalition.members.filter(user=holder).exists():
        raise ValidationError({"holder": _("The holder must be a coalition member.")})


def partner_names_add(*, partner: Partner, other_names: Iterable[str]) -> None:
    """Add other names (not the partner's own, nor one it has): no duplicates."""
    have = {partner.normalised_name} | set(
        partner.other_names.values_list("normalised_name", flat=True)
    )
    for raw in other_names:
        name = names.clean_display_name(raw)
        if not name:
            continue
        normalised, skeleton = names.name_keys(name)
        if normalised in have:
            continue
        have.add(normalised)
        PartnerName.objects.create(
            partner=partner,
            name=name,
            normalised_name=normalised,
            skeleton_name=skeleton,
        )


def _set_other_names(partner: Partner, other_names: Iterable[str]) -> None:
    keep = {names.normalise_name(n) for n in other_names if n.strip()}
    partner.other_names.exclude(normalised_name__in=keep).delete()
    partner_names_add(partner=partner, other_names=other_names)


def _set_domains(partner: Partner, domains: Iterable[str]) -> None:
    wanted = {clean_domain(d) for d in domains} - {""}
    free = wanted & FREE_MAIL
    if free:
        raise ValidationError(
            {
                "email_domains": _(
                    "%(domain)s is an address anyone can have: it says nothing "
                    "about who writes."
                )
                % {"domain": sorted(free)[0]}
            }
        )
    partner.email_domains.exclude(domain__in=wanted).delete()
    have = set(partner.email_domains.values_list("domain", flat=True))
    PartnerDomain.objects.bulk_create(
        PartnerDomain(partner=partner, domain=d) for d in sorted(wanted - have)
    )


def tags_for(*, coalition: Coalition, names_: Iterable[str]) -> list[Tag]:
    """The coalition's tags of these names, created when new (case ignored)."""
    tags = []
    for raw in names_:
        name = " ".join(raw.split())[:80]
        if not name:
            continue
        tag = (
            Tag.objects.filter(coalition=coalition)
            .annotate(lower=Lower("name"))
            .filter(lower=name.lower())
            .first()
        )
        tags.append(tag or Tag.objects.create(coalition=coalition, name=name))
    return tags


def _save(
    partner: Partner,
    *,
    fields: dict[str, Any],
    other_names: Iterable[str],
    email_domains: Iterable[str],
    tags: Iterable[str],
) -> Partner:
    unknown = set(fields) - PARTNER_FIELDS
    if unknown:
        raise TypeError(f"Not a partner field: {sorted(unknown)}")
    _check_holder(partner.coalition, fields.get("holder"))
    for field, value in fields.items():
        if field != "name":
            setattr(partner, field, value)
    _set_name(partner, fields.get("name", partner.name))
    partner.website_domain = website_domain(partner.website)
    partner.save()
    _set_other_names(partner, other_names)
    _set_domains(partner, email_domains)
    partner.tags.set(tags_for(coalition=partner.coalition, names_=tags))
    return partner


@transaction.atomic
def partner_create(
    *,
    coalition: Coalition,
    actor: User,
    other_names: Iterable[str] = (),
    email_domains: Iterable[str] = (),
    tags: Iterable[str] = (),
    **fields: Any,
) -> Partner:
    """A new partner in the directory. ``fields``: PARTNER_FIELDS."""
    require_editor(coalition, actor)
    partner = _save(
        Partner(coalition=coalition),
        fields=fields,
        other_names=other_names,
        email_domains=email_domains,
        tags=tags,
    )
    coalition_audit_record(
        coalition, actor, CoalitionAction.PARTNER_CREATED, partner=partner.name
    )
    return partner


def _snapshot(partner: Partner) -> dict[str, object]:
    """What an edit can change, to name the changed fields in the log."""
    values: dict[str, object] = {
        f: getattr(partner, "holder_id" if f == "holder" else f) for f in PARTNER_FIELDS
    }
    if partner.pk:
        values["other_names"] = set(partner.other_names.values_list("name", flat=True))
        values["email_domains"] = set(
            partner.email_domains.values_list("domain", flat=True)
        )
        values["tags"] = set(partner.tags.values_list("name", flat=True))
    return values


@transaction.atomic
def partner_update(
    *,
    partner: Partner,
    actor: User,
    other_names: Iterable[str],
    email_domains: Iterable[str],
    tags: Iterable[str],
    **fields: Any,
) -> Partner:
    require_editor(partner.coalition, actor)
    before = _snapshot(partner)
    _save(
        partner,
        fields=fields,
        other_names=other_names,
        email_domains=email_domains,
        tags=tags,
    )
    after = _snapshot(partner)
    changed = sorted(f for f in after if before.get(f) != after[f])
    if changed:
        coalition_audit_record(
            partner.coalition,
            actor,
            CoalitionAction.PARTNER_CHANGED,
            partner=partner.name,
            fields=changed,
        )
    return partner


@transaction.atomic
def partner_delete(*, partner: Partner, actor: User) -> None:
    """Delete a partner; its prospects and signatures stay, unlinked."""
    require_editor(partner.coalition, actor)
    _delete_on_commit([a.file.name for a in partner.agreements.exclude(file="")])
    coalition_audit_record(
        partner.coalition, actor, CoalitionAction.PARTNER_DELETED, partner=partner.name
    )
    partner.delete()


def _delete_on_commit(names_: Iterable[str | None]) -> None:
    """Delete these stored files once the rows that named them are gone."""
    doomed = [name for name in names_ if name]

    def delete() -> None:
        for name in doomed:
            default_storage.delete(name)

    if doomed:
        transaction.on_commit(delete)


# --- Contacts ----------------------------------------------------------------------


@transaction.atomic
def partner_contact_save(
    *,
    partner: Partner,
    actor: User,
    contact: PartnerContact | None = None,
    name: str,
    email: str = "",
    role: str = "",
    phone: str = "",
    consent_to_contact: bool = False,
) -> PartnerContact:
    """Add a contact, or change ``contact``. The consent date is when consent
    was last given; withdrawing it clears the date."""
    require_editor(partner.coalition, actor)
    action = (
        CoalitionAction.CONTACT_CHANGED if contact else CoalitionAction.CONTACT_ADDED
    )
    contact = contact or PartnerContact(partner=partner)
    if contact.partner_id != partner.pk:
        raise ValidationError(_("This contact belongs to another partner."))
    if consent_to_contact and not contact.consent_to_contact:
        contact.consent_at = timezone.now()
    elif not consent_to_contact:
        contact.consent_at = None
    contact.name = name.strip()
    contact.email = names.clean_email(email) if email else ""
    contact.role = role.strip()
    contact.phone = phone.strip()
    contact.consent_to_contact = consent_to_contact
    contact.save()
    coalition_audit_record(partner.coalition, actor, action, partner=partner.name)
    return contact


@transaction.atomic
def partner_contact_delete(*, contact: PartnerContact, actor: User) -> None:
    partner = contact.partner
    require_editor(partner.coalition, actor)
    coalition_audit_record(
        partner.coalition, actor, CoalitionAction.CONTACT_REMOVED, partner=partner.name
    )
    contact.delete()


# --- Agreements --------------------------------------------------------------------


def agreement_save(
    *,
    partner: Partner,
    actor: User,
    agreement: Agreement | None = None,
    title: str,
    text: str = "",
    status: str = Agreement.Status.DRAFT,
    date: date | None = None,
    file: UploadedFile | None = None,
    remove_file: bool = False,
) -> Agreement:
    """Add an agreement, or change ``agreement``; a new file replaces the old,
    which is deleted from storage once the change is committed.

    The new file is written before its row; if the row is never committed it
    is deleted again here, or, when a caller's transaction rolls back later,
    by :func:`agreement_files_sweep`.
    """
    require_editor(partner.coalition, actor)
    action = (
        CoalitionAction.AGREEMENT_CHANGED
        if agreement
        else CoalitionAction.AGREEMENT_ADDED
    )
    agreement = agreement or Agreement(partner=partner)
    if agreement.partner_id != partner.pk:
        raise ValidationError(_("This agreement belongs to another partner."))
    old = agreement.file.name if agreement.file else None
    written: str | None = None
    try:
        with transaction.atomic():
            agreement.title = title.strip()
            agreement.text = text
            agreement.status = status
            agreement.date = date
            if file is not None:
                agreement.file.save(file.name or "agreement", file, save=False)
                written = agreement.file.name
            elif remove_file:
                agreement.file = None
            agreement.save()
            if old != (agreement.file.name if agreement.file else None):
                _delete_on_commit([old])
            coalition_audit_record(
                partner.coalition,
                actor,
                action,
                partner=partner.name,
                title=agreement.title,
            )
    except BaseException:
        if written:
            default_storage.delete(written)
        raise
    return agreement


@transaction.atomic
def agreement_delete(*, agreement: Agreement, actor: User) -> None:
    partner = agreement.partner
    require_editor(partner.coalition, actor)
    _delete_on_commit([agreement.file.name if agreement.file else None])
    coalition_audit_record(
        partner.coalition,
        actor,
        CoalitionAction.AGREEMENT_REMOVED,
        partner=partner.name,
        title=agreement.title,
    )
    agreement.delete()


AGREEMENTS_DIR = "partners/agreements"


def agreement_files_sweep(*, older_than: timedelta = timedelta(hours=6)) -> int:
    """Delete stored agreement files that no agreement names, once they are
    older than ``older_than`` (younger ones may belong to a request still
    running). They are left by a transaction that rolled back after the file
    was written. Returns the number deleted."""
    known = set(Agreement.objects.exclude(file="").values_list("file", flat=True))
    cutoff = timezone.now() - older_than
    deleted = 0
    for name in _stored_files(AGREEMENTS_DIR):
        if name in known or default_storage.get_modified_time(name) > cutoff:
            continue
        default_storage.delete(name)
        deleted += 1
    return deleted


def _stored_files(folder: str) -> Iterable[str]:
    if not default_storage.exists(folder):
        return
    folders, files = default_storage.listdir(folder)
    for file in files:
        yield f"{folder}/{file}"
    for sub in folders:
        yield from _stored_files(f"{folder}/{sub}")
