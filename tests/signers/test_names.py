import pytest
from django.core.exceptions import ValidationError
from hypothesis import assume, given
from hypothesis import strategies as st

from signers.models import Signature
from signers.names import (
    clean_display_name,
    clean_email,
    name_keys,
    normalise_name,
    skeleton_name,
    sort_name,
)
from tests.signers.helpers import sign
from tests.signers.strategies import (
    FUZZ,
    organisation_names,
    rolled_back,
    with_ignorables,
    with_one_confusable,
)

# (display name, the plain spelling it is the same organisation as, which is
# also what it sorts by): case, accents, articles, punctuation.
NORMALISED = [
    ("The Sierra Club", "sierra club"),
    ("sierra-club", "sierra club"),
    ("  SIERRA   club ", "sierra club"),
    ("Les Amis de la Terre", "amis de la terre"),
    ("L'Association Écologique", "association ecologique"),
    ("L\u2019Union des Voisins", "union des voisins"),
    ("La Vía Campesina Local", "via campesina local"),
    ("Le Réseau", "reseau"),
    ("El Niño Collective", "nino collective"),
    ("Los Vecinos", "vecinos"),
    ("Las Madres", "madres"),
    ("Die Grünen Radler", "grunen radler"),
    ("Der Runde Tisch", "runde tisch"),
    ("Das Netzwerk", "netzwerk"),
    ("De Groene Stad", "groene stad"),
    ("Het Buurthuis", "buurthuis"),
    ("A Better Street", "better street"),
    ("An Cumann Glas", "cumann glas"),
    ('"The" Residents', "residents"),
    ("A.C.L.U.", "aclu"),
    ("St. Mary's Parish", "st marys parish"),
    ("Straße der Jugend", "strasse der jugend"),
    ("Øresund Cyklister", "oresund cyklister"),
    ("Łódź Rowerowa", "lodz rowerowa"),
    ("\uff21\uff22\uff23 \uff26\uff55\uff4c\uff4c", "abc full"),  # full width
    ("Ann Arbor Tenants", "ann arbor tenants"),  # "Ann" is not "An"
    ("Theatre Collective", "theatre collective"),  # "The" must be a word
    ("Москва Зелёная", "москва зелёная"),  # other scripts sort with their marks
    ("भारत हरित", "भारत हरित"),
    ("東京グリーン", "東京グリーン"),
    ("350.org", "350org"),
    ("The", "the"),  # nothing but an article stays itself
    ("!!!", "!!!"),
]


@pytest.mark.parametrize(("display", "plain"), NORMALISED)
def test_normalise_name_folds_case_accents_articles_and_punctuation(display, plain):
    assert normalise_name(display) == normalise_name(plain)
    assert sort_name(display) == sort_name(plain)


@pytest.mark.parametrize(("display", "plain"), NORMALISED[:-1])
def test_sort_name_stays_readable(display, plain):
    assert sort_name(display) == sort_name(plain, strip_article=False)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Sierra Club", "Sierra Clubs"),
        ("Local 9", "Local 10"),
        ("Москва Зелёная", "Москва Синяя"),
        ("東京グリーン", "大阪グリーン"),
        ("Friends of the Park", "Friends of the Parks Trust"),
        ("The", "A"),
    ],
)
def test_different_organisations_keep_different_keys(one, other):
    assert normalise_name(one) != normalise_name(other)
    assert skeleton_name(one) != skeleton_name(other)


# The same organisation, written to look the same with characters that are
# not the same: each pair must share a duplicate key.
LOOK_ALIKES = [
    ("Sierra Club", "Sierra\u200b Club"),  # zero-width space
    ("Sierra Club", "Sier\u00adra Club"),  # soft hyphen
    ("Sierra Club", "Sierra\ufe0f Club"),  # variation selector
    ("Sierra Club", "Sierra\U000e0101 Club"),  # ideographic variation selector
    ("Sierra Club", "Sierra Club\u3164"),  # Hangul filler after the name
    ("Sierra Club", "Sierra\u3164Club"),  # Hangul filler for the space
    ("Sierra Club", "Sierra\u00a0Club"),  # no-break space
    ("Sierra Club", "Sierra\u2060 Club\u2060"),  # word joiner
    ("Sierra Club", "\u202eSierra Club\u202c"),  # bidi override
    ("Sierra Club", "S\u0456erra Club"),  # Cyrillic i
    ("Sierra Club", "Sierr\u0430 \u0421lub"),  # Cyrillic a and capital Es
    ("Sierra Club", "Sierra C\u217cub"),  # small Roman numeral fifty
    ("The Sierra Club", "\u0422he Sierra Club"),  # Cyrillic capital Te
    ("SIERRA CLUB", "SlERRA CLUB"),  # a lower-case L for the I
    ("THE SIERRA CLUB", "\u0422\u041d\u0415 SIERRA CLUB"),  # Cyrillic capitals
    ("Modern Families", "Modem Families"),  # "rn" and "m"
    ("350.org", "35O.org"),  # a letter O for the zero
    ("Ufo Club", "U\u017fo Club"),  # long s
    ("\uff21\uff22\uff23 Full", "ABC Full"),  # fullwidth
]


