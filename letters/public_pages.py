"""The generation of the public pages: one cache entry that every change to
what a public page shows replaces once the change commits.

A warm public page is served from the cache without reading the letter: the
entry that points at its rendering records the generation it was made in, and
is used only while that is still the generation (``signers/views/public.py``).
Every write that changes a public page (the letter's text, status, settings or
slug, and who is listed: ``bump_signers_version``) calls
:func:`public_pages_changed` inside its transaction. One generation for all
letters keeps that to one key to replace; a change to one letter sends every
letter's next view to the database once, where the renderings themselves stay
cached under keys that hold the letter's state.

A write that bypasses the services (SQL by hand, a database restored under a
running cache) must call it too, or clear the cache: the pointers are found
by the letter's address alone.
"""

import uuid

from django.core.cache import cache
from django.db import transaction

GENERATION_KEY = "letters:public:generation"


def _new_generation() -> None:
    cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)


def public_pages_changed() -> None:
    """What a public page shows changes when the current transaction commits.

    Replaced at once and again once the write commits: a view that read the
    letter in between stored its pointer under the first, so the second
    retires it. Not ``robust``: if the cache cannot be told, the write's caller
    hears of it, rather than a page going on naming someone who has left.
    """
    _new_generation()
    transaction.on_commit(_new_generation)


def public_pages_generation() -> str:
    """The current generation, made if the cache has none (first use, eviction).

    Read it before reading the letter: a change that commits after that read
    replaces it, so what is stored under it is never used again.
    """
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        generation = cache.get(GENERATION_KEY)
    return str(generation)
