"""What an organiser chose not to be emailed about a letter."""

from django.conf import settings
from django.db import models

from letters.models import Letter


class SigningNoticeOptOut(models.Model):
    """The user gets no email when someone signs this letter
    (``signers.planning.signing_notices``); a row per user and letter."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    letter = models.ForeignKey(
        Letter, on_delete=models.CASCADE, related_name="signing_notice_opt_outs"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "letter"], name="signing_notice_opt_out_unique"
            )
        ]

    def __str__(self) -> str:
        return f"No signing notices for {self.user_id} on {self.letter_id}"
