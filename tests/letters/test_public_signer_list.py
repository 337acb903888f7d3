import pytest
from django.urls import reverse

from letters.models import Letter
from signers.models import Signature
from signers.selectors.public import signature_counts_public, signature_list_public
from tests.letters.public_fixtures import published_letter, sign

pytestmark = pytest.mark.django_db

# (display name, sort name as the signing service stores it: case, Latin
# accents, punctuation and leading articles folded, numbers zero-padded), in the
# expected order: numbers first, then A-Z, then other scripts by code point;
# equal sort names keep signing order.
TRICKY = [
    ("3rd Avenue Tenants", "00000003rd avenue tenants"),
    ("10 Downing Street Residents", "00000010 downing street residents"),
    ("amnesty local", "amnesty local"),
    ("Ärzte für Luft", "arzte fur luft"),
    ("Bank of Ideas", "bank of ideas"),
    ("The Bank of Ideas", "bank of ideas"),
    ("La Bicicleta", "bicicleta"),
    ("The Cyclists", "cyclists"),
    ("Émile Zola Society", "emile zola society"),
    ("Die Radler", "radler"),
    ("zebra crossing club", "zebra crossing club"),
    ("Δέλτα Ομάδα", "δέλτα ομάδα"),
    ("Ёлка Клуб", "ёлка клуб"),
    ("東京ユニオン", "東京ユニオン"),
]


def signed_in_shuffled_order(letter):
    # Sign in an order unrelated to the expected one (and not alphabetical).
    order = [7, 12, 0, 5, 10, 3, 13, 1, 4, 8, 11, 2, 9, 6]
    for i in order:
        sign(letter, *TRICKY[i])
    return [TRICKY[i][0] for i in range(len(TRICKY))]


def test_tricky_names_are_listed_by_sort_name_then_signing_order():
    letter = published_letter()
    expected = signed_in_shuffled_order(letter)
    # The two "Bank of Ideas" share a sort name: the earlier signature first.
    first_bank = Signature.objects.get(display_name="Bank of Ideas")
    second_bank = Signature.objects.get(display_name="The Bank of Ideas")
    if first_bank.pk > second_bank.pk:
        expected[4], expected[5] = expected[5], expected[4]

    names = [s.display_name for s in signature_list_public(letter=letter)]

    assert names == expected


def test_page_lists_tricky_names_in_order_with_digit_and_other_script_groups(client):
    letter = published_letter()
    signed_in_shuffled_order(letter)
    for n in range(30):
        sign(letter, f"Maple Group {n:02d}")

    html = client.get(reverse("signers:public", args=[letter.slug])).content.decode()

    listed = [name for name, _ in TRICKY if name != "The Bank of Ideas"]
    positions = [html.index(f">{name}<") for name in listed]
    assert positions == sorted(positions)
    assert '<a href="#az-org-0">#</a>' in html
    assert '<a href="#az-org-other">Other</a>' in html
    assert html.index('id="az-org-other"') < html.index("Δέλτα Ομάδα")
    assert html.index('id="az-org-z"') < html.index("zebra crossing club")


def test_list_has_only_public_fields_loaded():
    letter = published_letter()
    sign(letter, "Alder Group", email="private@alder.example.org")

    signature = signature_list_public(letter=letter).get()

    assert signature.get_deferred_fields() >= {
        "email",
        "phone",
        "contact_name",
        "contact_title",
        "comment",
        "created_at",
        "confirmed_at",
    }


def test_organisations_come_before_individuals():
    letter = published_letter(signer_kinds=Letter.SignerKinds.BOTH)
    sign(letter, "Zoe Individual", kind=Signature.Kind.INDIVIDUAL)
    sign(letter, "Alder Group")
    sign(letter, "Aaron Individual", kind=Signature.Kind.INDIVIDUAL)
    sign(letter, "Zebra Group")

    names = [s.display_name for s in signature_list_public(letter=letter)]

    assert names == ["Alder Group", "Zebra Group", "Aaron Individual", "Zoe Individual"]


def test_counts_include_unlisted_confirmed_signers_only():
    letter = published_letter()
    sign(letter, "Listed")
    sign(letter, "Unlisted", consent_listed=False)
    sign(letter, "Pending", status=Signature.Status.PENDING, consent_listed=False)

    counts = signature_counts_public(letter=letter)

    assert (counts.signers, counts.unlisted) == (2, 1)
