"""Reads for coalition communications: updates, calls, re-issue opt-ins."""

from dataclasses import dataclass

from django.db.models import (
    CharField,
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Concat, Lower

from coalition.outbox.models import OutboxMessage
from letters.models import Letter
from signers.models import (
    Call,
    CallInvitation,
    EmailKind,
    Reissue,
    Update,
)
from signers.planning.updates import update_audience, update_group
from signers.selectors.outreach import DeliveryProgress, delivery_counts

# --- Coalition communications ------------------------------------------------------


def _update_sends(status: str | None = None) -> Subquery:
    """How many of an update's emails (tests left out), in ``status`` if given."""
    sends = OutboxMessage.objects.filter(
        group=Concat(Value("update:"), Cast(OuterRef("pk"), CharField())),
        kind=EmailKind.UPDATE,
    )
    if status is not None:
        sends = sends.filter(status=status)
    counted = sends.order_by().values("group").annotate(n=Count("pk")).values("n")
    return Subquery(counted, output_field=IntegerField())


def update_list(*, letter: Letter) -> QuerySet[Update]:
    S = OutboxMessage.Status
    return (
        Update.objects.filter(letter=letter)
        .select_related("created_by", "sent_by")
        .annotate(
            recipients=Coalesce(_update_sends(), 0),
            delivered=Coalesce(_update_sends(S.SENT), 0),
            failed=Coalesce(_update_sends(S.FAILED), 0),
        )
    )


def update_progress(*, update: Update, with_rows: bool = True) -> DeliveryProgress:
    """The update's sends (tests left out) and, if asked, each recipient's row."""
    deliveries = OutboxMessage.objects.filter(
        group=update_group(update.pk), kind=EmailKind.UPDATE
    )
    rows: list[OutboxMessage] = []
    if with_rows:
        rows = list(
            deliveries.select_related("signature", "prospect").order_by(
                Lower("to"), "id"
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
    signers, invitees = update_audience(letter, Update.Audience.BOTH)
    return AudienceCounts(signers=signers.count(), invitees=invitees.count())


def update_recipient_count(*, update: Update) -> int:

    signers, invitees = update_audience(update.letter, update.audience)
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
