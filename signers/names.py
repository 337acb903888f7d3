"""Display names, sort names and duplicate keys for signers.

A name is stored as typed, less the characters nobody can see (zero-width
spaces, soft hyphens, stray variation selectors, fillers, direction marks),
which are kept only where they change what a script or an emoji shows.

Two keys make two spellings of one organisation the same signer; a second
live signature may share neither:

- ``normalise_name`` folds case, Latin accents and a leading article in the
  languages the site supports ("The Sierra Club", "sierra club" and
  "Sierra-Club" are one organisation), after the text's look-alike skeleton
  (Unicode TS #39): a Cyrillic "a" is a Latin one, "rn" is "m".
- ``skeleton_name`` takes the skeleton before folding case, so look-alikes
  that only hold in one case ("SIERRA" with a lower-case L for the I, "THE"
  spelt in Cyrillic capitals) are one name too.

The sort name is readable: it folds like the first key but keeps every
script's own letters, so "Les Amis de la Terre" sorts under A, and names in
other scripts sort after Latin ones in a stable, code-point order.
"""

import re
import unicodedata
from functools import cache
from typing import Final, NamedTuple

import regex
from confusable_homoglyphs.confusables import confusables_data

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
_QUOTE: Final = re.compile(r"(?<!\w)'|'(?!\w)")
_DIGITS: Final = re.compile(r"\d+")
# Numbers sort by value ("Local 9" before "Local 10") when padded to this width.
_NUMBER_WIDTH: Final = 8
MAX_LENGTH: Final = 200

_IGNORABLE: Final = regex.compile(r"\p{Default_Ignorable_Code_Point}")
_CONTROL: Final = regex.compile(r"\p{Cc}")
_PICTOGRAPH: Final = regex.compile(r"\p{Extended_Pictographic}")
_EMOJI_PART: Final = regex.compile(
    r"[\p{Extended_Pictographic}\p{Emoji_Modifier}\uFE0F]"
)
# Letters and marks of scripts in which a joiner changes the shapes shown
# (Arabic, the Indic scripts…); never Latin, Greek or Cyrillic.
_JOINING: Final = regex.compile(
    r"[\p{L}\p{M}--[\p{Latin}\p{Greek}\p{Cyrillic}\p{Common}\p{Inherited}]]",
    flags=regex.VERSION1,
)
# Scripts with their own variation selectors: CJK ideographs, Mongolian.
_VARIANT_BASE: Final = regex.compile(r"[\p{Han}\p{Mongolian}]")
_ZWNJ, _ZWJ, _KEYCAP, _BLACK_FLAG = "\u200c", "\u200d", "\u20e3", "\U0001f3f4"
_BLANK_FILLERS: Final = str.maketrans({"\u3164": " ", "\uffa0": " "})


def _is(pattern: regex.Pattern[str], char: str) -> bool:
    return bool(char) and pattern.fullmatch(char) is not None


def _is_variation_selector(char: str) -> bool:
    code = ord(char)
    return (
        0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
        or 0x180B <= code <= 0x180F
    )


def _shows_something(text: str, i: int) -> bool:
    """Whether the invisible character at ``text[i]`` changes what is shown:
    a joiner inside an emoji sequence or between letters of a joining script,
    an emoji or keycap presentation selector, a variation of an ideograph, or
    the tags of a regional flag. Anywhere else it only hides a difference."""
    char = text[i]
    before = text[i - 1] if i else ""
    after = text[i + 1] if i + 1 < len(text) else ""
    if char == _ZWJ and _is(_EMOJI_PART, before) and _is(_PICTOGRAPH, after):
        return True
    if char in (_ZWJ, _ZWNJ):
        return _is(_JOINING, before) and _is(_JOINING, after)
    if char in "\ufe0e\ufe0f":
        return _is(_PICTOGRAPH, before) or (
            before in "0123456789#*" and after == _KEYCAP
        )
    if _is_variation_selector(char):
        return _is(_VARIANT_BASE, before)
    if 0xE0020 <= ord(char) <= 0xE007F:  # tags: only in a flag such as Scotland's
        start = text.rfind(_BLACK_FLAG, 0, i)
        end = text.find("\U000e007f", i)
        tags = text[start + 1 : end + 1] if start >= 0 and end >= 0 else ""
        return bool(tags) and all(0xE0020 <= ord(c) <= 0xE007F for c in tags)
    return False


def _spaces(text: str) -> str:
    """Every kind of space and line break is one plain space; no runs. Hangul
    fillers show as a blank, so they are spaces too."""
    return " ".join(text.translate(_BLANK_FILLERS).split())


def clean_display_name(display: str) -> str:
    """The name as it is stored and shown: composed (NFC), without control
    characters or invisible ones that hide nothing but a difference, spaces
    plain and single. Nothing visible changes; fullwidth letters and other
    scripts stay as typed."""
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", display))
    text = text.translate(_BLANK_FILLERS)
    kept = [
        char
        for i, char in enumerate(text)
        if not _is(_IGNORABLE, char) or _shows_something(text, i)
    ]
    return _spaces(unicodedata.normalize("NFC", "".join(kept)))


def _visible(display: str) -> str:
    """Every invisible character gone, control characters and every kind of
    space a plain space, no runs. Compatibility forms (fullwidth letters,
    ligatures, "Ⅻ") fold later, after the skeleton: NFKC first would move
    some look-alikes (the long s, which looks like an f) away from what they
    look like."""
    text = _CONTROL.sub(" ", display.translate(_BLANK_FILLERS))
    return _spaces(_IGNORABLE.sub("", text))


