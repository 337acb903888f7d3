from django.db import models
from django.utils.text import slugify


def unique_slug(model: type[models.Model], text: str, *, fallback: str) -> str:
    """A slug of ``text`` that no row of ``model`` has yet: "name", "name-2"..."""
    base = slugify(text)[:70].strip("-") or fallback
    slug, n = base, 1
    while model._default_manager.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug
