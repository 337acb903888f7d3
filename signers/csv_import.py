"""Prospect lists in CSV: the columns spreadsheets use for them, and each row
checked. Reading and writing the files is ``coalition.spreadsheets``'s.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from coalition.spreadsheets import CsvFileError, read_csv, too_large_message
from signers.columns import match_columns

MAX_LENGTH = 200
MAX_NOTES_LENGTH = 2000


# --- Prospect lists ------------------------------------------------------------

# The fields a prospect list's columns hold; its "Name" is the contact's.
READS = (
    "organisation", "contact_name", "first_name", "last_name", "email", "notes",
    "is_large", "owner",
)  # fmt: skip
TRUE_WORDS = {"yes", "y", "true", "1", "x", "large", "oui", "ja", "si", "sí"}


@dataclass
class Row:
    number: int  # as a spreadsheet numbers it: the header is row 1
    organisation: str
    email: str
    contact_name: str = ""
    notes: str = ""
    is_large: bool = False
    owner: str = ""


@dataclass
class ParsedFile:
    rows: list[Row] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row, message)
    ignored_columns: list[str] = field(default_factory=list)
    # (column as written, what it is read as)
    recognised_columns: list[tuple[str, str]] = field(default_factory=list)


def parse_prospects(data: bytes) -> ParsedFile:
    """Parse a prospect CSV; errors carry row numbers (0: the whole file),
    nothing raises."""
    parsed = ParsedFile()
    if len(data) > settings.IMPORT_MAX_BYTES:
        parsed.errors.append((0, too_large_message()))
        return parsed
    records = read_csv(io.BytesIO(data))
    try:
        header = next(records, None)
        if header is None or not any(cell.strip() for cell in header.cells):
            parsed.errors.append((1, _("The file is empty or has no header row.")))
            return parsed
        columns = _columns(header.cells, parsed)
        missing = [c for c in ("organisation", "email") if c not in columns]
        if missing:
            labels = {"organisation": _("organisation"), "email": _("email")}
            parsed.errors.append(
                (
                    1,
                    _("No column for: %(columns)s.")
                    % {"columns": ", ".join(str(labels[c]) for c in missing)},
                )
            )
            return parsed
        for record in records:
            if not any(cell.strip() for cell in record.cells):
                continue
            row, problems = _row(record.row, columns, record.cells)
            if problems:
                parsed.errors.extend((record.row, p) for p in problems)
            elif row is not None:
                parsed.rows.append(row)
    except CsvFileError as exc:
        parsed.errors.append((0, exc.message))
    return parsed


def _columns(header: Sequence[str], parsed: ParsedFile) -> list[str | None]:
    columns = match_columns(header, READS, alias={"name": "contact_name"})
    fields = columns.fields
    if "organisation" not in fields and "contact_name" in fields:
        # A sheet with only "Name" and "Email": the name is the organisation's.
        fields[fields.index("contact_name")] = "organisation"
    parsed.ignored_columns.extend(columns.ignored)
    parsed.recognised_columns.extend(columns.labelled())
    return fields


def _row(
    number: int, columns: Sequence[str | None], cells: Sequence[str]
) -> tuple[Row | None, list[str]]:
    problems: list[str] = []
    if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
        problems.append(_("More cells than the header has columns."))
    values: dict[str, str] = {}
    for column, cell in zip(columns, cells, strict=False):
        if column:
            values[column] = " ".join(cell.split())
    if not values.get("contact_name"):
        parts = (values.get("first_name", ""), values.get("last_name", ""))
        values["contact_name"] = " ".join(p for p in parts if p)
    email = values.get("email", "").lower()
    if not values.get("organisation"):
        problems.append(_("The organisation is missing."))
    if not email:
        problems.append(_("The email address is missing."))
    else:
        try:
            validate_email(email)
        except ValidationError:
            problems.append(
                _("“%(email)s” is not an email address.") % {"email": email}
            )
    for name in ("organisation", "contact_name", "owner"):
        if len(values.get(name, "")) > MAX_LENGTH:
            problems.append(
                ngettext(
                    "A cell is longer than %(max)d character.",
                    "A cell is longer than %(max)d characters.",
                    MAX_LENGTH,
                )
                % {"max": MAX_LENGTH}
            )
            break
    if len(values.get("notes", "")) > MAX_NOTES_LENGTH:
        problems.append(
            ngettext(
                "The notes are longer than %(max)d character.",
                "The notes are longer than %(max)d characters.",
                MAX_NOTES_LENGTH,
            )
            % {"max": MAX_NOTES_LENGTH}
        )
    if problems:
        return None, problems
    return (
        Row(
            number=number,
            organisation=values["organisation"],
            email=email,
            contact_name=values.get("contact_name", ""),
            notes=values.get("notes", ""),
            is_large=values.get("is_large", "").strip().lower() in TRUE_WORDS,
            owner=values.get("owner", ""),
        ),
        [],
    )
