"""Content negotiation and compression for responses the site compresses itself.

Only responses that carry no secret are compressed (the public letter page and
its widget, which are rendered without the request): compressing a page that
reflects a visitor's input next to a CSRF token or a token in the URL lets an
attacker who can watch the sizes guess the secret (BREACH). So there is no
site-wide compression middleware; views opt in for such pages.
"""

import gzip
import re

import brotli

IDENTITY = "identity"
# Preferred first. A page is compressed once per change to what it shows, by
# the first view after the change, so the fast levels: on the public page at
# 1,000 signers (188 KiB) brotli's quality 2 takes half the time of quality 4
# for 5 % more bytes (10.0 KiB against 9.5), and gzip's level 1 a third of
# level 6's for 14 % more (13.4 KiB against 11.7).
ENCODINGS = ("br", "gzip")
BROTLI_QUALITY = 2
GZIP_LEVEL = 1

_CODING = re.compile(r"^\s*([A-Za-z0-9*-]+)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


def encoding_for(accept_encoding: str) -> str:
    """The coding to send to a client that sent ``Accept-Encoding``: the first
    of :data:`ENCODINGS` it accepts (a q-value of 0 refuses one), else identity.
    """
    accepted: dict[str, float] = {}
    for part in accept_encoding.split(","):
        match = _CODING.match(part)
        if not match:
            continue
        try:
            quality = float(match[2]) if match[2] is not None else 1.0
        except ValueError:
            continue
        accepted[match[1].lower()] = quality
    for coding in ENCODINGS:
        quality = accepted.get(coding, accepted.get("*", 0.0))
        if quality > 0:
            return coding
    return IDENTITY


def compress(data: bytes, coding: str) -> bytes:
    if coding == "br":
        packed: bytes = brotli.compress(data, quality=BROTLI_QUALITY)
        return packed
    if coding == "gzip":
        return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    return data
