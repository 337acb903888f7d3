"""Column names as people write them, for every CSV import (prospects, signers).

A header cell is matched by its key: lower case, accents dropped, letters and
digits only ("E-mail", "e_mail" and "Émail" are all ``email``), then looked up
among the synonyms of each field. Each import says which fields it reads; a
column it does not read, or a second column for a field already found, is
listed as not read.
"""

import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Field -> the keys of the headers that mean it (see ``header_key``).
SYNONYMS: Final[Mapping[str, tuple[str, ...]]] = {
    "organisation": (
        "organisation", "organization", "organisationname", "organizationname",
        "nameoforganisation", "nameoforganization", "nameoftheorganisation",
        "nameoftheorganization", "organisationsname", "organizationsname", "org",
        "orgname", "company", "companyname", "group", "groupname", "association",
        "ngo", "entity", "affiliation", "employer", "organisme", "organizacion",
        "organisatie",
    ),
    "name": (
        "name", "fullname", "yourname", "signername", "signatory", "person",
        "personname", "displayname", "nom", "nombre",
    ),
    "contact_name": (
        "contact", "contactname", "contactperson", "nameofcontact",
        "nameofcontactperson", "contactfullname", "representative",
    ),
    "first_name": ("firstname", "givenname", "first", "forename", "prenom"),
    "last_name": ("lastname", "surname", "familyname", "last"),
    "email": (
        "email", "emailaddress", "mail", "mailaddress", "contactemail",
        "contactemailaddress", "email1value", "primaryemail", "emailaddress1",
        "courriel", "adresseemail", "correo", "correoelectronico",
    ),
    "city": ("city", "town", "cityortown", "cityorregion", "townorcity", "ville"),
    "country": ("country", "nation", "countryname", "pays", "pais", "land"),
    "website": (
        "website", "web", "url", "site", "homepage", "webaddress", "websiteurl",
        "weburl", "siteweb",
    ),
    "kind": (
        "kind", "type", "signertype", "signingas", "signas", "signedas",
        "organisationorindividual", "organizationorindividual",
    ),
    "notes": ("notes", "note", "comments", "comment", "remarks"),
    "is_large": (
        "large", "islarge", "largeorganisation", "largeorganization", "size",
    ),
    "owner": (
        "owner", "relationshipowner", "heldby", "organiser", "organizer",
        "relationshipheldby",
    ),
}  # fmt: skip

# What the preview calls each field.
LABELS: Final[Mapping[str, str | Promise]] = {
    "organisation": _("Organisation"),
    "name": _("Name"),
    "contact_name": _("Contact"),
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "email": _("Email"),
    "city": _("City"),
    "country": _("Country"),
    "website": _("Website"),
    "kind": _("Kind"),
    "notes": _("Notes"),
    "is_large": _("Large"),
    "owner": _("Held by"),
}

_FIELD_OF: Final = {key: name for name, keys in SYNONYMS.items() for key in keys}


def header_key(name: str) -> str:
    """``name`` without case, accents, spaces or punctuation."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]", "", plain)


@dataclass
class Columns:
    """A header as an import reads it."""

    written: list[str]  # each cell as written, trimmed
    fields: list[str | None]  # each cell's field, None where it is not read

    def __contains__(self, name: object) -> bool:
        return name in self.fields

    @property
    def ignored(self) -> list[str]:
        return [
            w for w, f in zip(self.written, self.fields, strict=True) if w and not f
        ]

    def labelled(self) -> list[tuple[str, str]]:
        """(column as written, what it is read as) for the preview."""
        pairs = zip(self.written, self.fields, strict=True)
        return [(written, str(LABELS[name])) for written, name in pairs if name]


def match_columns(
    header: Sequence[str],
    reads: Collection[str],
    *,
    alias: Mapping[str, str] | None = None,
) -> Columns:
    """Which of the fields ``reads`` each cell of ``header`` holds; the first
    column for a field wins. ``alias`` sends a field to another one (a
    prospect list's "Name" is its contact's)."""
    columns = Columns(written=[w.strip() for w in header], fields=[])
    for written in header:
        found = _FIELD_OF.get(header_key(written))
        if found is not None and alias:
            found = alias.get(found, found)
        taken = found is None or found not in reads or found in columns.fields
        columns.fields.append(None if taken else found)
    return columns
