"""Reading a CSV of existing signers (from a form or a spreadsheet) for import.

Columns: email, and organisation or name; optional city, country, website,
contact_name and kind ("organisation" or "individual"; an individual's
organisation is their affiliation), each under any name ``signers.columns``
knows ("E-mail", "Organization", "Town", "URL"...). UTF-8 with or without a
byte-order mark, comma-, semicolon- or tab-separated, any line endings.
Parsing only: ``services.signature_import`` saves all rows or none.
"""

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import IO, Any, Final

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from coalition.forms import TextField
from coalition.spreadsheets import CsvFileError, Record, delimiter_of, read_csv
from signers.columns import LABELS, Columns, header_key, match_columns
from signers.forms.signing import EmailField
from signers.models import Signature
from signers.names import name_keys

READS: Final = (
    "organisation", "name", "city", "country", "website", "contact_name", "email",
    "kind",
)  # fmt: skip
# A kind cell's key (``header_key``) -> the kind.
KINDS: Final = {
    **dict.fromkeys(
        ["", "organisation", "organization", "org", "group", "ngo"],
        Signature.Kind.ORGANISATION,
    ),
    **dict.fromkeys(
        ["individual", "person", "individu", "personal"], Signature.Kind.INDIVIDUAL
    ),
}


@dataclass
class ImportRow:
    line: int
    fields: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


# The key of problems with the whole file rather than one of its lines.
FILE: Final = 0
# How often an import tells its caller how far it got, in rows.
IMPORT_PROGRESS_EVERY: Final = 100


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
        kind = header_key(self.cleaned_data.get("kind") or "")
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
            "display_name": data["name"]
            if individual
            else data["organisation"] or data["name"],
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


def _columns(cells: Sequence[str]) -> Columns:
    return match_columns(cells, READS)


def _complete(columns: Columns) -> bool:
    return "email" in columns and ("organisation" in columns or "name" in columns)


def _delimiter(first: str) -> str:
    return delimiter_of(first, wanted=lambda cells: _complete(_columns(cells)))


@dataclass
class SignerFile:
    columns: Columns
    rows: list[ImportRow]


def _header(source: IO[bytes]) -> tuple[Columns, Iterator[Record]]:
    """The file's columns, and its records after the header. Raises
    SignatureImportError for a file without the needed columns."""
    records = read_csv(source, delimiter_for=_delimiter)
    with _readable():
        header = next(records, None)
    columns = _columns(header.cells if header else [])
    if not _complete(columns):
        raise SignatureImportError({1: [_missing_columns(columns)]})
    return columns, records


def _records(
    columns: Columns, records: Iterator[Record]
) -> Iterator[tuple[int, dict[str, str]]]:
    """The file's rows as (line, {field: cell}), read as they are asked for."""
    with _readable():
        for record in records:
            if record.cells:  # a blank line
                pairs = zip_longest(columns.fields, record.cells, fillvalue="")
                yield record.line, {k: v for k, v in pairs if k}


@contextmanager
def _readable() -> Iterator[None]:
    """A file that cannot be read (see ``coalition.spreadsheets.read_csv``)
    raises SignatureImportError."""
    try:
        yield
    except CsvFileError as exc:
        raise SignatureImportError({FILE: [exc.message]}) from exc


def _missing_columns(columns: Columns) -> str:
    missing = [] if "email" in columns else [str(LABELS["email"])]
    if "organisation" not in columns and "name" not in columns:
        missing.append(
            _("%(org)s or %(name)s")
            % {"org": LABELS["organisation"], "name": LABELS["name"]}
        )
    return _("No column for: %(columns)s.") % {"columns": ", ".join(missing)}


def read_signer_csv(source: bytes | IO[bytes]) -> list[ImportRow]:
    """The rows of ``read_signer_file``."""
    return read_signer_file(source).rows


def read_signer_file(source: bytes | IO[bytes]) -> SignerFile:
    """Parse and check every row of the file, read as it is parsed; raise
    SignatureImportError for a file that cannot be read at all (no header,
    missing columns, not CSV, over the size or row limit)."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    rows: list[ImportRow] = []
    seen_names: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    columns, records = _header(source)
    for line, data in _records(columns, records):
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
    return SignerFile(columns=columns, rows=rows)
