"""The public listing: what a visitor may see of the signers, in order."""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When
from django.db.models.functions import Collate

from letters.models import Letter
from signers.models import (
    Signature,
)
from signers.models.public_rows import SHOWN_LOGO

# --- The public listing -----------------------------------------------------

# What a visitor may see of a signature, and nothing else.
PUBLIC_FIELDS = (
    "id",
    "kind",
    "display_name",
    "sort_name",
    "affiliation",
    "city",
    "country",
    "website",
)


def _allowed_kinds(letter: Letter) -> list[str]:
    kinds: list[str] = []
    if letter.allows_organisations:
        kinds.append(Signature.Kind.ORGANISATION)
    if letter.allows_individuals:
        kinds.append(Signature.Kind.INDIVIDUAL)
    return kinds


def _by_code_point(field: str) -> Collate:
    # Sort names are already folded (case, accents, articles); comparing them by
    # code point gives the same, stable order on every database and locale.
    return Collate(F(field), "C" if connection.vendor == "postgresql" else "BINARY")


def counted_signatures(letter: Letter) -> QuerySet[Signature]:
    """The signatures the letter's public page, PDF and widget count: confirmed,
    of a kind the letter allows. The one definition behind the public list,
    the counts and ``consent_violations``."""
    return Signature.objects.filter(
        letter=letter,
        status=Signature.Status.CONFIRMED,
        kind__in=_allowed_kinds(letter),
    )


def listed_signatures(letter: Letter) -> QuerySet[Signature]:
    """The counted signatures that are named: those consenting to be listed."""
    return counted_signatures(letter).filter(consent_listed=True)


def signature_list_public(*, letter: Letter) -> QuerySet[Signature]:
    """Publicly listed signatures (confirmed, and consenting to be listed) of the
    kinds the letter allows: organisations first, then individuals, each A-Z by
    sort name, with public fields only. The page, the PDF, the CSV and the
    consent check all read it.
    """
    return (
        listed_signatures(letter)
        .only(*PUBLIC_FIELDS)
        .order_by(
            # "individual" sorts before "organisation": descending puts them last.
            F("kind").desc(),
            _by_code_point("sort_name"),
            "id",
        )
    )


@dataclass(frozen=True)
class PublicCounts:
    signers: int
    unlisted: int


def signature_counts_public(*, letter: Letter) -> PublicCounts:
    """How many signed (confirmed), and how many of those asked not to be named."""
    totals = counted_signatures(letter).aggregate(
        signers=Count("id"),
        unlisted=Count("id", filter=Q(consent_listed=False)),
    )
    return PublicCounts(signers=totals["signers"], unlisted=totals["unlisted"])


def signature_list_for_export(*, letter: Letter) -> QuerySet[Signature]:
    """Every signature of the letter, whatever its status, for the organisers'
    export: all fields and the revision each signer signed."""
    return (
        Signature.objects.filter(letter=letter)
        .select_related("revision")
        .order_by(F("kind").desc(), _by_code_point("sort_name"), "id")
    )


@dataclass(frozen=True)
class SignerSection:
    kind: str
    signatures: list[Signature]


def signature_sections_public(*, letter: Letter) -> list[SignerSection]:
    """The public list split by kind, organisations first; one query."""
    by_kind: dict[str, list[Signature]] = {}
    for signature in signature_list_public(letter=letter):
        by_kind.setdefault(signature.kind, []).append(signature)
    return [
        SignerSection(kind=kind, signatures=by_kind[kind])
        for kind in (Signature.Kind.ORGANISATION, Signature.Kind.INDIVIDUAL)
        if kind in by_kind
    ]


# One signature of the public list as a plain row: ``PUBLIC_FIELDS``, then the
# stored name of its logo if it may be shown (else "").
PublicRow = tuple[int, str, str, str, str, str, str, str, str]

# The logo of a listed signature is shown only when its organisation agreed.
_SHOWN_LOGO = Case(
    When(SHOWN_LOGO, then=F("logo")),
    default=Value(""),
    output_field=CharField(),
)


def signature_rows_public(*, letter: Letter) -> list[PublicRow]:
    """The public list as plain rows (``PublicRow``), in its order; one
    query and no model instances, for the page that lists thousands."""
    rows: list[PublicRow] = list(
        signature_list_public(letter=letter)
        .annotate(shown_logo=_SHOWN_LOGO)
        .values_list(*PUBLIC_FIELDS, "shown_logo")
    )
    return rows


