"""The organisers' signer import through its page: upload, a preview that
writes nothing, then a confirm that imports the signed file, all rows or none;
and the column names people write, shared with the prospect import."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from letters.models import Letter
from signers.columns import header_key, match_columns
from signers.csv_import import parse_prospects
from signers.forms.outreach import ProspectImportConfirmForm
from signers.importing import read_signer_file
from signers.models import Signature
from tests.signers.helpers import sign

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("E-mail", "email"),
        (" e_mail ", "email"),
        ("Émail", "email"),
        ("Name of organisation", "nameoforganisation"),
        ("Web site", "website"),
        ("ORGANISATION\N{RIGHT SINGLE QUOTATION MARK}S NAME", "organisationsname"),
    ],
)
def test_header_keys_ignore_case_spaces_punctuation_and_accents(written, key):
    assert header_key(written) == key


@pytest.mark.parametrize(
    ("written", "field"),
    [
        ("Organisation", "organisation"),
        ("Organization", "organisation"),
        ("Org", "organisation"),
        ("Name of organisation", "organisation"),
        ("E-mail", "email"),
        ("Email address", "email"),
        ("Contact", "contact_name"),
        ("Contact person", "contact_name"),
        ("Country", "country"),
        ("City", "city"),
        ("Town", "city"),
        ("Website", "website"),
        ("URL", "website"),
        ("Web site", "website"),
    ],
)
def test_the_column_names_people_write_are_recognised(written, field):
    every = ["organisation", "email", "contact_name", "country", "city", "website"]

    assert match_columns([written], every).fields == [field]


def test_the_first_column_for_a_field_wins_and_the_others_are_not_read():
    columns = match_columns(["Email", "E-mail", "Phone", ""], ["email"])

    assert columns.fields == ["email", None, None, None]
    assert columns.ignored == ["E-mail", "Phone"]


def test_the_signer_import_reads_synonyms_in_any_order():
    data = (
        "Town;E-mail address;Name of organisation;Web site;Contact person;Pays\n"
        "Lyon;ZOE@amis.example.org;Les Amis du Parc;amis.example.org;Zoé;France\n"
    ).encode()

    parsed = read_signer_file(data)

    (row,) = parsed.rows
    assert not row.errors
    assert row.fields | {"kind": "organisation"} == row.fields
    assert row.fields["display_name"] == "Les Amis du Parc"
    assert row.fields["email"] == "zoe@amis.example.org"
    assert row.fields["city"] == "Lyon"
    assert row.fields["country"] == "France"
    assert row.fields["website"] == "https://amis.example.org"
    assert row.fields["contact_name"] == "Zoé"
    assert parsed.columns.ignored == []


def test_the_prospect_import_reads_the_same_synonyms():
    parsed = parse_prospects(
        b"Organization,Email address,Contact person,Town\nAmis,a@example.org,Zoe,Lyon\n"
    )

    (row,) = parsed.rows
    assert (row.organisation, row.email, row.contact_name) == (
        "Amis",
        "a@example.org",
        "Zoe",
    )
    assert parsed.ignored_columns == ["Town"]
    assert ("Contact person", "Contact") in parsed.recognised_columns


# --- The page -----------------------------------------------------------------


def url(letter):
    return reverse("signers:signature-import", args=[letter.slug])


def upload(client, letter, data: bytes):
    return client.post(url(letter), {"file": SimpleUploadedFile("s.csv", data)})


FILE = (
    b"Organisation,E-mail,City,Kind,Name\n"
    b"Les Amis du Parc,zoe@amis.example.org,Lyon,,\n"
    b"University of Leeds,ada@example.org,Leeds,Individual,Ada Lovelace\n"
)


@pytest.fixture
def both_kinds(letter, client, organiser):
    letter.signer_kinds = Letter.SignerKinds.BOTH
    letter.save()
    client.force_login(organiser)
    return letter


def test_the_preview_shows_rows_and_columns_and_writes_nothing(client, both_kinds):
    response = upload(client, both_kinds, FILE)

    page = response.content.decode()
    assert response.status_code == 200
    assert "2 signers to add" in page
    assert "Les Amis du Parc" in page and "Ada Lovelace" in page
    assert "“E-mail” as Email" in page
    assert 'data-label="Email"' in page
    assert "Import 2 signers" in page
    assert not Signature.objects.exists()


def test_confirming_imports_the_previewed_file(client, both_kinds):
    preview = upload(client, both_kinds, FILE)
    payload = preview.context["confirm"].initial["payload"]

    response = client.post(url(both_kinds), {"payload": payload})

    assert response.status_code == 302
    ada, amis = Signature.objects.order_by("kind")
    assert (amis.display_name, amis.kind) == ("Les Amis du Parc", "organisation")
    assert ada.display_name == "Ada Lovelace"
    assert ada.affiliation == "University of Leeds"
    assert {ada.status, amis.status} == {Signature.Status.CONFIRMED}


def test_a_crafted_or_foreign_payload_imports_nothing(client, both_kinds):
    preview = upload(client, both_kinds, FILE)
    payload = preview.context["confirm"].initial["payload"]
    forged = payload[:-3] + ("abc" if not payload.endswith("abc") else "xyz")
    # A prospect preview's signed file is not a signer import's.
    foreign = ProspectImportConfirmForm.payload_for(FILE)

    for value in (forged, foreign, ""):
        response = client.post(url(both_kinds), {"payload": value})
        assert "The preview expired" in response.content.decode()

    assert not Signature.objects.exists()


def test_the_confirm_checks_the_file_again(client, both_kinds):
    preview = upload(client, both_kinds, FILE)
    payload = preview.context["confirm"].initial["payload"]
    sign(both_kinds, display_name="Les Amis du Parc", email="other@example.org")

    response = client.post(url(both_kinds), {"payload": payload})

    page = response.content.decode()
    assert "Nothing was imported" in page
    assert "Line 2:" in page
    assert Signature.objects.count() == 1


def test_the_preview_lists_each_row_with_a_problem_and_offers_no_import(
    client, letter, organiser
):
    client.force_login(organiser)
    sign(letter, display_name="Already Here", email="here@example.org")
    data = (
        b"organisation,email,kind,name\n"
        b"Good Org,ann@example.org,,\n"
        b"Bad Email,bob-at-example,,\n"
        b"The Already Here,cy@example.org,,\n"
        b"Uni,di@example.org,individual,Di\n"
    )

    response = upload(client, letter, data)

    page = response.content.decode()
    assert "1 signer to add" in page and "3 lines with problems" in page
    assert "Line 3: email: Enter a valid email address." in page
    assert "Line 4: The Already Here, or a name that looks the same" in page
    assert "Line 5: This letter is signed by organisations only." in page
    assert "confirm" not in response.context
    assert Signature.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Organisation,Phone\nA,1\n", "No column for: Email."),
        (b"Email,Phone\na@example.org,1\n", "No column for: Organisation or Name."),
        (b"", "The submitted file is empty."),
        (b"\n", "No column for: Email, Organisation or Name."),
        (b"Organisation,Email\n", "The file has no rows to import."),
        ("Organisation,Email\nCafé,a@b.org\n".encode("utf-16"), "NUL character"),
    ],
)
def test_a_bad_file_says_what_is_wrong(client, both_kinds, data, message):
    response = upload(client, both_kinds, data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert "confirm" not in response.context
    assert not Signature.objects.exists()
