"""Hypothesis strategies for feeding the public forms and the CSV importers
whatever people, spreadsheets and robots send.

Every property test uses ``FUZZ``: a fixed number of examples, no deadline and
derandomised, so a run in CI is repeatable and takes seconds. A longer, random
hunt on a developer's machine: ``FUZZ_EXAMPLES=2000 make test`` (add
``PYTEST_ARGS=--hypothesis-seed=N`` to repeat one).
"""

import operator
import os
from contextlib import contextmanager
from urllib.parse import urlencode

import regex
from confusable_homoglyphs.confusables import confusables_data
from django.core.cache import cache
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    derandomize="FUZZ_EXAMPLES" not in os.environ,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


@contextmanager
def rolled_back():
    """Run one example and forget it: the database and the rate-limit counters
    are as they were before."""
    cache.clear()
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


# Text that says one thing and shows another, or that a spreadsheet runs.
TRICKY = [
    "",
    " ",
    "\x00",
    "nul\x00inside",
    "\t",
    "a\r\nb",
    "line\u2028separator",
    "\u202eevil\u202c",
    "\u200b",
    "\ufeff",
    "\ufffd",
    '=HYPERLINK("http://example.com","click")',
    "=1+1",
    "+44 20 7946 0000",
    "-2+3",
    "@SUM(A1:A9)",
    "|calc",
    "%0A",
    "<script>alert(1)</script>",
    "{{ 7|add:7 }}",
    "%(name)s %s {0}",
    "' OR 1=1 --",
    "../../etc/passwd",
    "ß" * 201,
    "\ufdfa" * 40,  # one character that decomposes into eighteen
    "İstanbul",
    "ǅemal",
    "Ⅻ",
    "\U0001f3f3\ufe0f\u200d\U0001f308 Pride",
    "Ünïcödé Ässöcïätïön",
    "The",
    "L'",
    "...",
    "mailto:a@example.org",
    "javascript:alert(1)",
    "http://[::1]:80/",
    "https://例え.テスト/",
    "x" * 254 + "@example.org",
]

# Any character but surrogates, which no browser sends in UTF-8.
any_text = st.text(max_size=300)
control_text = st.text(
    st.characters(max_codepoint=0x9F, exclude_categories=["Cs"]), max_size=20
)
huge_text = st.builds(
    operator.mul,
    st.sampled_from(["x", "é", " ", "a ", "\ufdfa", "\U0001f600", "\x07", "="]),
    st.integers(min_value=120, max_value=20_000),
)
field_text = st.one_of(
    st.sampled_from(TRICKY), any_text, control_text, huge_text, st.emails()
)
# A field left out, given a value, or given several (the form reads the last).
field_value = st.one_of(
    st.none(), field_text, st.lists(field_text, min_size=2, max_size=3)
)


@st.composite
def form_posts(draw, valid: dict[str, str], fields: list[str]):
    """A submission that is ``valid`` except for a few fields, which are
    missing or hold anything at all, plus perhaps fields the form never asked
    for. Mostly-valid data reaches the code that saves."""
    data: dict[str, object] = dict(valid)
    for name in draw(st.sets(st.sampled_from(fields), max_size=4)):
        value = draw(field_value)
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    data.update(draw(st.dictionaries(st.text(min_size=1, max_size=20), any_text)))
    return data


def encode(data: dict[str, object]) -> str:
    """The body a browser would send: form-urlencoded, every value kept."""
    return urlencode(data, doseq=True)


URLENCODED = "application/x-www-form-urlencoded"


# Request bodies no form produced.
body_content_types = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=latin-1",
        "application/x-www-form-urlencoded; charset=nonsense",
        "multipart/form-data; boundary=BoUnDaRy",
        "multipart/form-data",
        "text/plain",
        "application/json",
    ]
)
raw_bodies = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=500).map(str.encode),
    st.sampled_from(
        [
            b"display_name=%FF%FE&email=%C0%80",
            b"a=1&a=2&a=3&" * 50,
            b"=&=&&&==",
            b"display_name=%00&email=x%00@example.org",
            b'--BoUnDaRy\r\nContent-Disposition: form-data; name="email"\r\n\r\n',
            b"--BoUnDaRy--\r\n",
        ]
    ),
)


# --- Names that look like other names --------------------------------------------

# Every default-ignorable code point: invisible wherever it is put. Hangul
# fillers show as a blank, so they are spaces (signers.names), not insertions.
IGNORABLES = [
    char
    for char in regex.findall(
        r"\p{Default_Ignorable_Code_Point}", "".join(map(chr, range(0x110000)))
    )
    if char not in "\u3164\uffa0"
]

# Organisation names as people write them, and names of any letters at all.
organisation_names = st.one_of(
    st.sampled_from(
        [
            "Sierra Club",
            "The Friends of the Park",
            "SIERRA CLUB",
            "Les Amis de la Terre",
            "Local 350 Tenants",
            "St. Mary's Parish",
            "Oxfam",
            "Москва Зелёная",
            "Ελληνική Ένωση",
            "東京グリーン",
        ]
    ),
    st.text(
        st.characters(categories=["L", "Nd", "Zs", "Pd", "Po"]),
        min_size=1,
        max_size=40,
    ).filter(lambda name: any(char.isalnum() for char in name)),
)


@st.composite
def with_ignorables(draw, name: str) -> str:
    """``name`` with invisible characters put anywhere in it."""
    chars = list(name)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        position = draw(st.integers(min_value=0, max_value=len(chars)))
        chars.insert(position, draw(st.sampled_from(IGNORABLES)))
    return "".join(chars)


def _confusables(char: str) -> list[str]:
    """Single characters that Unicode's confusables data (as the library
    ships it) lists as looking like ``char``."""
    marks = str.maketrans("", "", "\u200e\u200f")
    found = {e["c"].translate(marks) for e in confusables_data.get(char, [])}
    return sorted(c for c in found if len(c) == 1 and c != char)


@st.composite
def with_one_confusable(draw, name: str) -> str | None:
    """``name`` with one character swapped for one that looks like it, or
    None when no character of it has a look-alike."""
    positions = [i for i, char in enumerate(name) if _confusables(char)]
    if not positions:
        return None
    i = draw(st.sampled_from(positions))
    swapped = draw(st.sampled_from(_confusables(name[i])))
    return name[:i] + swapped + name[i + 1 :]
