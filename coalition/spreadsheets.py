"""CSV files in and out: the one reader every import uses, and the one writer
(with the one formula guard) every export uses.

Reading accepts what spreadsheets export: UTF-8 with or without a byte-order
mark (or, failing that, Windows-1252, what they write as plain "CSV" in Western
locales), comma-, semicolon- or tab-separated, any line endings. It is bounded:
a file is read as it is parsed, and refused at the first byte past
``IMPORT_MAX_BYTES`` or the first row past ``IMPORT_MAX_ROWS``, so an oversized
file costs no more than a file at the limit. It parses only; what a row means
is the caller's business.

Writing makes every cell inert: a cell a spreadsheet would run as a formula is
written as text. Downloads start with a UTF-8 byte-order mark: Excel reads a
CSV file without one in the computer's legacy code page ("Zoé" becomes
"ZoÃ©"), and every other reader (LibreOffice, Numbers, Google Sheets, Python's
``utf-8-sig``, this module's ``read_csv``) skips it.
"""

import codecs
import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import IO, Any, Final

from django.conf import settings
from django.http import StreamingHttpResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

DELIMITERS: Final = (",", ";", "\t")
# What a file that is not UTF-8 is read as, if everything before the first
# byte that is not UTF-8 was plain ASCII.
FALLBACK_ENCODING: Final = "cp1252"
_CHUNK: Final = 8 * 1024


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


def _not_text_message() -> str:
    return _("The file is not UTF-8 text. Export it as “CSV UTF-8” and retry.")


class _Utf8(io.RawIOBase):
    """``source`` as UTF-8 bytes, refused past ``limit`` bytes read.

    UTF-8 passes through (checked as it goes). At the first byte that is not
    UTF-8, a file that was plain ASCII until then is read as
    ``FALLBACK_ENCODING`` from there on; one that already had UTF-8 letters is
    refused (it mixes two encodings, and no reading of it is right).
    """

    def __init__(self, source: IO[bytes], limit: int) -> None:
        super().__init__()
        self.source, self.limit, self.count = source, limit, 0
        self.decoder: codecs.IncrementalDecoder = codecs.getincrementaldecoder(
            "utf-8"
        )()
        self.ascii_so_far = True
        self.pending = b""

    def readable(self) -> bool:
        return True

    def _convert(self, data: bytes, final: bool) -> bytes:
        buffered = self.decoder.getstate()[0]
        try:
            text = self.decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            whole = buffered + data
            if not (self.ascii_so_far and whole[: exc.start].isascii()):
                raise CsvFileError(_not_text_message()) from exc
            self.decoder = codecs.getincrementaldecoder(FALLBACK_ENCODING)()
            self.ascii_so_far = False
            try:
                text = self.decoder.decode(whole, final)
            except UnicodeDecodeError as again:
                raise CsvFileError(_not_text_message()) from again
        if self.ascii_so_far and not text.isascii():
            self.ascii_so_far = False
        return text.encode()

    def readinto(self, buffer: Any) -> int:
        while not self.pending:
            data = self.source.read(_CHUNK)
            self.count += len(data)
            if self.count > self.limit:
                raise CsvFileError(too_large_message())
            self.pending = self._convert(data, final=not data)
            if not data:
                break
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size


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


def delimiter_of(
    first_line: str, *, wanted: Callable[[list[str]], bool] | None = None
) -> str:
    """The delimiter of a file whose first line is ``first_line``: the first
    of ``DELIMITERS`` that makes it cells ``wanted`` accepts (a header with the
    columns the caller needs), else the one that makes it the most cells.

    Only the delimiter is guessed. Quoting is what spreadsheets write (quotes
    doubled inside quoted cells): guessing it from the data too cut the cell
    ``Leeds "West; North"`` to ``Leeds "West`` without a word.
    """
    found: dict[str, int] = {}
    for delimiter in DELIMITERS:
        try:
            cells = next(csv.reader([first_line], delimiter=delimiter), [])
        except csv.Error:  # read again, and reported, by read_csv
            continue
        if wanted is not None and wanted(cells):
            return delimiter
        found[delimiter] = len(cells)
    return max(found, key=lambda d: found[d], default=DELIMITERS[0])


def read_csv(
    source: IO[bytes], *, delimiter_for: Callable[[str], str] = delimiter_of
) -> Iterator[Record]:
    """The file's records, the header first, read as they are asked for.

    ``delimiter_for`` picks the delimiter from the first line. Raises
    CsvFileError, possibly after some records, for a file past the size or
    row limit, in neither UTF-8 nor the fallback encoding, with a NUL
    character, or that is not CSV (a quote never closed); callers refuse the
    whole file then.
    """
    text = io.TextIOWrapper(
        io.BufferedReader(_Utf8(source, settings.IMPORT_MAX_BYTES)),
        encoding="utf-8",
        # Every line ending reaches the reader untranslated, the lone \r of
        # older spreadsheets included, and line breaks inside quoted cells.
        newline="",
    )
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


# --- Writing --------------------------------------------------------------------

# A spreadsheet runs a cell that starts with one of these as a formula (a tab or
# carriage return can precede it and be dropped on import; some spreadsheets
# read the full-width forms as the ASCII ones).
FORMULA_TRIGGERS: Final = (
    "=", "+", "-", "@", "\t", "\r", "|", "%", "\uff1d", "\uff0b", "\uff0d", "\uff20",
)  # fmt: skip


def inert(value: object) -> str:
    """``value`` as text a spreadsheet shows as text, never runs as a formula.

    A leading apostrophe is the spreadsheet convention for "this is text"; it
    is added to every cell that starts (after spaces) with a formula trigger.
    """
    text = "" if value is None else str(value)
    if text.lstrip(" ").startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


class _Echo:
    """A file-like object whose write returns the line, for streaming."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """``rows`` as CSV lines, every cell inert, made as they are asked for
    (for a streaming response)."""
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([inert(cell) for cell in row])


BOM: Final = "\ufeff"


def csv_response(
    rows: Iterable[Iterable[object]], filename: str
) -> StreamingHttpResponse:
    """A streamed CSV download of ``rows``, every cell inert, marked as UTF-8
    with a byte-order mark so that Excel keeps accents."""
    response = StreamingHttpResponse(
        chain([BOM], csv_lines(rows)), content_type="text/csv; charset=utf-8"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
