"""Absolute URLs for links that go out by email."""

from functools import lru_cache

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

from coalition.tokens import make_token

# A token never contains it (signing's alphabet is URL-safe base64, ":" and "."),
# and reverse() leaves it as it is.
_SLOT = "TOKEN-SLOT"


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def token_url(name: str, purpose: str, pk: int) -> str:
    """``signers:<name>`` with a fresh ``purpose`` token for row ``pk``."""
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    before, after = _token_path(name, urlconf, get_script_prefix())
    return absolute(f"{before}{make_token(purpose, pk)}{after}")


@lru_cache(maxsize=256)
def _token_path(name: str, urlconf: str, prefix: str) -> tuple[str, str]:
    """The link's path around its token, resolved once per name (a batch of
    emails carries thousands of these links)."""
    path = reverse(f"signers:{name}", kwargs={"token": _SLOT}, urlconf=urlconf)
    before, slot, after = path.partition(_SLOT)
    if not slot:  # pragma: no cover - every token URL takes the token as it is
        raise ValueError(f"signers:{name} does not take its token as it is")
    return before, after
