"""Reads for coalition communications: updates, calls, re-issue opt-ins."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower

from letters.models import Letter
from signers.models import (
    Call,
    CallInvitation,
    Delivery,
    Reissue,
    Update,
)
from signers.planning.updates import update_audience
from signers.selectors.outreach import DeliveryProgress, delivery_counts

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
