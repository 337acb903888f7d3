"""The one CSV module: every import reads through it (bounded, precise about
why a file cannot be read), every export writes through it (every cell inert)."""

import csv
import io

import pytest
from django.urls import reverse

from coalition.spreadsheets import (
    CsvFileError,
    csv_lines,
    delimiter_of,
    inert,
    read_csv,
)
from tests.factories import ProspectFactory, UserFactory
from tests.letters.public_fixtures import published_letter, sign

# --- Reading ----------------------------------------------------------------------


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


def test_a_windows_1252_file_is_read_as_such():
    data = "organisation,email\nCafé Œuvre,a@example.org\n".encode("cp1252")

    assert records(data)[1][2] == ["Café Œuvre", "a@example.org"]


def test_a_file_that_is_not_utf8_after_utf8_letters_is_refused():
    data = "organisation,email\nCafé,a@example.org\n".encode() + "Crème,b\n".encode(
        "cp1252"
    )

    with pytest.raises(CsvFileError, match="not UTF-8"):
        records(data)


def test_the_fallback_starts_at_a_byte_split_between_two_reads():
    # The first byte that is not UTF-8 is the last of the reader's first chunk.
    data = b"a,b\n" + b"x" * (8 * 1024 - 5) + "\u00e9,1\n".encode("cp1252")

    assert records(data)[1][2] == ["x" * (8 * 1024 - 5) + "é", "1"]


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


@pytest.mark.parametrize(
    ("first_line", "delimiter"),
    [
        ("organisation,email,city\n", ","),
        ("organisation;email;city\r\n", ";"),
        ("organisation\temail\tcity\n", "\t"),
        ('"Name, in full";email\n', ";"),
        ("organisation\n", ","),
        ("", ","),
    ],
)
def test_the_delimiter_is_the_one_that_makes_the_most_cells(first_line, delimiter):
    assert delimiter_of(first_line) == delimiter


def test_the_delimiter_that_gives_the_wanted_header_wins():
    def wanted(cells):
        return cells[:2] == ["organisation", "email"]

    first = "organisation,email,notes; more; more; more\n"

    assert delimiter_of(first) == ";"
    assert delimiter_of(first, wanted=wanted) == ","


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_any_usual_export_is_read_the_same(delimiter, bom):
    data = bom + delimiter.join(["organisation", "email"]).encode() + b"\r\n"
    data += delimiter.join(['"Leeds ""West; North"""', "a@example.org"]).encode()

    rows = [r.cells for r in read_csv(io.BytesIO(data))]

    assert rows == [
        ["organisation", "email"],
        ['Leeds "West; North"', "a@example.org"],
    ]


# --- Writing ----------------------------------------------------------------------

FULL_WIDTH = ["\uff1d", "\uff0b", "\uff0d", "\uff20"]  # = + - @
TRIGGERS = ["=", "+", "-", "@", "\t", "\r", "|", "%", *FULL_WIDTH]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("  =1+1", "'  =1+1"),
        ("|calc", "'|calc"),
        ("%0A=1", "'%0A=1"),
        ("\uff1d1+1", "'\uff1d1+1"),
        ("Friends of the Earth", "Friends of the Earth"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (42, "42"),
    ],
)
def test_inert_neutralises_what_a_spreadsheet_would_run(value, expected):
    assert inert(value) == expected


def test_csv_lines_make_every_cell_inert_the_header_too():
    text = "".join(csv_lines([["=a", "b"], ["c", "@d"]]))

    assert list(csv.reader(io.StringIO(text))) == [["'=a", "b"], ["c", "'@d"]]


def _read(response) -> list[list[str]]:
    content = getattr(response, "streaming_content", None)
    body = b"".join(content) if content is not None else response.content
    return list(csv.reader(io.StringIO(body.decode().lstrip("\ufeff"))))


@pytest.mark.django_db
@pytest.mark.parametrize("trigger", TRIGGERS)
def test_no_csv_the_site_writes_has_a_live_formula(client, trigger):
    owner = UserFactory()
    letter = published_letter(owner=owner)
    cell = f"{trigger}HYPERLINK(1)"
    sign(letter, cell, "a", city=cell, contact_name=cell, comment=cell)
    ProspectFactory(letter=letter, organisation=cell, contact_name=cell, notes=cell)
    client.force_login(owner)

    written = {
        name: _read(client.get(reverse(name, args=[letter.slug])))
        for name in (
            "signers:signers-csv",
            "signers:export-csv",
            "signers:prospect-export",
        )
    }

    for name, rows in written.items():
        cells = [c for row in rows[1:] for c in row]
        assert f"'{cell}" in cells, name
        assert not [c for c in cells if c.lstrip(" ").startswith(tuple(TRIGGERS))]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", ["signers:signers-csv", "signers:export-csv", "signers:prospect-export"]
)
def test_csv_downloads_are_marked_utf8_for_excel_and_read_back_with_accents(
    client, name
):
    owner = UserFactory()
    letter = published_letter(owner=owner)
    sign(letter, "Zoé Ærø Straße", city="Łódź")
    ProspectFactory(letter=letter, organisation="Zoé Ærø Straße", notes="Łódź")
    client.force_login(owner)

    response = client.get(reverse(name, args=[letter.slug]))
    body = b"".join(response.streaming_content)

    assert body.startswith(b"\xef\xbb\xbf")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = [record.cells for record in read_csv(io.BytesIO(body))]
    assert rows[0][0] and not rows[0][0].startswith("\ufeff")
    assert "Zoé Ærø Straße" in [cell for row in rows[1:] for cell in row]
