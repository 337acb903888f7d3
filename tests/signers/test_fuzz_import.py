"""The signer CSV importer, fed what spreadsheets and people produce: every row
is imported, exactly as written, or none is and each bad line is reported.
Never a crash, never part of a file.
"""

import csv
import io

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st

from coalition.spreadsheets import FORMULA_TRIGGERS, csv_lines
from letters.models import Letter
from signers.exports import organiser_csv_rows
from signers.importing import SignatureImportError, read_signer_csv
from signers.models import Signature
from signers.names import clean_display_name
from signers.services.signatures import signature_import
from tests.factories import SignatureFactory
from tests.signers.strategies import FUZZ, TRICKY, field_text, rolled_back

pytestmark = pytest.mark.django_db

COLUMNS = [
    "organisation", "city", "country", "website", "contact_name", "email",
    "kind", "name",
]  # fmt: skip

# What a person may type in a cell: anything but control characters and
# direction overrides (the forms refuse those), spreadsheet formulas included.
typed = st.text(
    st.characters(
        exclude_categories=["Cc", "Cs"],
        exclude_characters="\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
    ),
    max_size=60,
)
formula = st.sampled_from(
    [t for t in TRICKY if t.startswith(FORMULA_TRIGGERS) and t.isprintable()]
)
websites = st.sampled_from(
    ["", "example.org", "https://example.org/a?b=c;d", "http://例え.jp/", "EXAMPLE.ORG"]
)
KINDS = {"": "organisation", "organisation": "organisation", "Individual": "individual"}


@st.composite
def good_rows(draw):
    """Rows that each import on their own, unique within the file."""
    rows = []
    for i in range(draw(st.integers(min_value=1, max_value=6))):
        kind = draw(st.sampled_from(sorted(KINDS)))
        # The number first keeps names apart however they fold and truncate.
        name = f"{i} {draw(st.one_of(typed, formula))}"
        rows.append(
            {
                "organisation": name if KINDS[kind] == "organisation" else "",
                "name": name if KINDS[kind] == "individual" else "",
                "kind": kind,
                "city": draw(st.one_of(typed, formula)),
                "country": draw(typed),
                "website": draw(websites) if KINDS[kind] == "organisation" else "",
                "contact_name": draw(st.one_of(typed, formula)),
                "email": draw(
                    st.sampled_from(["p{}@example.org", "P{}@Example.ORG"])
                ).format(i),
            }
        )
    return rows


@st.composite
def spreadsheets(draw, rows):
    """``rows`` written the ways spreadsheets write CSV: any delimiter,
    quoting and line ending, columns in any order and spelling, with or
    without a byte-order mark, and with columns the importer does not know."""
    columns = draw(st.permutations(COLUMNS))
    spelled = [
        draw(st.sampled_from([c, c.upper(), f" {c.title()} ", c.replace("_", " ")]))
        for c in columns
    ]
    extra = draw(st.lists(st.sampled_from(["notes", "Phone", ""]), max_size=2))
    out = io.StringIO()
    writer = csv.writer(
        out,
        delimiter=draw(st.sampled_from([",", ";", "\t"])),
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
        lineterminator=draw(st.sampled_from(["\r\n", "\n", "\r"])),
    )
    writer.writerow(spelled + extra)
    for row in rows:
        writer.writerow([row[c] for c in columns] + [draw(typed) for _ in extra])
    return draw(st.sampled_from(["", "\ufeff"])) + out.getvalue()


def one_line(value):
    return " ".join(value.split())


@pytest.fixture
def both_kinds(letter):
    letter.signer_kinds = Letter.SignerKinds.BOTH
    letter.save()
    return letter


def row(**cells):
    return dict.fromkeys(COLUMNS, "") | cells


HEADER = ",".join(COLUMNS)
# Found by this property: the reader crashed on the lone \r line endings of
# older spreadsheets, and guessing the quoting from the data read a doubled
# quote as two quotes.
OLD_MAC_FILE = (
    [row(organisation="0 Mac", email="p0@example.org")],
    f"{HEADER}\r0 Mac,,,,,p0@example.org,,\r",
)
QUOTE_AND_DELIMITER_IN_A_CELL = (
    [row(organisation="0 A", city='"0;', email="p0@example.org")],
    HEADER.replace(",", ";") + '\r\n"0 A";"""0;";;;;p0@example.org;;\r\n',
)


