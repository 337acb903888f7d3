"""Prospect lists read from CSV (the reader: tests/coalition/test_spreadsheets.py)."""

from signers.csv_import import parse_prospects


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
