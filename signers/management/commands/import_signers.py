from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from letters.models import Letter
from signers.csv_import import too_large_message
from signers.importing import SignatureImportError, read_signer_csv
from signers.services.signatures import signature_import


class Command(BaseCommand):
    help = (
        "Import existing signers from a CSV file (columns: organisation, city, "
        "country, website, contact_name, email; optional kind, name), confirmed "
        "on the letter's current revision. All rows or none."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The letter's web address (slug).")
        parser.add_argument("file", type=Path, help="The CSV file (UTF-8).")

    def handle(self, *args: Any, **options: Any) -> None:
        letter = Letter.objects.filter(slug=options["slug"]).first()
        if letter is None:
            raise CommandError(f"No letter with the address {options['slug']!r}.")
        path: Path = options["file"]
        try:
            # The size first: a file over the limit is refused unread.
            if path.stat().st_size > settings.IMPORT_MAX_BYTES:
                raise CommandError(f"{path}: {too_large_message()}")
            with path.open("rb") as source:
                count = signature_import(letter=letter, rows=read_signer_csv(source))
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        except SignatureImportError as exc:
            for line in exc.report():
                self.stderr.write(line)
            raise CommandError("Nothing was imported.") from exc
        self.stdout.write(self.style.SUCCESS(f"Imported {count} signers."))
