"""Reads for outreach: prospects, the funnel, invitation batches, the reminder plan."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower, NullIf
from django.utils.translation import gettext as _

from coalition.models import User
from coalition.outbox.models import OutboxMessage
from letters.models import Letter
from signers import csv_import
from signers.models import (
    EmailKind,
    InvitationBatch,
    Prospect,
    Signature,
)
from signers.planning.reminders import (
    batch_group,
    invitable_prospects,
    invited_ids,
    letter_accepts_invitations,
    steps_for,
)
from signers.selectors.signatures import letter_organisers

# --- Outreach: prospects, funnel, deliveries, reminder plan ----------------------


P = Prospect.Status
# Prospects that were invited, by the site or by hand: every status past
# "identified" but "do not contact", or an invitation sent.
EVER_INVITED = Q(invited_at__isnull=False) | ~Q(
    status__in=[P.IDENTIFIED, P.DO_NOT_CONTACT]
)


@dataclass
class FunnelStage:
    key: str
    label: str
    count: int
    percent: int  # of all prospects


def outreach_funnel(*, letter: Letter) -> list[FunnelStage]:
    """Prospects → invited → opened → signed / declined, as numbers."""
    invited = EVER_INVITED
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


# The columns the prospect list sorts by: key -> what it orders on. Empty
# values (nobody holds it, never invited) sort last either way; every order
# ends with the organisation and the id, so a page never shuffles.
PROSPECT_SORTS: Final[dict[str, Callable[[], Any]]] = {
    "organisation": lambda: Lower("organisation"),
    "contact": lambda: Lower(NullIf("contact_name", Value(""))),
    "status": lambda: Case(
        *(When(status=value, then=Value(i)) for i, value in enumerate(P.values)),
        output_field=IntegerField(),
    ),
    "holder": lambda: Lower(
        Coalesce(NullIf("owner__display_name", Value("")), "owner__email")
    ),
    "invited": lambda: F("invited_at"),
    "contacted": lambda: F("last_contacted_at"),
}
DEFAULT_PROSPECT_SORT: Final = "organisation"


def _prospect_order(sort: str, descending: bool) -> list[Any]:
    key = sort if sort in PROSPECT_SORTS else DEFAULT_PROSPECT_SORT
    first = PROSPECT_SORTS[key]()
    ordering = first.desc(nulls_last=True) if descending else first.asc(nulls_last=True)
    return [ordering, Lower("organisation"), "id"]


def prospect_list(
    *,
    letter: Letter,
    q: str = "",
    status: str = "",
    owner: str = "",
    follow_up_due_on: date | None = None,
    sort: str = DEFAULT_PROSPECT_SORT,
    descending: bool = False,
) -> QuerySet[Prospect]:
    """The letter's prospects, filtered; ``owner`` is a user id or "none";
    ordered by the column ``sort`` (a key of ``PROSPECT_SORTS``)."""
    invitation = OutboxMessage.objects.filter(
        prospect=OuterRef("pk"), kind=EmailKind.INVITATION
    ).exclude(status=OutboxMessage.Status.FAILED)
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
            status__in=Prospect.FINAL_STATUSES
        )
    return prospects.order_by(*_prospect_order(sort, descending))


def invitable_count(*, letter: Letter) -> int:
    return invitable_prospects(letter).exclude(pk__in=invited_ids(letter)).count()


# --- Invitation batches ------------------------------------------------------------


@dataclass
class DeliveryProgress:
    """How far a group of outbox messages (a batch, an update) has got."""

    counts: dict[str, int]
    deliveries: list[OutboxMessage] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        S = OutboxMessage.Status
        return sum(self.counts.get(s, 0) for s in (S.SENT, S.FAILED, S.CANCELLED))

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


@dataclass(kw_only=True)
class BatchProgress(DeliveryProgress):
    batch: InvitationBatch


def delivery_counts(deliveries: QuerySet[OutboxMessage]) -> dict[str, int]:
    return dict(deliveries.values_list("status").annotate(n=Count("pk")).order_by())


def batch_progress(*, batch: InvitationBatch, with_rows: bool = True) -> BatchProgress:
    messages = OutboxMessage.objects.filter(group=batch_group(batch.pk))
    counts = delivery_counts(messages)
    rows: list[OutboxMessage] = []
    if with_rows:
        rows = list(
            messages.select_related("prospect").order_by(
                Lower("prospect__organisation"), "id"
            )
        )
    return BatchProgress(batch=batch, counts=counts, deliveries=rows)


def running_batches(*, letter: Letter) -> QuerySet[InvitationBatch]:
    busy = OutboxMessage.objects.filter(
        letter=letter,
        kind=EmailKind.INVITATION,
        status__in=(OutboxMessage.Status.QUEUED, OutboxMessage.Status.SENDING),
    )
    groups = set(busy.values_list("group", flat=True).distinct())
    ids = [int(g.split(":", 1)[1]) for g in groups if g.startswith("batch:")]
    return letter.invitation_batches.filter(pk__in=ids)


def latest_batch(*, letter: Letter) -> InvitationBatch | None:
    return letter.invitation_batches.order_by("-created_at", "-id").first()


@dataclass(frozen=True)
class FailedEmail:
    """An email that failed after every attempt: the organisers may retry it."""

    pk: int
    recipient: str
    to: str
    label: str
    attempts: int
    last_error: str


def failed_deliveries(*, letter: Letter, limit: int = 50) -> list[FailedEmail]:
    rows = (
        OutboxMessage.objects.filter(letter=letter, status=OutboxMessage.Status.FAILED)
        .select_related("prospect", "signature", "user")
        .order_by("-updated_at")[:limit]
    )
    return [
        FailedEmail(
            pk=row.pk,
            recipient=(
                row.prospect.organisation
                if row.prospect
                else row.signature.display_name
                if row.signature
                else str(row.user or "")
            ),
            to=row.to,
            label=str(EmailKind(row.kind).label),
            attempts=row.attempts,
            last_error=row.last_error,
        )
        for row in rows
    ]


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
    steps = steps_for(letter, now=now)
    digest_done = False
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for kind, basis, status, n in (
        OutboxMessage.objects.filter(letter=letter)
        .exclude(kind=EmailKind.INVITATION)
        .values_list("kind", "params__basis", "status")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts.setdefault((kind, basis), {})[status] = n
    rows: list[PlanRow] = []
    upcoming = sorted(s.due_at for s in steps if s.due_at > now)
    for step in sorted(steps, key=lambda s: s.due_at):
        if step.kind == EmailKind.DIGEST:
            if digest_done or step.due_at <= now:
                continue
            digest_done = True
        by_status = counts.get((step.kind, step.basis), {})
        S = OutboxMessage.Status
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
                label=str(EmailKind(step.kind).label),
                due_at=step.due_at,
                state=state,
                sent=by_status.get(S.SENT, 0),
                pending=by_status.get(S.QUEUED, 0) + by_status.get(S.SENDING, 0),
                failed=by_status.get(S.FAILED, 0),
                skipped=by_status.get(S.CANCELLED, 0),
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


# --- CSV ------------------------------------------------------------------------------


@dataclass
class ImportPreview:
    rows: list[csv_import.Row]
    duplicates: list[tuple[int, str, str]]  # (row, email, why)
    errors: list[tuple[int, str]]
    ignored_columns: list[str]
    owners: dict[str, User]  # the "owner" cell (lower case) -> organiser
    recognised_columns: list[tuple[str, str]]  # (as written, read as)

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
    return ImportPreview(
        rows,
        duplicates,
        errors,
        parsed.ignored_columns,
        owners,
        parsed.recognised_columns,
    )


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
        .annotate(last_delivery=Max("outbox_messages__sent_at"))
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
    failed: list[FailedEmail]
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
        failed=failed_deliveries(letter=letter),
        invitable=invitable_count(letter=letter),
        accepts_invitations=letter_accepts_invitations(letter, now=now),
        signing_closed=bool(letter.hard_deadline and letter.hard_deadline <= now),
    )


def invitation_candidates(
    *, letter: Letter, prospect_ids: list[int] | None
) -> list[Prospect]:
    """Who an invitation batch would go to now: the prospects chosen (every
    one if None) who may be invited and have no invitation yet."""
    prospects = invitable_prospects(letter).exclude(pk__in=invited_ids(letter))
    if prospect_ids is not None:
        prospects = prospects.filter(pk__in=prospect_ids)
    return list(
        prospects.select_related("owner", "letter").order_by("organisation", "pk")
    )
