"""Web and email domains, as the directory compares them."""

from typing import Final
from urllib.parse import urlsplit

# Addresses anyone can get: a shared one says nothing about an organisation.
FREE_MAIL: Final = frozenset(
    {
        "aol.com", "gmail.com", "googlemail.com", "gmx.com", "gmx.de", "gmx.net",
        "hotmail.com", "hotmail.co.uk", "hotmail.fr", "icloud.com", "live.com",
        "mac.com", "mail.com", "mail.ru", "me.com", "msn.com", "orange.fr",
        "outlook.com", "posteo.de", "proton.me", "protonmail.com", "web.de",
        "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yandex.ru", "zoho.com",
        "example.com",
    }
)  # fmt: skip


def clean_domain(value: str) -> str:
    """``value`` as a bare lower-case host: no scheme, path, port or "www."."""
    text = value.strip().lower()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    if "//" in text:
        text = urlsplit(text).hostname or ""
    text = text.split("/", 1)[0].split(":", 1)[0].strip(".")
    return text.removeprefix("www.")


def website_domain(url: str) -> str:
    return clean_domain(url) if url.strip() else ""


def email_domain(email: str) -> str:
    """The domain of an address, or "" for a free-mail one."""
    domain = clean_domain(email) if "@" in email else ""
    return "" if domain in FREE_MAIL else domain
