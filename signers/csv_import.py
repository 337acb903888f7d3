"""Prospect lists in and out as CSV.

Reading accepts what spreadsheets export: UTF-8 with or without a byte-order
mark, comma or semicolon, and the usual column names. It parses only; whether a
row is a duplicate of a prospect already on the letter is decided by the caller.
Writing neutralises cells a spreadsheet would run as a formula.
"""

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_LENGTH = 200

# Normalised header (lower case, letters and digits only) -> field.
HEADERS: dict[str, str] = {
    **dict.fromkeys(
        [
            "organisation", "organization", "organisationname", "organizationname",
            "org", "orgname", "company", "companyname", "group", "groupname",
        ],
        "organisation",
    ),
    **dict.fromkeys(
        [
            "contact", "contactname", "contactperson", "fullname", "person", "name",
            "displayname",
        ],
        "contact_name",
    ),
    **dict.fromkeys(["firstname", "givenname", "first"], "first_name"),
    **dict.fromkeys(["lastname", "surname", "familyname", "last"], "last_name"),
    **dict.fromkeys(
        [
            "email", "emailaddress", "mail", "contactemail", "email1value",
            "primaryemail", "emailaddress1",
        ],
        "email",
    ),
    **dict.fromkeys(["notes", "note", "comments", "comment", "remarks"], "notes"),
    **dict.fromkeys(
        ["large", "islarge", "largeorganisation", "largeorganization", "size"],
        "is_large",
    ),
    **dict.fromkeys(
        ["owner", "relationshipowner", "heldby", "organiser", "organizer"], "owner"
    ),
}  # fmt: skip
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


def _normalise_header(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.strip().lower())


def _delimiter(first_line: str) -> str:
    return ";" if first_line.count(";") > first_line.count(",") else ","


def parse_prospects(data: bytes) -> ParsedFile:
    """Parse a prospect CSV; errors carry row numbers, nothing raises."""
    parsed = ParsedFile()
    if len(data) > MAX_BYTES:
        parsed.errors.append((0, _("The file is larger than 2 MB.")))
        return parsed
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        parsed.errors.append(
            (0, _("The file is not UTF-8 text. Export it as “CSV UTF-8” and retry."))
        )
        return parsed
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        parsed.errors.append((1, _("The file is empty or has no header row.")))
        return parsed
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(lines[0]))
    header = next(reader)
    columns: list[str | None] = []
    for name in header:
        target = HEADERS.get(_normalise_header(name))
        if target is None or target in columns:
            columns.append(None)
            if name.strip():
                parsed.ignored_columns.append(name.strip())
        else:
            columns.append(target)
    if "organisation" not in columns and "contact_name" in columns:
        # A sheet with only "Name" and "Email": the name is the organisation's.
        columns[columns.index("contact_name")] = "organisation"
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
    records = 0
    for index, cells in enumerate(reader):
        number = index + 2
        if not any(cell.strip() for cell in cells):
            continue
        records += 1
        if records > MAX_ROWS:
            parsed.errors.append(
                (number, _("Too many rows: at most %(max)d.") % {"max": MAX_ROWS})
            )
            break
        row, problems = _row(number, columns, cells)
        if problems:
            parsed.errors.extend((number, p) for p in problems)
        elif row is not None:
            parsed.rows.append(row)
    return parsed


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
                _("A cell is longer than %(max)d characters.") % {"max": MAX_LENGTH}
            )
            break
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


# Cells starting with these run as formulas in spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def write_csv(out: Any, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write ``rows`` to the file-like ``out``, every cell neutralised."""
    writer = csv.writer(out)
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