def _prototype_order(char: str) -> tuple[bool, bool, bool, str]:
    """ASCII lower-case letters first (articles stay articles), then ASCII
    letters, then ASCII, then code point order."""
    ascii_ = char.isascii()
    return (not ascii_, not (ascii_ and char.islower()), not char.isalpha(), char)


@cache
def _prototypes() -> dict[str, str]:
    """What each confusable character maps to: one character (or sequence)
    for every group of characters that look alike.

    The library keeps Unicode's confusables as a graph in both directions (a
    prototype lists what looks like it, each of those lists its prototype),
    composed as the data file's comments show them, so a group is a connected
    part of that graph. It stands for the sequence one of its members looks
    like ("rn" for "m"), else for its ASCII member (a lower-case letter first),
    else for its lowest code point.
    """
    marks = str.maketrans("", "", "\u200e\u200f")  # bidi marks around RTL glyphs
    parent: dict[str, str] = {}

    def root(char: str) -> str:
        while parent.setdefault(char, char) != char:
            parent[char] = parent[parent[char]]
            char = parent[char]
        return char

    sequences: dict[str, set[str]] = {}
    for source, entries in confusables_data.items():
        one = unicodedata.normalize("NFC", source.translate(marks))
        for entry in entries:
            other = unicodedata.normalize("NFC", entry["c"].translate(marks))
            if len(one) == 1 and len(other) == 1:
                parent[root(one)] = root(other)
            elif len(one) == 1 or len(other) == 1:
                char, sequence = (one, other) if len(one) == 1 else (other, one)
                sequences.setdefault(root(char), set()).add(sequence)
    groups: dict[str, list[str]] = {}
    for char in list(parent):
        groups.setdefault(root(char), []).append(char)
    prototypes: dict[str, str] = {}
    for members in groups.values():
        looks_like = set().union(*(sequences.get(m, set()) for m in members))
        target = min(looks_like) if looks_like else min(members, key=_prototype_order)
        prototypes.update((m, target) for m in members if m != target)
    for char, looks_like in sequences.items():
        prototypes.setdefault(char, min(looks_like))
    return prototypes


def skeleton(text: str) -> str:
    """The text as it looks (after Unicode TS #39's skeleton): each confusable
    character replaced by its group's prototype, composed (NFC) as the data
    lists most characters, then again decomposed (NFD) for the marks."""
    table = _prototypes()
    for form in ("NFC", "NFD"):
        text = "".join(table.get(c, c) for c in unicodedata.normalize(form, text))
    return unicodedata.normalize("NFD", text)


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
    # NFKD can yield an invisible character (a halfwidth filler): drop it.
    return unicodedata.normalize("NFC", _IGNORABLE.sub("", folded))


def _spaced(text: str, *, keep: str) -> str:
    """Punctuation, symbols and control characters become spaces (except those
    in ``keep``); whitespace collapses."""
    chars = [
        " " if char not in keep and unicodedata.category(char)[0] in "PSZC" else char
        for char in text
    ]
    return " ".join("".join(chars).split())


def _key(text: str) -> str:
    """Compatibility forms (NFKC), case, Latin accents, a leading article and
    punctuation folded away."""
    # Apostrophes and dots stay until the article is gone ("L'", "A.C.L.U.").
    folded = _spaced(_fold(text).translate(_APOSTROPHES), keep="'.")
    # An apostrophe not inside a word is a quotation mark ('"The" Residents').
    folded = " ".join(_QUOTE.sub(" ", folded).split())
    stripped = _LEADING_ARTICLE.sub("", folded, count=1)
    # Then they join: "A.C.L.U." is "aclu", "St. Mary's" is "st marys".
    key = _spaced(stripped.replace("'", "").replace(".", ""), keep="")
    # A name made only of punctuation still needs a key of its own.
    return (key or folded or text.strip())[:MAX_LENGTH]


def normalise_name(display: str) -> str:
    """The key that makes two spellings of one organisation the same signer:
    case folded, then the look-alike skeleton, then accents, article and
    punctuation."""
    return _key(skeleton(_visible(display).casefold()))


def skeleton_name(display: str) -> str:
    """The second key: the look-alike skeleton of the name in the case it was
    typed, then folded like ``normalise_name``."""
    return _key(skeleton(_visible(display)))


class NameKeys(NamedTuple):
    normalised: str
    skeleton: str


def name_keys(display: str) -> NameKeys:
    """Both duplicate keys of a name; a second live signature may share neither."""
    return NameKeys(normalise_name(display), skeleton_name(display))


def sort_name(display: str, *, strip_article: bool = True) -> str:
    """What the public list is ordered by: the readable folded name (no
    skeleton) with numbers padded so that they sort by value.

    An organiser's own sort name keeps its first word (``strip_article=False``):
    "the the" is what they typed for a band called The The.
    """
    text = _visible(display)
    if strip_article:
        key = _key(text)
    else:
        key = _spaced(_fold(text).replace("'", "").replace(".", ""), keep="")
    return _DIGITS.sub(lambda m: m.group().zfill(_NUMBER_WIDTH), key)[:MAX_LENGTH]


def clean_email(email: str) -> str:
    """The address as stored and compared: trimmed, lower case, without
    invisible characters (a soft hyphen in the domain still delivers to the
    same mailbox) and with compatibility forms folded (NFKC)."""
    text = unicodedata.normalize("NFKC", _IGNORABLE.sub("", email))
    return text.strip().lower()
