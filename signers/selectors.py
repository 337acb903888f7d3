"""Reads about signatures: signing state, organiser views and the public listing."""

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from django.db import connection, models
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet
from django.db.models.functions import Collate, Lower
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from coalition.models import User
from letters import selectors as letters_selectors
from letters.markdown import paragraphs
from letters.models import AuditEvent, Letter, LetterPdf, Revision
from signers import csv_import, reminders
from signers.links import absolute
from signers.models import (
    Call,
    CallInvitation,
    ChangeRequest,
    Delivery,
    InvitationBatch,
    Prospect,
    Reissue,
    Signature,
    SignatureEmail,
    Update,
)

# How a signature arrives, for the question "is the letter taking signatures?".
VIA_INVITATION = "invitation"
VIA_OPEN_JOIN = "open_join"
VIA_IMPORT = "import"


def signing_closed_reason(
    *, letter: Letter, via: str, now: datetime | None = None
) -> str | None:
    """Why ``letter`` takes no signatures ``via`` this route now, or None.

    Invitations work while the letter circulates or is published; the open form
    only on published letters that are open; nothing after the hard deadline or
    once closed. Organisers' imports only need a revision to sign.
    """
    now = now or timezone.now()
    if letter.current_revision_id is None:
        return _("This letter is not open for signatures yet.")
    if via == VIA_IMPORT:
        return None
    if letter.status == Letter.Status.CLOSED:
        return _("Signing has closed for this letter.")
    if letter.hard_deadline and now >= letter.hard_deadline:
        with timezone.override(letter.time_zone):
            when = formats.date_format(
                timezone.localtime(letter.hard_deadline), "j F Y, H:i"
            )
        return _("Signing closed on %(when)s (%(zone)s time).") % {
            "when": when,
            "zone": letter.time_zone,
        }
    if via == VIA_OPEN_JOIN:
        if letter.status != Letter.Status.PUBLISHED or not letter.open_joining:
            return _("This letter does not take signatures from its public page.")
        return None
    if letter.status not in (Letter.Status.CIRCULATING, Letter.Status.PUBLISHED):
        return _("This letter is not open for signatures yet.")
    return None


def signature_count_public(*, letter: Letter) -> int:
    """Confirmed signatures: what the public page says. Signers waiting to
    confirm, to be approved or to re-confirm a material change do not count."""
    return signature_counts_public(letter=letter).signers


def signature_live_for_prospect(*, prospect_id: int) -> Signature | None:
    return (
        Signature.objects.filter(
            prospect_id=prospect_id, status__in=Signature.LIVE_STATUSES
        )
        .order_by("-id")
        .first()
    )


def signature_list_for_organisers(
    *, letter: Letter, status: str = "", revision_number: int | None = None
) -> QuerySet[Signature]:
    signatures = Signature.objects.filter(letter=letter).select_related("revision")
    if status:
        signatures = signatures.filter(status=status)
    if revision_number:
        signatures = signatures.filter(revision__number=revision_number)
    return signatures.order_by("kind", "sort_name", "id")


def signature_for_organisers(*, letter: Letter, pk: int) -> Signature:
    """Raises Signature.DoesNotExist for a signature of another letter."""
    return Signature.objects.select_related("revision", "prospect").get(
        letter=letter, pk=pk
    )


@dataclass(frozen=True)
class RevisionSigners:
    revision: Revision
    confirmed: int
    awaiting_reconfirmation: int


def signature_counts_by_revision(*, letter: Letter) -> list[RevisionSigners]:
    """Per revision: how many stand confirmed on it, and how many signed it but
    have not yet re-confirmed a later, material revision."""
    revisions = Revision.objects.filter(letter=letter).annotate(
        n_confirmed=Count(
            "signatures", filter=Q(signatures__status=Signature.Status.CONFIRMED)
        ),
        n_waiting=Count(
            "signatures",
            filter=Q(signatures__status=Signature.Status.NEEDS_RECONFIRMATION),
        ),
    )
    return [
        RevisionSigners(r, r.n_confirmed, r.n_waiting)
        for r in revisions.order_by("-number")
    ]


