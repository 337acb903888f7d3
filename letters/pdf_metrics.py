"""How wide a line of the PDF's signer list is, from the font's own advance widths.

The signer pages are set as pre-broken lines (``letters/pdf.py``): WeasyPrint's
cost goes by lines and boxes, so the lines are broken here, once, by the width of
each character in the font the PDF uses (DejaVu Serif, regular and bold, as the
Docker image and ``scripts/system-deps`` install it). Without that font a
character is counted as wide as the font's widest common letters, so a line
never runs past its column, at worst it breaks a little early.
"""

import functools
import unicodedata
from pathlib import Path

from fontTools.ttLib import TTFont

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
)
FONT_FILES = {False: "DejaVuSerif.ttf", True: "DejaVuSerif-Bold.ttf"}
# Ems of a character the font does not have (East Asian wide ones take a whole
# em), and of any character when the font is not found at all.
WIDE_EM, FALLBACK_EM = 1.0, 0.9


@functools.cache
def _advances(bold: bool) -> dict[int, float] | None:
    """Advance width in ems of each code point the font has; None without it."""
    for directory in FONT_DIRS:
        path = directory / FONT_FILES[bold]
        if path.is_file():
            font = TTFont(path, lazy=True)
            units = font["head"].unitsPerEm
            metrics = font["hmtx"].metrics
            return {
                code: metrics[glyph][0] / units
                for code, glyph in font.getBestCmap().items()
            }
    return None


def _ems(text: str, advances: dict[int, float] | None) -> float:
    ems = 0.0
    for char in text:
        if unicodedata.combining(char):
            continue
        em = advances.get(ord(char)) if advances is not None else None
        if em is None:
            wide = unicodedata.east_asian_width(char) in "WF"
            em = WIDE_EM if wide else FALLBACK_EM
        ems += em
    return ems


def text_width(text: str, *, size: float, bold: bool) -> float:
    """Width in points of ``text`` on one line at ``size`` points (no kerning:
    a little wider than set, never narrower)."""
    return _ems(text, _advances(bold)) * size


@functools.lru_cache(maxsize=1 << 16)
def _word_ems(word: str, bold: bool) -> float:
    """Ems of one word: lists repeat their words (places, "Association")."""
    return _ems(word, _advances(bold))


def wrap(text: str, *, width: float, size: float, bold: bool) -> list[str]:
    """``text`` broken into lines no wider than ``width`` points, between
    words where it can, inside a word longer than a line where it must.

    Widths add up (no kerning), so each word is measured once, not each line
    again as it grows."""
    limit = width / size  # in ems
    space = _word_ems(" ", bold)
    lines: list[str] = []
    line, used = "", 0.0
    for word in text.split():
        ems = _word_ems(word, bold)
        if line and used + space + ems <= limit:
            line, used = f"{line} {word}", used + space + ems
            continue
        if line:
            lines.append(line)
        line, used = "", 0.0
        if ems <= limit:
            line, used = word, ems
            continue
        for char in word:
            em = _word_ems(char, bold)
            if line and used + em > limit:
                lines.append(line)
                line, used = "", 0.0
            line, used = line + char, used + em
    if line:
        lines.append(line)
    return lines