def signer_group_key(sort_name: str) -> str:
    """The A-Z group of a sort name: its first letter, "0" for digits and
    symbols (they sort before "a") and "other" for other scripts (after "z"),
    so each group is one run of the list."""
    first = sort_name[:1]
    if "a" <= first <= "z":
        return first
    return "0" if first < "a" else "other"


# The public list by A-Z group (``signer_group_key`` in SQL, comparing by code
# point as the list is sorted) from the counted signatures, written by the ORM
# where the blank is: each group's listed rows joined in order, with the
# counts. Written out rather than built by the ORM, which took longer to
# compile this query (about 2 ms) than the database takes to run it.
_LISTING = (
    """
    SELECT kind,
        CASE WHEN LEFT(sort_name, 1) COLLATE "C" < 'a' THEN '0'
            WHEN LEFT(sort_name, 1) COLLATE "C" <= 'z' THEN LEFT(sort_name, 1)
            ELSE 'other' END,
        COUNT(*) FILTER (WHERE consent_listed),
        COUNT(*) FILTER (WHERE NOT consent_listed),
        STRING_AGG(
            '<li id="s-' || id::text || '" data-signer>' || public_row, ''
            ORDER BY sort_name COLLATE "C", id
        ) FILTER (WHERE consent_listed)
    FROM (""",
    """) AS counted
    GROUP BY 1, 2
    ORDER BY kind DESC, MIN(sort_name COLLATE "C") FILTER (WHERE consent_listed)
    """,
)


@dataclass(frozen=True)
class SignerGroup:
    kind: str
    key: str
    # The listed signatures of the group, and their rows in order (each
    # signature's stored ``public_row`` after its ``<li>``; the logos'
    # address still to add after ``public_rows.LOGO_SOURCE``).
    count: int
    html: str


@dataclass(frozen=True)
class PublicListing:
    groups: list[SignerGroup]
    counts: PublicCounts


def signer_listing_public(*, letter: Letter) -> PublicListing:
    """The public list as markup per A-Z group, organisations' groups first,
    with the counts: one query, in which PostgreSQL joins each group's stored
    rows (no row reaches Python). Who is listed is decided in the query:
    ``counted_signatures`` and its ``consent_listed``, as in
    ``listed_signatures``; the stored rows say nothing of it."""
    counted = (
        counted_signatures(letter)
        .order_by()
        .values_list("id", "kind", "sort_name", "consent_listed", "public_row")
    )
    sql, params = counted.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_LISTING[0] + sql + _LISTING[1], params)
        rows = cursor.fetchall()
    groups, signers, unlisted = [], 0, 0
    for kind, key, listed, hidden, html in rows:
        signers += listed + hidden
        unlisted += hidden
        if listed:
            groups.append(SignerGroup(kind, key, listed, html))
    return PublicListing(groups, PublicCounts(signers=signers, unlisted=unlisted))


def signature_logos_public(*, letter: Letter) -> dict[int, str]:
    """Signature id -> stored logo name, for the listed signatures whose logo
    may be shown (the PDF's logos)."""
    rows = (
        listed_signatures(letter)
        .annotate(shown_logo=_SHOWN_LOGO)
        .exclude(shown_logo="")
        .values_list("pk", "shown_logo")
    )
    return dict(rows)


def logo_shown_publicly(*, name: str) -> bool:
    """Whether the stored logo ``name`` is shown on a public page now: its
    signature is listed on a public letter and agreed to show it."""
    signature = (
        Signature.objects.filter(logo=name, consent_logo=True)
        .select_related("letter")
        .first()
    )
    if signature is None:
        return False
    letter = signature.letter
    if letter.status not in Letter.PUBLIC_STATUSES or not letter.current_revision_id:
        return False
    listed = listed_signatures(letter).filter(pk=signature.pk)
    return listed.filter(kind=Signature.Kind.ORGANISATION).exists()


def signer_list_digest(*, signatures: Iterable[Signature], counts: PublicCounts) -> str:
    """A fingerprint of a public signer list as shown: the counts, then every
    listed signature's public fields, in order. A PDF stores the one of the
    list it was rendered from; ``consent_violations`` compares it with now."""
    digest = hashlib.sha256(f"{counts.signers} {counts.unlisted}\n".encode())
    for signature in signatures:
        row = [getattr(signature, name) for name in PUBLIC_FIELDS]
        digest.update(json.dumps(row, ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()