def signature_approval_queue(*, letter: Letter) -> QuerySet[Signature]:
    """Open joins waiting for approval, and new names waiting for approval."""
    return (
        Signature.objects.filter(letter=letter)
        .filter(
            Q(status=Signature.Status.PENDING_APPROVAL)
            | (~Q(requested_display_name="") & Q(status__in=Signature.LIVE_STATUSES))
        )
        .select_related("revision")
        .order_by("created_at", "id")
    )


def change_request_list(*, letter: Letter) -> QuerySet[ChangeRequest]:
    """Open change requests, grouped by where in the text they point."""
    return (
        ChangeRequest.objects.filter(letter=letter, resolved_at__isnull=True)
        .select_related("revision", "signature", "prospect")
        .order_by("anchor", "created_at", "id")
    )


def revision_anchors(*, revision: Revision) -> list[tuple[str, str]]:
    """Where a change request can point: the whole letter, a point, a paragraph."""
    anchors = [("general", _("The letter as a whole"))]
    for i, point in enumerate(revision.points, start=1):
        anchors.append(
            (f"point-{i}", _("Point %(n)d: %(start)s") % {"n": i, "start": point[:60]})
        )
    for i, para in enumerate(paragraphs(revision.body), start=1):
        anchors.append(
            (
                f"paragraph-{i}",
                _("Paragraph %(n)d: %(start)s…") % {"n": i, "start": para[:60]},
            )
        )
    return anchors


def organiser_can_act(*, letter: Letter, user: User) -> bool:
    """Owners and editors act on signatures; viewers only look."""
    membership = letters_selectors.membership_for(letter=letter, user=user)
    return membership is not None and membership.can_edit


# --- The public listing -----------------------------------------------------

# What a visitor may see of a signature, and nothing else.
PUBLIC_FIELDS = (
    "id",
    "kind",
    "display_name",
    "sort_name",
    "affiliation",
    "city",
    "country",
    "website",
)


def _allowed_kinds(letter: Letter) -> list[str]:
    kinds: list[str] = []
    if letter.allows_organisations:
        kinds.append(Signature.Kind.ORGANISATION)
    if letter.allows_individuals:
        kinds.append(Signature.Kind.INDIVIDUAL)
    return kinds


def _by_code_point(field: str) -> Collate:
    # Sort names are already folded (case, accents, articles); comparing them by
    # code point gives the same, stable order on every database and locale.
    return Collate(F(field), "C" if connection.vendor == "postgresql" else "BINARY")


def _counted(letter: Letter) -> QuerySet[Signature]:
    """The signatures the letter's public page, PDF and widget count: confirmed,
    of a kind the letter allows. The one definition behind the public list,
    the counts and ``consent_violations``."""
    return Signature.objects.filter(
        letter=letter,
        status=Signature.Status.CONFIRMED,
        kind__in=_allowed_kinds(letter),
    )


def _listed(letter: Letter) -> QuerySet[Signature]:
    """The counted signatures that are named: those consenting to be listed."""
    return _counted(letter).filter(consent_listed=True)


def signature_list_public(*, letter: Letter) -> QuerySet[Signature]:
    """Publicly listed signatures (confirmed, and consenting to be listed) of the
    kinds the letter allows: organisations first, then individuals, each A-Z by
    sort name, with public fields only. The page, the PDF, the CSV and the
    consent check all read it.
    """
    return (
        _listed(letter)
        .only(*PUBLIC_FIELDS)
        .order_by(
            # "individual" sorts before "organisation": descending puts them last.
            F("kind").desc(),
            _by_code_point("sort_name"),
            "id",
        )
    )


@dataclass(frozen=True)
class PublicCounts:
    signers: int
    unlisted: int


