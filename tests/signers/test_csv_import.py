"""The one CSV reader both imports use: bounded, and precise about why a file
cannot be read."""

import io

import pytest

from signers.csv_import import CsvFileError, parse_prospects, read_csv


def records(data: bytes, delimiter: str = ",") -> list[tuple[int, int, list[str]]]:
    source = io.BytesIO(data)
    return [
        (r.row, r.line, r.cells)
        for r in read_csv(source, delimiter_for=lambda first: delimiter)
    ]


def test_records_carry_their_spreadsheet_row_and_the_line_they_start_on():
    data = b'\xef\xbb\xbfa,b\r\n"two\nlines",1\n\n2,3\r4,5'

    assert records(data) == [
        (1, 1, ["a", "b"]),
        (2, 2, ["two\nlines", "1"]),
        (3, 4, []),
        (4, 5, ["2", "3"]),
        (5, 6, ["4", "5"]),
    ]


def test_a_nul_character_is_refused_with_its_line():
    with pytest.raises(CsvFileError, match="Line 3 contains a NUL character"):
        records(b"a,b\n1,2\n3,nul\x00here\n4,5\n")


def test_a_utf16_export_is_refused_as_not_plain_text():
    with pytest.raises(CsvFileError, match="Line 1 contains a NUL character"):
        records("organisation,email\n".encode("utf-16-le"))


def test_a_file_that_is_not_utf8_is_refused():
    with pytest.raises(CsvFileError, match="not UTF-8"):
        records("organisation,email\nCafé,a@example.org\n".encode("cp1252"))


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b'a,b\n"1\n2",x\ny,"open\nmore\n', 4),
        (b'a,b\n"closed ""here""","open\n', 2),
        (b'a;b\n"x";"y\n', 2),
        (b'"a\n' + b"x" * 200_000, 1),  # past the reader's longest cell
    ],
)
def test_a_quote_never_closed_is_reported_at_the_line_it_opens(data, line):
    delimiter = ";" if b";" in data else ","

    with pytest.raises(CsvFileError) as error:
        records(data, delimiter)

    assert error.value.message.startswith(
        f"A quote opened on line {line} is never closed"
    )


def test_text_after_a_closing_quote_is_reported_with_its_line():
    with pytest.raises(CsvFileError, match="On line 3, text follows a quoted cell"):
        records(b'a,b\n1,2\n"Leeds" West,3\n')


def test_reading_stops_at_the_first_row_past_the_limit(settings):
    settings.IMPORT_MAX_ROWS = 2
    # Blank lines are not rows; the NUL after the limit is never read.
    data = b"a\n1\n\n2\n3\n\x00\n"

    with pytest.raises(CsvFileError, match="more than 2 rows"):
        records(data)

    settings.IMPORT_MAX_ROWS = 3
    with pytest.raises(CsvFileError, match="NUL"):
        records(data)


def test_reading_stops_soon_after_the_first_byte_past_the_limit(settings):
    settings.IMPORT_MAX_BYTES = 1000
    source = io.BytesIO(b"a\n" + b"1\n" * 500_000)

    with pytest.raises(CsvFileError, match="larger than 1000"):
        list(read_csv(source, delimiter_for=lambda first: ","))

    assert source.tell() <= 1000 + 16 * 1024  # a read buffer or two, not 1 MB


def test_prospect_files_report_what_stops_the_whole_file_without_a_row():
    parsed = parse_prospects(b"organisation,email\nA,a@example.org\nB,b@\x00\n")

    assert parsed.errors == [
        (
            0,
            "Line 3 contains a NUL character, so the file is not plain text. "
            "Export it as “CSV UTF-8” and retry.",
        )
    ]


def test_prospect_notes_are_bounded():
    data = f"organisation,email,notes\nA,a@example.org,{'n' * 2001}\n".encode()

    assert parse_prospects(data).errors == [
        (2, "The notes are longer than 2000 characters.")
    ]
