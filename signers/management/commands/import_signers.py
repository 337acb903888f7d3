from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from letters.models import Letter
from signers.importing import SignatureImportError, read_signer_csv
from signers.services import signature_import


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
        try:
            text = options["file"].read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc}") from exc
        try:
            count = signature_import(letter=letter, rows=read_signer_csv(text))
        except SignatureImportError as exc:
            for line in exc.report():
                self.stderr.write(line)
            raise CommandError("Nothing was imported.") from exc
        self.stdout.write(self.style.SUCCESS(f"Imported {count} signers."))