def test_a_spreadsheet_of_good_rows_imports_exactly_what_it_says(both_kinds):
    @FUZZ
    @given(
        good_rows().flatmap(lambda rows: st.tuples(st.just(rows), spreadsheets(rows)))
    )
    @example(OLD_MAC_FILE)
    @example(QUOTE_AND_DELIMITER_IN_A_CELL)
    def run(rows_and_text):
        rows, text = rows_and_text
        with rolled_back():
            assert signature_import(
                letter=both_kinds, rows=read_signer_csv(text.encode())
            ) == len(rows)
            for row in rows:
                saved = Signature.objects.get(email=row["email"].lower())
                individual = KINDS[row["kind"]] == "individual"
                assert saved.kind == KINDS[row["kind"]]
                # Stored as names are: without invisible characters (a soft
                # hyphen) that hide nothing but a difference.
                assert saved.display_name == clean_display_name(
                    row["name"] if individual else row["organisation"]
                )
                assert saved.city == one_line(row["city"])
                assert saved.country == one_line(row["country"])
                assert saved.contact_name == one_line(row["contact_name"])
                website = forms.URLField(assume_scheme="https", required=False)
                assert saved.website == website.clean(row["website"])
                assert saved.status == Signature.Status.CONFIRMED
            # What was typed is kept, and never runs in the organisers' spreadsheet.
            written = "".join(csv_lines(organiser_csv_rows(letter=both_kinds)))
            for cells in list(csv.reader(io.StringIO(written)))[1:]:
                assert not any(
                    c.lstrip(" ").startswith(FORMULA_TRIGGERS) for c in cells
                )

    run()


def assert_whole_or_nothing(letter, attempt):
    """``attempt()`` imports every row it read, or none and says why."""
    before = list(Signature.objects.order_by("pk").values())
    try:
        rows = attempt()
    except SignatureImportError as exc:
        assert exc.errors
        assert all(line >= 0 and messages for line, messages in exc.errors.items())
        assert all(isinstance(line, str) and line for line in exc.report())
        assert list(Signature.objects.order_by("pk").values()) == before
        return False
    imported = Signature.objects.filter(letter=letter).exclude(
        pk__in=[v["id"] for v in before]
    )
    assert imported.count() == len(rows)
    assert {s.email for s in imported} == {r.fields["email"] for r in rows}
    return True


def mangled(text):
    """A file after careless hands: cut, doubled, quotes unbalanced, cells of
    anything at all."""
    return st.one_of(
        st.just(text),
        st.integers(0, len(text)).map(lambda n: text[:n]),
        field_text.map(lambda s: text + s),
        st.sampled_from(['"', '",', "\x00"]).map(lambda s: text.replace(",", s)),
        field_text.map(lambda s: text.replace("@", s, 1)),
    )


def any_csv_text():
    header = ",".join(COLUMNS) + "\n"
    cells = st.lists(st.lists(field_text, max_size=9), max_size=4)
    written = cells.map(
        lambda rows: header + "".join(",".join(map(str, r)) + "\n" for r in rows)
    )
    good = good_rows().flatmap(spreadsheets)
    return st.one_of(st.text(max_size=500), written, good).flatmap(mangled)


def test_any_text_is_imported_whole_or_refused_line_by_line(both_kinds):
    # An organisation that has signed already: a row naming it is an error.
    SignatureFactory(
        letter=both_kinds, display_name="1 Already", email="p0@example.org"
    )

    @FUZZ
    @given(any_csv_text())
    @example("\r0")
    @example(f'{HEADER}\n"unclosed,' + "x" * 200_000)
    @example('"organisation,' + "x" * 200_000)
    def run(text):
        with rolled_back():

            def attempt():
                rows = read_signer_csv(text.encode())
                signature_import(letter=both_kinds, rows=rows)
                return rows

            assert_whole_or_nothing(both_kinds, attempt)

    run()


ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "latin-1", "cp1252"]


def file_bytes():
    encoded = st.tuples(good_rows().flatmap(spreadsheets), st.sampled_from(ENCODINGS))
    return st.one_of(
        encoded.map(lambda te: te[0].encode(te[1], errors="replace")),
        st.binary(max_size=1000),
        st.just(b"\xef\xbb\xbf\xef\xbb\xbforganisation,email\r\nA,a@example.org\r\n"),
    )


def test_the_import_page_previews_any_upload_and_imports_it_whole_on_confirm(
    client, organiser, both_kinds
):
    client.force_login(organiser)
    url = reverse("signers:signature-import", args=[both_kinds.slug])

    @FUZZ
    @given(file_bytes())
    def run(data):
        with rolled_back():
            before = Signature.objects.count()
            upload = SimpleUploadedFile("signers.csv", data, content_type="text/csv")
            response = client.post(url, {"file": upload})
            assert response.status_code == 200
            assert Signature.objects.count() == before
            preview = response.context.get("preview")
            if preview is None:
                assert response.context["upload"].errors
                return
            assert preview.rows or preview.problems
            if not preview.can_import:
                assert "confirm" not in response.context
                return
            payload = response.context["confirm"].initial["payload"]
            # What the preview offers imports, exactly.
            assert client.post(url, {"payload": payload}).status_code == 302
            assert Signature.objects.count() == before + len(preview.rows)

    run()


def test_the_import_command_imports_any_file_whole_or_says_nothing_was_imported(
    tmp_path, both_kinds
):
    path = tmp_path / "signers.csv"

    @FUZZ
    @given(file_bytes())
    def run(data):
        path.write_bytes(data)
        with rolled_back():
            before = Signature.objects.count()
            out, err = io.StringIO(), io.StringIO()
            try:
                call_command(
                    "import_signers", both_kinds.slug, str(path), stdout=out, stderr=err
                )
            except CommandError:
                assert Signature.objects.count() == before
            else:
                assert "Imported" in out.getvalue()
                assert Signature.objects.count() > before

    run()
