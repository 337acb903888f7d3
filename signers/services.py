from letters.models import Revision


def signatures_on_new_revision(*, revision: Revision) -> None:
    """Called by ``letters.services`` inside the transaction that publishes
    ``revision`` (number 2 or later).

    The signing work fills this in: editorial revisions notify earlier signers,
    material ones move them to re-confirmation.
    """
