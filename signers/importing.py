"""Reading a CSV of existing signers (from a form or a spreadsheet) for import.

Columns: organisation, city, country, website, contact_name, email; optional
kind ("organisation" or "individual") and name (an individual's name). UTF-8
with or without a byte-order mark, comma-, semicolon- or tab-separated, any
line endings. Parsing only: ``services.signature_import`` saves all rows or
none.
"""

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import IO, Any, Final

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from coalition.forms import TextField
from signers.csv_import import CsvFileError, read_csv
from signers.forms.signing import EmailField
from signers.models import Signature
from signers.names import name_keys

REQUIRED_COLUMNS: Final = ("organisation", "email")
DELIMITERS: Final = (",", ";", "\t")
KNOWN_COLUMNS: Final = (
    "organisation", "city", "country", "website", "contact_name", "email",
    "kind", "name",
)  # fmt: skip
KINDS: Final = {
    "": Signature.Kind.ORGANISATION,
    "organisation": Signature.Kind.ORGANISATION,
    "organization": Signature.Kind.ORGANISATION,
    "individual": Signature.Kind.INDIVIDUAL,
    "person": Signature.Kind.INDIVIDUAL,
}


@dataclass
class ImportRow:
    line: int
    fields: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


# The key of problems with the whole file rather than one of its lines.
FILE: Final = 0


class SignatureImportError(Exception):
    """Nothing was imported; ``errors`` maps a line of the file (or ``FILE``)
    to its problems."""

    def __init__(self, errors: dict[int, list[str]]) -> None:
        super().__init__(f"{len(errors)} line(s) with errors")
        self.errors = dict(sorted(errors.items()))

    def report(self) -> list[str]:
        return [
            " ".join(messages)
            if line == FILE
            else _("Line %(line)d: %(problems)s")
            % {"line": line, "problems": " ".join(messages)}
            for line, messages in self.errors.items()
        ]


class ImportRowForm(forms.Form):
    kind = TextField(required=False)
    organisation = TextField(
        label=gettext_lazy("organisation"), max_length=200, required=False
    )
    name = TextField(label=gettext_lazy("name"), max_length=200, required=False)
    city = TextField(label=gettext_lazy("city"), max_length=120, required=False)
    country = TextField(label=gettext_lazy("country"), max_length=120, required=False)
    website = forms.URLField(
        label=gettext_lazy("website"),
        max_length=300,
        required=False,
        assume_scheme="https",
    )
    contact_name = TextField(
        label=gettext_lazy("contact_name"), max_length=200, required=False
    )
    email = EmailField(label=gettext_lazy("email"), max_length=254)

    def clean_kind(self) -> str:
        kind = (self.cleaned_data.get("kind") or "").strip().lower()
        if kind not in KINDS:
            raise forms.ValidationError(
                _('kind must be "organisation" or "individual".')
            )
        return KINDS[kind]

    def signature_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        individual = data["kind"] == Signature.Kind.INDIVIDUAL
        return {
            "kind": data["kind"],
            "display_name": data["name"] if individual else data["organisation"],
            "affiliation": data["organisation"] if individual else "",
            "city": data["city"],
            "country": data["country"],
            "website": "" if individual else data["website"],
            "contact_name": data["contact_name"],
            "email": data["email"],
            # The organisers attest for the list they bring.
            "attested": not individual,
        }


def _form_errors(form: forms.Form) -> list[str]:
    return [
        f"{form.fields[name].label}: {message}" if name in form.fields else str(message)
        for name, messages in form.errors.items()
        for message in messages
    ]


def _column_names(cells: Sequence[str] | None) -> list[str]:
    return [(c or "").strip().lower().replace(" ", "_") for c in cells or []]


def _delimiter(first: str) -> str:
    """The delimiter that makes the first line a header with the needed
    columns (else the likeliest one, for the missing-columns message).

    Only the delimiter is guessed. Quoting is what spreadsheets write (quotes
    doubled inside quoted cells): guessing it from the data too cut the cell
    ``Leeds "West; North"`` to ``Leeds "West`` without a word.
    """
    for delimiter in DELIMITERS:
        try:
            cells = next(csv.reader([first], delimiter=delimiter), [])
        except csv.Error:  # read again, and reported, by read_csv
            continue
        if all(c in _column_names(cells) for c in REQUIRED_COLUMNS):
            return delimiter
    return max(DELIMITERS, key=first.count)


def _records(source: IO[bytes]) -> Iterator[tuple[int, dict[str, str]]]:
    """The file's rows as (line, {known column: cell}), read as they are
    asked for. Raises SignatureImportError for a file without the needed
    columns, or one that cannot be read (see ``csv_import.read_csv``)."""
    records = read_csv(source, delimiter_for=_delimiter)
    try:
        header = next(records, None)
        names = _column_names(header.cells if header else [])
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        if missing:
            raise SignatureImportError(
                {1: [_("Missing column(s): %(cols)s.") % {"cols": ", ".join(missing)}]}
            )
        for record in records:
            if record.cells:  # a blank line
                cells = zip_longest(names, record.cells, fillvalue="")
                yield record.line, {k: v for k, v in cells if k in KNOWN_COLUMNS}
    except CsvFileError as exc:
        raise SignatureImportError({FILE: [exc.message]}) from exc


def read_signer_csv(source: bytes | IO[bytes]) -> list[ImportRow]:
    """Parse and check every row of the file, read as it is parsed; raise
    SignatureImportError for a file that cannot be read at all (no header,
    missing columns, not CSV, over the size or row limit)."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    rows: list[ImportRow] = []
    seen_names: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    for line, data in _records(source):
        form = ImportRowForm(data)
        row = ImportRow(line=line)
        if not form.is_valid():
            row.errors = _form_errors(form)
            rows.append(row)
            continue
        row.fields = form.signature_fields()
        if not row.fields["display_name"]:
            row.errors.append(_("A name or organisation is required."))
        keys = name_keys(row.fields["display_name"])
        same = next((seen_names[k] for k in keys if k in seen_names), None)
        if same is not None:
            row.errors.append(_("The same organisation as line %(n)d.") % {"n": same})
        if row.fields["email"] in seen_emails:
            row.errors.append(
                _("The same email as line %(n)d.")
                % {"n": seen_emails[row.fields["email"]]}
            )
        for key in keys:
            seen_names.setdefault(key, line)
        seen_emails.setdefault(row.fields["email"], line)
        rows.append(row)
    if not rows:
        raise SignatureImportError({1: [_("The file has no rows to import.")]})
    return rows
