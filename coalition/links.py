"""Absolute URLs for links that go out by email."""

from django.conf import settings
from django.urls import reverse

from coalition.tokens import make_token


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def token_url(name: str, purpose: str, pk: int) -> str:
    """``signers:<name>`` with a fresh ``purpose`` token for row ``pk``."""
    return absolute(
        reverse(f"signers:{name}", kwargs={"token": make_token(purpose, pk)})
    )