@pytest.mark.parametrize(("real", "fake"), LOOK_ALIKES)
def test_look_alikes_share_a_duplicate_key(real, fake):
    assert set(name_keys(real)) & set(name_keys(fake))


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Sierra\u200b Club\u00ad", "Sierra Club"),
        ("Sierra\u3164Club", "Sierra Club"),
        ("Sierra\u00a0\u2003Club", "Sierra Club"),
        ("\u202eSierra Club\u202c\u200e", "Sierra Club"),
        ("Sierra\ufe0f\U000e0101 Club", "Sierra Club"),
        ("Cafe\u0301 Rouge", "Caf\u00e9 Rouge"),  # composed, not changed
        ("\uff21\uff22\uff23 Full", "\uff21\uff22\uff23 Full"),  # as typed
        ("S\u0456erra Club", "S\u0456erra Club"),  # shown as typed, keyed alike
        ("a\x00b\x07c", "a b c"),
    ],
)
def test_stored_names_lose_invisible_characters_only(typed, stored):
    assert clean_display_name(typed) == stored


@pytest.mark.parametrize(
    "name",
    [
        "\U0001f3f3\ufe0f\u200d\U0001f308 Pride",  # an emoji ZWJ sequence
        "\U0001f469\U0001f3fd\u200d\U0001f52c Lab",  # with a skin tone
        "#\ufe0f\u20e3 Hashtag Club",  # a keycap
        "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f Scots",
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian ZWNJ
        "\u0915\u094d\u200d\u0937",  # Devanagari half form
        "\u845b\U000e0100 Tea House",  # an ideographic variant
    ],
)
def test_invisible_characters_that_change_the_glyphs_stay(name):
    assert clean_display_name(name) == name


def test_a_name_of_invisible_characters_only_is_empty():
    assert clean_display_name("\u200b\u00ad\u3164 \u2060") == ""


def test_email_addresses_lose_invisible_characters_and_case():
    assert clean_email(" Chair@Exa\u00admple.ORG\u200b ") == "chair@example.org"


def test_spellings_of_one_organisation_share_a_normalised_name():
    spellings = ["The Sierra Club", "Sierra Club", "SIERRA-CLUB", "sierra  club."]
    assert len({normalise_name(s) for s in spellings}) == 1


def test_public_list_order_ignores_case_accents_and_articles():
    names = [
        "Zebra Crossing Group",
        "The Youth Network",
        "Ärzte für Umwelt",
        "les amis du parc",
        "Local 10",
        "Local 9",
        "Бабушки за климат",
        "350 Parents",
        "Éco-Quartier",
        "東京グリーン",
        "bicycle kitchen",
        "Die Grünen Radler",
    ]
    ordered = sorted(names, key=sort_name)
    assert ordered == [
        "350 Parents",  # digits first
        "les amis du parc",
        "Ärzte für Umwelt",
        "bicycle kitchen",
        "Éco-Quartier",
        "Die Grünen Radler",
        "Local 9",  # numbers by value
        "Local 10",
        "The Youth Network",
        "Zebra Crossing Group",
        "Бабушки за климат",  # other scripts after Latin, stably
        "東京グリーン",
    ]


def test_sort_name_is_stable_across_calls():
    assert sort_name("Les Amis du Parc") == sort_name("Les Amis du Parc")


def test_organisers_own_sort_name_keeps_its_first_word():
    assert sort_name("The The", strip_article=False) == "the the"
    assert sort_name("Ärzte", strip_article=False) == "arzte"


# --- Through signing: a look-alike of a signed name is refused -----------------


def _refused_as_already_signed(letter, name, look_alike, source):
    first = sign(letter, display_name=name, email="first@example.org")
    with pytest.raises(ValidationError) as exc:
        sign(
            letter,
            source=source,
            display_name=look_alike,
            email="second@example.org",
        )
    assert exc.value.code == "duplicate"
    assert "already signed" in exc.value.messages[0]
    assert list(Signature.objects.values_list("pk", flat=True)) == [first.pk]


SOURCES = st.sampled_from([Signature.Source.OPEN_JOIN, Signature.Source.IMPORT])


@pytest.mark.django_db
def test_any_insertion_of_invisible_characters_is_refused_as_already_signed(
    open_letter,
):
    @FUZZ
    @given(st.data())
    def attempt(data):
        name = data.draw(organisation_names)
        look_alike = data.draw(with_ignorables(name))
        with rolled_back():
            _refused_as_already_signed(
                open_letter, name, look_alike, data.draw(SOURCES)
            )

    attempt()


@pytest.mark.django_db
def test_any_single_confusable_swap_is_refused_as_already_signed(open_letter):
    @FUZZ
    @given(st.data())
    def attempt(data):
        name = data.draw(organisation_names)
        look_alike = data.draw(with_one_confusable(name))
        assume(look_alike is not None)
        with rolled_back():
            _refused_as_already_signed(
                open_letter, name, look_alike, data.draw(SOURCES)
            )

    attempt()


@pytest.mark.django_db
@pytest.mark.parametrize(("real", "fake"), LOOK_ALIKES)
def test_each_known_look_alike_is_refused_as_already_signed(open_letter, real, fake):
    _refused_as_already_signed(open_letter, real, fake, Signature.Source.OPEN_JOIN)


@pytest.mark.django_db
def test_a_signed_name_is_stored_without_its_invisible_characters(open_letter):
    signature = sign(open_letter, display_name="\u200bSierra\u00ad Club\u3164")

    assert signature.display_name == "Sierra Club"
    assert signature.sort_name == "sierra club"
