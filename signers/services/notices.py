"""An organiser's choice to be emailed, or not, when someone signs a letter."""

from django.db import transaction

from coalition.models import User
from letters.models import Letter
from signers.models import SigningNoticeOptOut


@transaction.atomic
def signing_notices_set(*, user: User, letter_id: int, notify: bool) -> bool | None:
    """Turn the user's signing notices for a letter on or off. None when the
    user has no place on the letter, on its team or through its coalition
    (nothing changes); otherwise whether anything changed."""
    if not Letter.objects.for_user(user).filter(pk=letter_id).exists():
        return None
    opt_outs = SigningNoticeOptOut.objects.filter(user=user, letter_id=letter_id)
    if notify:
        deleted, _rows = opt_outs.delete()
        return bool(deleted)
    _row, created = SigningNoticeOptOut.objects.get_or_create(
        user=user, letter_id=letter_id
    )
    return created
