"""An organiser's choice to be emailed, or not, when someone signs a letter."""

from django.db import transaction

from coalition.models import User
from letters.models import Membership
from signers.models import SigningNoticeOptOut


@transaction.atomic
def signing_notices_set(*, user: User, letter_id: int, notify: bool) -> bool | None:
    """Turn the user's signing notices for a letter on or off. None when the
    user is not on the letter's team (nothing changes); otherwise whether
    anything changed."""
    if not Membership.objects.filter(user=user, letter_id=letter_id).exists():
        return None
    opt_outs = SigningNoticeOptOut.objects.filter(user=user, letter_id=letter_id)
    if notify:
        deleted, _rows = opt_outs.delete()
        return bool(deleted)
    _row, created = SigningNoticeOptOut.objects.get_or_create(
        user=user, letter_id=letter_id
    )
    return created
