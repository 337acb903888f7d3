from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import ngettext

from signers.selectors.consent import consent_violations


class Command(BaseCommand):
    help = (
        "Check that every name and count on offer agreed to the letter's exact "
        "text, and that the PDF on offer is of the current signer list. Prints "
        "one line per violation; exits non-zero if there is any."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        found = consent_violations()
        for violation in found:
            self.stdout.write(str(violation))
        summary = ngettext(
            "%(count)d consent violation", "%(count)d consent violations", len(found)
        ) % {"count": len(found)}
        if found:
            self.stdout.write(self.style.ERROR(summary))
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(summary))
