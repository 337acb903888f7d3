import pytest

from signers.names import normalise_name, sort_name

# (display name, normalised name): case, accents, articles, punctuation.
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
    ("Москва Зелёная", "москва зелёная"),  # other scripts keep their marks
    ("भारत हरित", "भारत हरित"),
    ("東京グリーン", "東京グリーン"),
    ("350.org", "350org"),
    ("The", "the"),  # nothing but an article stays itself
    ("!!!", "!!!"),
]


@pytest.mark.parametrize(("display", "expected"), NORMALISED)
def test_normalise_name_folds_case_accents_articles_and_punctuation(display, expected):
    assert normalise_name(display) == expected


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