def signature_counts_public(*, letter: Letter) -> PublicCounts:
    """How many signed (confirmed), and how many of those asked not to be named."""
    totals = _counted(letter).aggregate(
        signers=Count("id"),
        unlisted=Count("id", filter=Q(consent_listed=False)),
    )
    return PublicCounts(signers=totals["signers"], unlisted=totals["unlisted"])


def signature_list_for_export(*, letter: Letter) -> QuerySet[Signature]:
    """Every signature of the letter, whatever its status, for the organisers'
    export: all fields and the revision each signer signed."""
    return (
        Signature.objects.filter(letter=letter)
        .select_related("revision")
        .order_by(F("kind").desc(), _by_code_point("sort_name"), "id")
    )


@dataclass(frozen=True)
class SignerSection:
    kind: str
    signatures: list[Signature]


def signature_sections_public(*, letter: Letter) -> list[SignerSection]:
    """The public list split by kind, organisations first; one query."""
    by_kind: dict[str, list[Signature]] = {}
    for signature in signature_list_public(letter=letter):
        by_kind.setdefault(signature.kind, []).append(signature)
    return [
        SignerSection(kind=kind, signatures=by_kind[kind])
        for kind in (Signature.Kind.ORGANISATION, Signature.Kind.INDIVIDUAL)
        if kind in by_kind
    ]


