import pytest
from django.core.management import CommandError, call_command

from coalition.outbox.models import OutboxMessage
from signers.models import Signature
from tests.signers.helpers import sign

pytestmark = pytest.mark.django_db

HEADER = "organisation,city,country,website,contact_name,email,kind,name\n"


def write(tmp_path, text, encoding="utf-8"):
    path = tmp_path / "signers.csv"
    path.write_text(text, encoding=encoding)
    return path


def test_import_confirms_every_row_on_the_current_revision_without_email(
    tmp_path, letter
):
    path = write(
        tmp_path,
        HEADER
        + "Les Amis du Parc,Lyon,France,amis.example.org,Zoé,zoe@amis.example.org,,\n"
        + "University of Leeds,Leeds,UK,,,ada@example.org,individual,Ada Lovelace\n",
        encoding="utf-8-sig",
    )
    letter.signer_kinds = "both"
    letter.save()

    call_command("import_signers", letter.slug, str(path))

    ada, amis = Signature.objects.order_by("kind")
    assert amis.display_name == "Les Amis du Parc"
    assert amis.sort_name == "amis du parc"
    assert amis.website == "https://amis.example.org"
    assert ada.kind == Signature.Kind.INDIVIDUAL
    assert ada.affiliation == "University of Leeds"
    for signature in (amis, ada):
        assert signature.status == Signature.Status.CONFIRMED
        assert signature.source == Signature.Source.IMPORT
        assert signature.revision == letter.current_revision
    assert not OutboxMessage.objects.exists()


def test_import_with_any_bad_row_imports_nothing_and_reports_each_line(
    tmp_path, letter, capsys
):
    sign(letter, display_name="Already Here", email="here@example.org")
    path = write(
        tmp_path,
        "organisation;city;country;website;contact_name;email\n"
        "Good Org;Leeds;UK;;Ann;ann@example.org\n"
        "Bad Email;Leeds;UK;;Bob;bob-at-example\n"
        "The Already Here;Leeds;UK;;Cy;cy@example.org\n"
        "good org;York;UK;;Di;di@example.org\n"
        f"{'N' * 300};York;UK;;Ed;ed@example.org\n",
    )

    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_signers", letter.slug, str(path))

    err = capsys.readouterr().err
    assert "Line 3: email: Enter a valid email address." in err
    assert "Line 4: The Already Here, or a name that looks the same, has" in err
    assert "Line 5: The same organisation as line 2." in err
    assert "Line 6: organisation: Ensure this value has at most 200" in err
    assert "Line 2" not in err
    assert Signature.objects.count() == 1


def test_import_refuses_a_file_without_the_needed_columns(tmp_path, letter):
    path = write(tmp_path, "name,town\nA,B\n")
    with pytest.raises(CommandError):
        call_command("import_signers", letter.slug, str(path))
    assert not Signature.objects.exists()


def test_import_into_an_unknown_letter_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="No letter"):
        call_command("import_signers", "nope", str(write(tmp_path, HEADER)))


@pytest.mark.parametrize(
    "tail", ["Third,York,UK,,Cy,cy@example.org,,\n", "x" * 200_000]
)
def test_a_quote_left_open_is_reported_at_the_line_it_opens_and_nothing_imported(
    tmp_path, letter, capsys, tail
):
    path = write(
        tmp_path,
        HEADER
        + '"Good\nOrg",Leeds,UK,,Ann,ann@example.org,,\n'
        + 'Second,Leeds,"UK,,Bob,bob@example.org,,\n'
        + tail,
    )

    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_signers", letter.slug, str(path))

    assert "A quote opened on line 4 is never closed" in capsys.readouterr().err
    assert not Signature.objects.exists()


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path, letter, settings):
    settings.IMPORT_MAX_BYTES = 100
    path = write(tmp_path, HEADER + "Good Org,Leeds,UK,,Ann,ann@example.org,,\n" * 3)

    with pytest.raises(CommandError, match="The file is larger than 100"):
        call_command("import_signers", letter.slug, str(path))

    assert not Signature.objects.exists()


def test_a_file_past_the_row_limit_imports_nothing(tmp_path, letter, settings, capsys):
    settings.IMPORT_MAX_ROWS = 2
    rows = "".join(f"Org {n},Leeds,UK,,Ann,o{n}@example.org,,\n" for n in range(3))

    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_signers", letter.slug, str(write(tmp_path, HEADER + rows)))

    assert "The file has more than 2 rows" in capsys.readouterr().err
    assert not Signature.objects.exists()


def test_a_nul_character_is_reported_at_its_line(tmp_path, letter, capsys):
    path = tmp_path / "signers.csv"
    path.write_bytes(HEADER.encode() + b"Org,Le\x00eds,UK,,Ann,ann@example.org,,\n")

    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_signers", letter.slug, str(path))

    assert "Line 2 contains a NUL character" in capsys.readouterr().err
    assert not Signature.objects.exists()


def test_cells_with_quotes_and_delimiters_keep_what_was_typed(tmp_path, letter):
    path = write(
        tmp_path,
        "organisation;email;city\r\n"
        '"Friends ""of"" the Park";ann@example.org;"Leeds ""West; North"""\r\n',
    )

    call_command("import_signers", letter.slug, str(path))

    signature = Signature.objects.get()
    assert signature.display_name == 'Friends "of" the Park'
    assert signature.city == 'Leeds "West; North"'
