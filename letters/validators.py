"""Rules on a letter's input that both its forms and its services apply."""

import zoneinfo
from collections.abc import Iterable
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from letters.models import (
    MAX_BODY_LENGTH,
    MAX_POINT_LENGTH,
    MAX_POINTS,
    SIGNING_OPTIONAL_FIELDS,
    TEXT_LIMITS,
    SigningFieldState,
)


@lru_cache(maxsize=1)
def time_zone_names() -> list[str]:
    return sorted(zoneinfo.available_timezones() | {"UTC"})


def canonical_time_zone(name: str) -> str:
    """The zone's own spelling of ``name`` (any case); ValidationError if none."""
    names = {n.lower(): n for n in time_zone_names()}
    canonical = names.get(name.strip().lower(), name)
    validate_time_zone(canonical)
    return canonical


def validate_time_zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone called ``name``; ValidationError when there is none."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            _("“%(name)s” is not a time zone we know."),
            code="time_zone",
            params={"name": name},
        ) from exc


def clean_points(points: Iterable[str]) -> list[str]:
    """One to three non-empty points of unity, trimmed; ValidationError otherwise."""
    cleaned = [p.strip() for p in points if p and p.strip()]
    if not cleaned:
        raise ValidationError(
            _("Write at least one point of unity."), code="points_empty"
        )
    if len(cleaned) > MAX_POINTS:
        raise ValidationError(
            ngettext(
                "A letter has at most %(max)d point of unity.",
                "A letter has at most %(max)d points of unity.",
                MAX_POINTS,
            ),
            code="points_too_many",
            params={"max": MAX_POINTS},
        )
    for n, point in enumerate(cleaned, start=1):
        if len(point) > MAX_POINT_LENGTH:
            raise ValidationError(
                ngettext(
                    "Point %(n)d is longer than %(max)d character.",
                    "Point %(n)d is longer than %(max)d characters.",
                    MAX_POINT_LENGTH,
                ),
                code="point_too_long",
                params={"n": n, "max": MAX_POINT_LENGTH},
            )
    return cleaned


def clean_body(body: str) -> str:
    """The letter's body with its line endings normalised; ValidationError when
    it is longer than ``MAX_BODY_LENGTH`` characters."""
    body = body.replace("\r\n", "\n")
    if len(body) > MAX_BODY_LENGTH:
        raise ValidationError(
            ngettext(
                "The letter is %(length)d character long; it may be at most "
                "%(max)d. Shorten it, or link to a longer text.",
                "The letter is %(length)d characters long; it may be at most "
                "%(max)d. Shorten it, or link to a longer text.",
                len(body),
            ),
            code="body_too_long",
            params={"length": len(body), "max": MAX_BODY_LENGTH},
        )
    return body


def validate_lengths(**texts: str) -> None:
    """ValidationError naming each of ``TEXT_LIMITS``' fields given that is
    longer than its limit."""
    errors: dict[str, ValidationError] = {}
    for name, text in texts.items():
        if name == "body":
            try:
                clean_body(text)
            except ValidationError as exc:
                errors[name] = exc
        elif len(text) > TEXT_LIMITS[name]:
            errors[name] = ValidationError(
                ngettext(
                    "This is %(length)d character long; it may be at most %(max)d.",
                    "This is %(length)d characters long; it may be at most %(max)d.",
                    len(text),
                ),
                code="too_long",
                params={"length": len(text), "max": TEXT_LIMITS[name]},
            )
    if errors:
        raise ValidationError(errors)


def clean_signing_fields(value: object) -> dict[str, str]:
    """A letter's choice of signing form fields: each optional field's name
    with "optional" or "required", in the order of ``SIGNING_OPTIONAL_FIELDS``;
    fields left out (or "hidden") are not asked. ValidationError for a name or
    state there is not."""
    if not isinstance(value, dict):
        raise ValidationError(_("Choose what the signing form asks."))
    asked = {SigningFieldState.OPTIONAL, SigningFieldState.REQUIRED}
    states = {str(s) for s in SigningFieldState}
    wrong = [
        str(name)
        for name, state in value.items()
        if name not in SIGNING_OPTIONAL_FIELDS or state not in states
    ]
    if wrong:
        raise ValidationError(
            _("The signing form has no choice called %(names)s."),
            code="signing_fields",
            params={"names": ", ".join(sorted(wrong))},
        )
    return {
        name: str(value[name])
        for name in SIGNING_OPTIONAL_FIELDS
        if value.get(name) in asked
    }