def signer_list_digest(*, signatures: Iterable[Signature], counts: PublicCounts) -> str:
    """A fingerprint of a public signer list as shown: the counts, then every
    listed signature's public fields, in order. A PDF stores the one of the
    list it was rendered from; ``consent_violations`` compares it with now."""
    digest = hashlib.sha256(f"{counts.signers} {counts.unlisted}\n".encode())
    for signature in signatures:
        row = [getattr(signature, name) for name in PUBLIC_FIELDS]
        digest.update(json.dumps(row, ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()


# --- The consent invariant ---------------------------------------------------


@dataclass(frozen=True)
class ConsentViolation:
    """A name, a count or a PDF on offer without the consent the site promises."""

    letter: str
    problem: str
    signature_id: int | None = None

    def __str__(self) -> str:
        where = self.letter
        if self.signature_id is not None:
            where += _(", signature %(id)d") % {"id": self.signature_id}
        return f"{where}: {self.problem}"


def consent_violations(*, letter: Letter | None = None) -> list[ConsentViolation]:
    """Every place where the site's promise does not hold (none when all is well):
    every name on a letter agreed to that exact text.

    Each signature that the public page, PDF, CSV and widget count or list
    (``_counted`` and ``_listed``, the definitions they read) must be confirmed,
    attested when it is an organisation, not withdrawn, bound to a revision of
    its letter at or after the last material one, and, when named, consenting
    to be listed. The PDF on offer must be of the current revision and of the
    signer list as it is now. ``letter`` limits the check to one letter.

    Reads every counted signature: for tests, the operators' command
    (``check_consent``), the benchmarks and ``/healthz`` (which caches it).
    """
    letters = Letter.objects.order_by("pk")
    if letter is not None:
        letters = letters.filter(pk=letter.pk)
    else:
        letters = letters.filter(
            Exists(Signature.objects.filter(letter=OuterRef("pk")))
            | Exists(LetterPdf.objects.filter(letter=OuterRef("pk")))
        )
    found: list[ConsentViolation] = []
    for each in letters:
        found += _signature_violations(each)
        found += _pdf_violations(each)
    return found


def _signature_violations(letter: Letter) -> list[ConsentViolation]:
    last_material = letter.last_material_revision_number or 0
    listed = set(_listed(letter).values_list("pk", flat=True))
    rows = (
        Signature.objects.filter(
            Q(pk__in=_listed(letter).values("pk"))
            | Q(pk__in=_counted(letter).values("pk"))
        )
        .values(
            "pk",
            "kind",
            "status",
            "attested",
            "consent_listed",
            "withdrawn_at",
            "revision__letter_id",
            "revision__number",
        )
        .order_by("pk")
    )
    found = []
    for row in rows:
        problems = []
        if row["status"] != Signature.Status.CONFIRMED:
            problems.append(
                _("counted with the status “%(status)s”, not confirmed")
                % {"status": row["status"]}
            )
        if row["kind"] == Signature.Kind.ORGANISATION and not row["attested"]:
            problems.append(
                _(
                    "counted without attesting the authority to sign for the "
                    "organisation"
                )
            )
        if row["withdrawn_at"] is not None:
            problems.append(_("counted after withdrawing"))
        if row["revision__letter_id"] != letter.pk:
            problems.append(_("bound to another letter's text"))
        elif row["revision__number"] < last_material:
            problems.append(
                _(
                    "counted on revision %(signed)d, before the material "
                    "revision %(material)d it has not agreed to"
                )
                % {"signed": row["revision__number"], "material": last_material}
            )
        if row["pk"] in listed and not row["consent_listed"]:
            problems.append(_("named though it asked not to be listed"))
        found += [
            ConsentViolation(letter=letter.slug, signature_id=row["pk"], problem=p)
            for p in problems
        ]
    return found


def _pdf_violations(letter: Letter) -> list[ConsentViolation]:
    if letter.status not in (Letter.Status.PUBLISHED, Letter.Status.CLOSED):
        return []
    pdf = LetterPdf.objects.on_offer(letter).first()
    if pdf is None:
        return []
    if (pdf.revision_id, pdf.signers_version) != (
        letter.current_revision_id,
        letter.signers_version,
    ):
        return [
            ConsentViolation(
                letter=letter.slug,
                problem=_("the PDF on offer is of another revision or signer list"),
            )
        ]
    now = signer_list_digest(
        signatures=signature_list_public(letter=letter),
        counts=signature_counts_public(letter=letter),
    )
    if pdf.signers_digest != now:
        return [
            ConsentViolation(
                letter=letter.slug,
                problem=_(
                    "the PDF on offer was rendered from another signer list than "
                    "the one shown now (version %(version)d)"
                )
                % {"version": letter.signers_version},
            )
        ]
    return []


# --- Outreach: prospects, funnel, deliveries, reminder plan ----------------------


P = Prospect.Status
FINAL_STATUSES = (P.SIGNED, P.DECLINED, P.DO_NOT_CONTACT)


def organiser_role(*, letter: Letter, user: User) -> str | None:
    """The user's role on the letter (team or coalition), or None for outsiders."""
    membership = letters_selectors.membership_for(letter=letter, user=user)
    return membership.role if membership is not None else None


def letter_organisers(*, letter: Letter) -> QuerySet[User]:
    return User.objects.filter(memberships__letter=letter).order_by("email")


@dataclass
class FunnelStage:
    key: str
    label: str
    count: int
    percent: int  # of all prospects


def outreach_funnel(*, letter: Letter) -> list[FunnelStage]:
    """Prospects → invited → opened → signed / declined, as numbers."""
    invited = Q(invited_at__isnull=False) | ~Q(
        status__in=[P.IDENTIFIED, P.DO_NOT_CONTACT]
    )
    opened = Q(opened_at__isnull=False) | Q(status__in=[P.OPENED, P.SIGNED])
    counts = Prospect.objects.filter(letter=letter).aggregate(
        prospects=Count("pk"),
        invited=Count("pk", filter=invited),
        opened=Count("pk", filter=opened),
        signed=Count("pk", filter=Q(status=P.SIGNED)),
        declined=Count("pk", filter=Q(status=P.DECLINED)),
    )
    labels = {
        "prospects": _("Prospects"),
        "invited": P.INVITED.label,
        "opened": P.OPENED.label,
        "signed": P.SIGNED.label,
        "declined": P.DECLINED.label,
    }
    total = counts["prospects"] or 1
    return [
        FunnelStage(key, str(label), counts[key], round(100 * counts[key] / total))
        for key, label in labels.items()
    ]


def prospect_status_counts(*, letter: Letter) -> dict[str, int]:
    rows = (
        Prospect.objects.filter(letter=letter)
        .values("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["status"]: row["n"] for row in rows}


def prospect_list(
    *,
    letter: Letter,
    q: str = "",
    status: str = "",
    owner: str = "",
    follow_up_due_on: date | None = None,
) -> QuerySet[Prospect]:
    """The letter's prospects, filtered; ``owner`` is a user id or "none"."""
    invitation = Delivery.objects.filter(
        prospect=OuterRef("pk"), kind=Delivery.Kind.INVITATION
    )
    prospects = (
        Prospect.objects.filter(letter=letter)
        .select_related("owner", "referred_by")
        .annotate(has_invitation=Exists(invitation))
    )
    if q:
        prospects = prospects.filter(
            Q(organisation__icontains=q)
            | Q(contact_name__icontains=q)
            | Q(email__icontains=q)
            | Q(notes__icontains=q)
        )
    if status:
        prospects = prospects.filter(status=status)
    if owner == "none":
        prospects = prospects.filter(owner__isnull=True)
    elif owner.isdigit():
        prospects = prospects.filter(owner_id=int(owner))
    if follow_up_due_on:
        prospects = prospects.filter(next_follow_up__lte=follow_up_due_on).exclude(
            status__in=FINAL_STATUSES
        )
    return prospects.order_by(Lower("organisation"), "id")


def invitable_count(*, letter: Letter) -> int:
    return (
        reminders.invitable_prospects(letter)
        .exclude(pk__in=reminders.invited_ids(letter))
        .count()
    )


# --- Invitation batches ------------------------------------------------------------


@dataclass
class DeliveryProgress:
    """How far a set of deliveries (a batch, an update) has got."""

    counts: dict[str, int]
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        S = Delivery.Status
        return sum(self.counts.get(s, 0) for s in (S.SENT, S.FAILED, S.SKIPPED))

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


@dataclass(kw_only=True)
class BatchProgress(DeliveryProgress):
    batch: InvitationBatch


def delivery_counts(deliveries: QuerySet[Delivery]) -> dict[str, int]:
    return dict(deliveries.values_list("status").annotate(n=Count("pk")).order_by())


def batch_progress(*, batch: InvitationBatch, with_rows: bool = True) -> BatchProgress:
    counts = delivery_counts(batch.deliveries.all())
    rows: list[Delivery] = []
    if with_rows:
        rows = list(
            batch.deliveries.select_related("prospect").order_by(
                Lower("prospect__organisation"), "id"
            )
        )
    return BatchProgress(batch=batch, counts=counts, deliveries=rows)


def running_batches(*, letter: Letter) -> QuerySet[InvitationBatch]:
    busy = (Delivery.Status.PLANNED, Delivery.Status.CLAIMED)
    return letter.invitation_batches.filter(deliveries__status__in=busy).distinct()


def latest_batch(*, letter: Letter) -> InvitationBatch | None:
    return letter.invitation_batches.order_by("-created_at", "-id").first()


def failed_deliveries(*, letter: Letter, limit: int = 50) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(letter=letter, status=Delivery.Status.FAILED)
        .select_related("prospect", "signature", "user")
        .order_by("-updated_at")[:limit]
    )


# --- Reminder plan (what has been sent, what is next) -----------------------------


@dataclass
class PlanRow:
    kind: str
    label: str
    due_at: datetime
    state: str  # "sent", "due", "next", "later", "past"
    sent: int = 0
    pending: int = 0
    failed: int = 0
    skipped: int = 0


def reminder_plan(*, letter: Letter, now: datetime) -> list[PlanRow]:
    """The letter's schedule with counts of what each step has sent.

    The digest appears once, at its next time; steps for other deadline values
    (before a deadline moved) are left out.
    """
    steps = reminders.steps_for(letter, now=now)
    digest_done = False
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for kind, basis, status, n in (
        Delivery.objects.filter(letter=letter)
        .exclude(kind=Delivery.Kind.INVITATION)
        .values_list("kind", "basis", "status")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts.setdefault((kind, basis), {})[status] = n
    rows: list[PlanRow] = []
    upcoming = sorted(s.due_at for s in steps if s.due_at > now)
    for step in sorted(steps, key=lambda s: s.due_at):
        if step.kind == Delivery.Kind.DIGEST:
            if digest_done or step.due_at <= now:
                continue
            digest_done = True
        by_status = counts.get((step.kind, step.basis), {})
        S = Delivery.Status
        if step.due_at > now:
            state = "next" if upcoming and step.due_at == upcoming[0] else "later"
        elif by_status:
            state = "sent"
        elif step.is_due(now):
            state = "due"
        else:
            state = "past"
        rows.append(
            PlanRow(
                kind=step.kind,
                label=str(Delivery.Kind(step.kind).label),
                due_at=step.due_at,
                state=state,
                sent=by_status.get(S.SENT, 0),
                pending=by_status.get(S.PLANNED, 0) + by_status.get(S.CLAIMED, 0),
                failed=by_status.get(S.FAILED, 0),
                skipped=by_status.get(S.SKIPPED, 0),
            )
        )
    return rows


# --- Digest -----------------------------------------------------------------------


def digest_content(
    *, letter: Letter, due_at: datetime
) -> tuple[list[Prospect], list[Signature]]:
    """Follow-ups due on the digest's day and signatures from the 24 hours before."""
    today = due_at.astimezone(ZoneInfo(letter.time_zone)).date()
    follow_ups = list(
        prospect_list(letter=letter, follow_up_due_on=today).select_related("owner")
    )
    new_signatures = list(
        Signature.objects.filter(
            letter=letter,
            created_at__gte=due_at - timedelta(days=1),
            created_at__lt=due_at,
        ).order_by("sort_name", "id")
    )
    return follow_ups, new_signatures


def signature_counts(*, letter: Letter) -> dict[str, int]:
    S = Signature.Status
    return Signature.objects.filter(letter=letter).aggregate(
        confirmed=Count("pk", filter=Q(status=S.CONFIRMED)),
        pending=Count("pk", filter=Q(status__in=[S.PENDING, S.PENDING_APPROVAL])),
        needs_reconfirmation=Count("pk", filter=Q(status=S.NEEDS_RECONFIRMATION)),
    )


# --- CSV ------------------------------------------------------------------------------


@dataclass
class ImportPreview:
    rows: list[csv_import.Row]
    duplicates: list[tuple[int, str, str]]  # (row, email, why)
    errors: list[tuple[int, str]]
    ignored_columns: list[str]
    owners: dict[str, User]  # the "owner" cell (lower case) -> organiser

    @property
    def can_import(self) -> bool:
        return bool(self.rows) and not self.errors


def prospect_import_preview(*, letter: Letter, data: bytes) -> ImportPreview:
    """What importing ``data`` would do: rows to add, duplicates, errors."""
    parsed = csv_import.parse_prospects(data)
    existing = set(
        Prospect.objects.filter(letter=letter).values_list(Lower("email"), flat=True)
    )
    organisers = list(letter_organisers(letter=letter))
    owners: dict[str, User] = {}
    for user in organisers:
        owners[user.email.lower()] = user
        if user.display_name:
            owners.setdefault(user.display_name.lower(), user)
    seen: dict[str, int] = {}
    rows: list[csv_import.Row] = []
    duplicates: list[tuple[int, str, str]] = []
    errors = list(parsed.errors)
    for row in parsed.rows:
        if row.owner and row.owner.lower() not in owners:
            errors.append(
                (
                    row.number,
                    _("“%(owner)s” is not an organiser of this letter.")
                    % {"owner": row.owner},
                )
            )
        elif row.email in existing:
            duplicates.append((row.number, row.email, _("already on the list")))
        elif row.email in seen:
            why = _("same address as row %(row)d") % {"row": seen[row.email]}
            duplicates.append((row.number, row.email, why))
        else:
            seen[row.email] = row.number
            rows.append(row)
    errors.sort()
    return ImportPreview(rows, duplicates, errors, parsed.ignored_columns, owners)


EXPORT_HEADER = [
    "organisation",
    "contact_name",
    "email",
    "status",
    "large_organisation",
    "owner",
    "referred_by",
    "notes",
    "decline_reason",
    "invited_at",
    "opened_at",
    "last_contacted_at",
    "next_follow_up",
    "last_delivery",
]


def prospect_export_rows(*, letter: Letter) -> Iterator[list[Any]]:
    prospects = (
        Prospect.objects.filter(letter=letter)
        .select_related("owner", "referred_by")
        .annotate(last_delivery=Max("deliveries__sent_at"))
        .order_by(Lower("organisation"), "id")
    )
    for p in prospects.iterator(chunk_size=500):
        yield [
            p.organisation,
            p.contact_name,
            p.email,
            p.status,
            "yes" if p.is_large else "",
            p.owner.email if p.owner else "",
            p.referred_by.display_name if p.referred_by else "",
            p.notes,
            p.decline_reason,
            _isoformat(p.invited_at),
            _isoformat(p.opened_at),
            _isoformat(p.last_contacted_at),
            p.next_follow_up.isoformat() if p.next_follow_up else "",
            _isoformat(p.last_delivery),
        ]


def _isoformat(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


# --- The outreach page --------------------------------------------------------------


@dataclass
class OutreachOverview:
    funnel: list[FunnelStage]
    plan: list[PlanRow]
    running: list[BatchProgress]
    latest: BatchProgress | None
    failed: list[Delivery]
    invitable: int
    accepts_invitations: bool
    signing_closed: bool


def outreach_overview(*, letter: Letter, now: datetime) -> OutreachOverview:
    running = [
        batch_progress(batch=b, with_rows=False) for b in running_batches(letter=letter)
    ]
    latest = latest_batch(letter=letter)
    return OutreachOverview(
        funnel=outreach_funnel(letter=letter),
        plan=reminder_plan(letter=letter, now=now),
        running=running,
        latest=batch_progress(batch=latest, with_rows=False) if latest else None,
        failed=list(failed_deliveries(letter=letter)),
        invitable=invitable_count(letter=letter),
        accepts_invitations=reminders.letter_accepts_invitations(letter, now=now),
        signing_closed=bool(letter.hard_deadline and letter.hard_deadline <= now),
    )


# --- Coalition communications ------------------------------------------------------


def update_list(*, letter: Letter) -> QuerySet[Update]:
    S = Delivery.Status
    sends = Q(deliveries__kind=Delivery.Kind.UPDATE)
    return (
        Update.objects.filter(letter=letter)
        .select_related("created_by", "sent_by")
        .annotate(
            recipients=Count("deliveries", filter=sends),
            delivered=Count("deliveries", filter=sends & Q(deliveries__status=S.SENT)),
            failed=Count("deliveries", filter=sends & Q(deliveries__status=S.FAILED)),
        )
    )


def update_progress(*, update: Update, with_rows: bool = True) -> DeliveryProgress:
    """The update's sends (tests left out) and, if asked, each recipient's row."""
    deliveries = update.deliveries.filter(kind=Delivery.Kind.UPDATE)
    rows: list[Delivery] = []
    if with_rows:
        rows = list(
            deliveries.select_related("signature", "prospect").order_by(
                Lower("email"), "id"
            )
        )
    return DeliveryProgress(counts=delivery_counts(deliveries), deliveries=rows)


@dataclass
class AudienceCounts:
    signers: int
    invitees: int

    @property
    def both(self) -> int:
        return self.signers + self.invitees


def update_audience_counts(*, letter: Letter) -> AudienceCounts:
    from signers import communications

    signers, invitees = communications.update_audience(letter, Update.Audience.BOTH)
    return AudienceCounts(signers=signers.count(), invitees=invitees.count())


def update_recipient_count(*, update: Update) -> int:
    from signers import communications

    signers, invitees = communications.update_audience(update.letter, update.audience)
    return signers.count() + invitees.count()


def call_list(*, letter: Letter) -> QuerySet[Call]:
    """Calls, newest first, with RSVP counts: the attendance trend."""
    R = CallInvitation.Response
    return Call.objects.filter(letter=letter).annotate(
        invited=Count("invitations"),
        yes=Count("invitations", filter=Q(invitations__response=R.YES)),
        no=Count("invitations", filter=Q(invitations__response=R.NO)),
    )


def call_invitation_list(*, call: Call) -> QuerySet[CallInvitation]:
    return call.invitations.select_related("signature", "user").order_by(
        "response", "email"
    )


def reissue_opt_in_counts(*, letter: Letter) -> list[tuple[Reissue, int, int]]:
    """For each re-issue of ``letter``: (re-issue, asked, opted in)."""
    reissues = Reissue.objects.filter(source=letter).select_related("letter")
    return [
        (
            r,
            r.opt_ins.count(),
            r.opt_ins.filter(opted_in_at__isnull=False).count(),
        )
        for r in reissues
    ]


# --- Personal data ------------------------------------------------------------

# Links to other rows, given in their own sections of the export (or, for the
# organiser who holds the relationship and the signer who suggested a prospect,
# other people's data).
_NOT_EXPORTED: Final = frozenset({"letter", "revision", "prospect", "owner"})


def _row(
    obj: models.Model, *, leave_out: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Every stored field of ``obj``: a field added later is exported too."""
    return {
        f.attname: f.value_from_object(obj)
        for f in obj._meta.concrete_fields
        if f.name not in _NOT_EXPORTED | leave_out
    }


def signature_personal_data(*, signature: Signature) -> dict[str, Any]:
    """Everything the site holds about one signer, for the signer or for an
    organiser answering their request: the signature with its private fields,
    statuses and times; the revision signed and its hash; the prospect record
    the organisers kept (linked, or on the letter with the same email); change
    requests and referrals the signer made; the emails sent to them; and the
    letter's log of what happened to the signature. Serialisable by
    ``DjangoJSONEncoder``. After erasure it shows what erasure left.
    """
    signature = Signature.objects.select_related("letter", "revision", "prospect").get(
        pk=signature.pk
    )
    letter, revision = signature.letter, signature.revision
    prospect = (
        signature.prospect
        or Prospect.objects.filter(letter=letter, email=signature.email).first()
    )
    asked = Q(signature=signature) | (Q(prospect=prospect) if prospect else Q())
    change_requests = ChangeRequest.objects.filter(asked).select_related("revision")
    emails = SignatureEmail.objects.filter(signature=signature).select_related(
        "revision"
    )
    history = AuditEvent.objects.filter(
        letter=letter, detail__signature=signature.pk
    ).order_by("created_at", "id")
    return {
        "exported_at": timezone.now(),
        "letter": {
            "title": letter.title,
            "address": absolute(reverse("letters:public", args=[letter.slug])),
        },
        "signature": _row(signature),
        "revision_signed": {
            "number": revision.number,
            "sha256": revision.sha256,
            "published_at": revision.created_at,
        },
        "prospect": _row(prospect, leave_out=frozenset({"referred_by"}))
        if prospect
        else None,
        "change_requests": [
            {
                **_row(r, leave_out=frozenset({"signature"})),
                "revision": r.revision.number,
            }
            for r in change_requests
        ],
        "referrals": [
            {
                "organisation": p.organisation,
                "contact_name": p.contact_name,
                "email": p.email,
                "note": p.notes,
                "created_at": p.created_at,
            }
            for p in Prospect.objects.filter(referred_by=signature).order_by("pk")
        ],
        "emails": [
            {
                **_row(e, leave_out=frozenset({"signature"})),
                "revision": e.revision.number,
            }
            for e in emails
        ],
        "history": [
            {"action": e.action, "at": e.created_at, "detail": e.detail}
            for e in history
        ],
    }
