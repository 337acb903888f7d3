"""What the builders of one dispatch batch of outreach emails share.

An invitation and every reminder after it come from the organiser who sent
the invitation's batch (``InvitationBatch``). The dispatcher calls
:func:`invitation_batches_load` (the kinds' ``prepare``) once for its batch,
so that :func:`invitation_batch_of` reads each row's sender from the batch
memo instead of two queries a row.
"""

from coalition.outbox.builders import memoised, remember
from coalition.outbox.models import OutboxMessage
from signers.models import EmailKind, InvitationBatch
from signers.planning.reminders import BATCH_PREFIX


def _own_group(row: OutboxMessage) -> str:
    """An invitation's batch group; "" for a reminder, which must look up
    its prospect's latest invitation."""
    group = row.group if row.kind == EmailKind.INVITATION else ""
    return group if group.startswith(BATCH_PREFIX) else ""


def _batch_id(group: str) -> int | None:
    batch_id = group.removeprefix(BATCH_PREFIX)
    return (
        int(batch_id) if group.startswith(BATCH_PREFIX) and batch_id.isdigit() else None
    )


def _latest_groups(prospect_ids: set[int]) -> dict[int, str]:
    """Each prospect's latest invitation batch group (absent: invited by hand)."""
    rows = (
        OutboxMessage.objects.filter(
            prospect_id__in=prospect_ids,
            kind=EmailKind.INVITATION,
            group__startswith=BATCH_PREFIX,
        )
        .order_by("pk")
        .values_list("prospect_id", "group")
    )
    return dict(rows)  # in order: the latest of each prospect wins


def invitation_batches_load(rows: list[OutboxMessage]) -> None:
    """The ``prepare`` of invitations and deadline reminders: every row's
    invitation batch, in two queries for the whole dispatch batch."""
    looked_up = {
        row.prospect_id
        for row in rows
        if not _own_group(row) and row.prospect_id is not None
    }
    latest = _latest_groups(looked_up) if looked_up else {}
    groups = {_own_group(row) for row in rows} | set(latest.values())
    for prospect_id in looked_up:
        remember(("invitation-group", prospect_id), latest.get(prospect_id, ""))
    ids = {batch_id for group in groups if (batch_id := _batch_id(group)) is not None}
    found = InvitationBatch.objects.in_bulk(ids) if ids else {}
    for batch_id in ids:
        remember(("invitation-batch", batch_id), found.get(batch_id))


def invitation_batch_of(row: OutboxMessage) -> InvitationBatch | None:
    """The batch that invited the row's prospect: the row's own for an
    invitation, the prospect's latest invitation's for a reminder; None for a
    prospect invited by hand."""
    group = _own_group(row)
    prospect_id = row.prospect_id
    if not group and prospect_id is not None:
        group = memoised(
            ("invitation-group", prospect_id),
            lambda: _latest_groups({prospect_id}).get(prospect_id, ""),
        )
    batch_id = _batch_id(group)
    if batch_id is None:
        return None
    return memoised(
        ("invitation-batch", batch_id),
        lambda: InvitationBatch.objects.filter(pk=batch_id).first(),
    )
