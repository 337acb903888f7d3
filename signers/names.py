"""Sort names and normalised names for signers.

Both fold case, Latin accents and a leading article in the languages the site
supports, so "The Sierra Club", "sierra club" and "Sierra-Club" are one
organisation and "Les Amis de la Terre" sorts under A. Scripts other than Latin
are kept as they are (their combining marks carry meaning), and digits stay, so
such names sort after Latin ones in a stable, code-point order.
"""

import re
import unicodedata
from typing import Final

ARTICLES: Final = (
    "the", "a", "an", "la", "le", "les", "el", "los", "las",
    "die", "der", "das", "de", "het",
)  # fmt: skip

# Letters that Unicode does not decompose into a base letter and an accent.
_LETTERS: Final = str.maketrans(
    {
        "ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d", "ł": "l",
        "\u0131": "i", "þ": "th", "ħ": "h", "ŧ": "t",
    }
)  # fmt: skip
_APOSTROPHES: Final = str.maketrans(
    {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"}
)
_LEADING_ARTICLE: Final = re.compile(
    r"^(?:(?:" + "|".join(ARTICLES) + r")\s+|l'\s*(?=\w))"
)
_DIGITS: Final = re.compile(r"\d+")
# Numbers sort by value ("Local 9" before "Local 10") when padded to this width.
_NUMBER_WIDTH: Final = 8
MAX_LENGTH: Final = 200


def _is_latin(char: str) -> bool:
    return unicodedata.name(char, "").startswith("LATIN")


def _fold(text: str) -> str:
    """Lower case without Latin accents; other scripts untouched."""
    out: list[str] = []
    for char in unicodedata.normalize("NFKD", text):
        # A combining mark after a Latin letter is an accent: drop it.
        if unicodedata.combining(char) and out and _is_latin(out[-1]):
            continue
        out.append(char)
    folded = "".join(out).casefold().translate(_LETTERS)
    return unicodedata.normalize("NFC", folded)


def _spaced(text: str, *, keep: str) -> str:
    """Punctuation, symbols and control characters become spaces (except those
    in ``keep``); whitespace collapses."""
    chars = [
        " " if char not in keep and unicodedata.category(char)[0] in "PSZC" else char
        for char in text
    ]
    return " ".join("".join(chars).split())


def normalise_name(display: str) -> str:
    """The key that makes two spellings of one organisation the same signer."""
    # Apostrophes and dots stay until the article is gone ("L'", "A.C.L.U.").
    folded = _spaced(_fold(display).translate(_APOSTROPHES), keep="'.")
    stripped = _LEADING_ARTICLE.sub("", folded, count=1)
    # Then they join: "A.C.L.U." is "aclu", "St. Mary's" is "st marys".
    key = _spaced(stripped.replace("'", "").replace(".", ""), keep="")
    # A name made only of punctuation still needs a key of its own.
    return (key or folded or display.strip())[:MAX_LENGTH]


def sort_name(display: str, *, strip_article: bool = True) -> str:
    """What the public list is ordered by: the normalised name with numbers
    padded so that they sort by value.

    An organiser's own sort name keeps its first word (``strip_article=False``):
    "the the" is what they typed for a band called The The.
    """
    if strip_article:
        key = normalise_name(display)
    else:
        key = _spaced(_fold(display).replace("'", "").replace(".", ""), keep="")
    return _DIGITS.sub(lambda m: m.group().zfill(_NUMBER_WIDTH), key)[:MAX_LENGTH]
