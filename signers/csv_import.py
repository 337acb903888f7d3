"""CSV files in and out: the one reader both imports use, prospect lists in
and out.

Reading accepts what spreadsheets export: UTF-8 with or without a byte-order
mark, the usual delimiters and line endings, and the usual column names. It is
bounded: a file is read as it is parsed, and refused at the first byte past
``IMPORT_MAX_BYTES`` or the first row past ``IMPORT_MAX_ROWS``, so an oversized
file costs no more than a file at the limit. It parses only; whether a row is
a duplicate of a prospect already on the letter is decided by the caller.
Writing neutralises cells a spreadsheet would run as a formula.
"""

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

MAX_LENGTH = 200
MAX_NOTES_LENGTH = 2000


class CsvFileError(Exception):
    """The file cannot be read at all; the message says why and where."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Record:
    row: int  # as a spreadsheet numbers it: the header is row 1
    line: int  # the line of the file it starts on
    cells: list[str]


def too_large_message() -> str:
    return _("The file is larger than %(size)s: split it and import each part.") % {
        "size": filesizeformat(settings.IMPORT_MAX_BYTES)
    }


def _too_many_rows_message() -> str:
    limit = settings.IMPORT_MAX_ROWS
    return ngettext(
        "The file has more than %(max)d row: split it and import each part.",
        "The file has more than %(max)d rows: split it and import each part.",
        limit,
    ) % {"max": limit}


class _Bounded(io.RawIOBase):
    """``source``, refusing to be read past ``limit`` bytes."""

    def __init__(self, source: IO[bytes], limit: int) -> None:
        super().__init__()
        self.source, self.limit, self.count = source, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.source.read(len(buffer))
        self.count += len(data)
        if self.count > self.limit:
            raise CsvFileError(too_large_message())
        buffer[: len(data)] = data
        return len(data)


class _Lines:
    """The file's lines for the CSV reader: numbered, NUL refused, and those of
    the record being read kept, to say where a quote was left open."""

    def __init__(self, first: str, rest: Iterator[str]) -> None:
        self.first: str | None = first
        self.rest = rest
        self.number = 0
        self.record: list[str] = []

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        if self.first is not None:
            line, self.first = self.first, None
        else:
            line = next(self.rest)
        self.number += 1
        if "\x00" in line:
            # PostgreSQL refuses NUL in text; it also marks a UTF-16 export.
            raise CsvFileError(
                _(
                    "Line %(line)d contains a NUL character, so the file is not "
                    "plain text. Export it as “CSV UTF-8” and retry."
                )
                % {"line": self.number}
            )
        self.record.append(line)
        return line


def _open_quote_line(lines: Sequence[str], first: int, delimiter: str) -> int | None:
    """The line of the quotation mark opening a cell that is still open at the
    end of ``lines`` (the record's lines, from line ``first``), or None."""
    state, opened = "start", first
    for number, line in enumerate(lines, start=first):
        for char in line:
            ends_cell = char == delimiter or char in "\r\n"
            if state == "quoted":
                state = "quote" if char == '"' else "quoted"
            elif state == "quote":  # a quote inside quotes: doubled, or the end
                state = "quoted" if char == '"' else "start" if ends_cell else "plain"
            elif ends_cell:
                state = "start"
            elif state == "start" and char == '"':
                state, opened = "quoted", number
            else:
                state = "plain"
    return opened if state == "quoted" else None


def _unreadable(lines: Sequence[str], first: int, delimiter: str, error: str) -> str:
    opened = _open_quote_line(lines, first, delimiter)
    if opened is not None:
        return _(
            "A quote opened on line %(line)d is never closed: a cell that starts "
            "with a quotation mark must end with one."
        ) % {"line": opened}
    last = first + max(len(lines) - 1, 0)
    if "expected after" in error:
        return _(
            "On line %(line)d, text follows a quoted cell's closing quotation "
            'mark: a quotation mark inside a cell is written twice ("").'
        ) % {"line": last}
    return _("Line %(line)d cannot be read as CSV.") % {"line": last}


def read_csv(
    source: IO[bytes], *, delimiter_for: Callable[[str], str]
) -> Iterator[Record]:
    """The file's records, the header first, read as they are asked for.

    ``delimiter_for`` picks the delimiter from the first line. Raises
    CsvFileError, possibly after some records, for a file past the size or
    row limit, not UTF-8, with a NUL character, or that is not CSV (a quote
    never closed); callers refuse the whole file then.
    """
    text = io.TextIOWrapper(
        io.BufferedReader(_Bounded(source, settings.IMPORT_MAX_BYTES)),
        encoding="utf-8-sig",
        # Every line ending reaches the reader untranslated, the lone \r of
        # older spreadsheets included, and line breaks inside quoted cells.
        newline="",
    )
    try:
        first = text.readline().lstrip("\ufeff")
        delimiter = delimiter_for(first)
        lines = _Lines(first, text)
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        row = records = 0
        while True:
            start = lines.number + 1
            lines.record.clear()
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                message = _unreadable(lines.record, start, delimiter, str(exc))
                raise CsvFileError(message) from exc
            row += 1
            if row > 1 and any(cell.strip() for cell in cells):
                records += 1
                if records > settings.IMPORT_MAX_ROWS:
                    raise CsvFileError(_too_many_rows_message())
            yield Record(row=row, line=start, cells=cells)
    except UnicodeDecodeError as exc:
        raise CsvFileError(
            _("The file is not UTF-8 text. Export it as “CSV UTF-8” and retry.")
        ) from exc


# --- Prospect lists ------------------------------------------------------------

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
    """Parse a prospect CSV; errors carry row numbers (0: the whole file),
    nothing raises."""
    parsed = ParsedFile()
    if len(data) > settings.IMPORT_MAX_BYTES:
        parsed.errors.append((0, too_large_message()))
        return parsed
    records = read_csv(io.BytesIO(data), delimiter_for=_delimiter)
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
    return columns


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
