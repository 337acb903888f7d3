"""What importing a signer file would do, read without writing anything: the
organisers' preview before they confirm (``services.signatures.signature_import``
checks it all again, under the letter's lock, when they do)."""

from dataclasses import dataclass, field

from django.db.models import Q
from django.utils.translation import gettext as _

from letters.models import Letter
from signers.importing import (
    FILE,
    ImportRow,
    SignatureImportError,
    read_signer_file,
)
from signers.models import Signature
from signers.names import name_keys
from signers.selectors.signatures import VIA_IMPORT, signing_closed_reason


@dataclass
class SignatureImportPreview:
    rows: list[ImportRow] = field(default_factory=list)  # to create
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, why)
    columns: list[tuple[str, str]] = field(default_factory=list)  # (as written, as)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def can_import(self) -> bool:
        return bool(self.rows) and not self.problems


def signature_import_preview(*, letter: Letter, data: bytes) -> SignatureImportPreview:
    """The rows ``data`` would add to ``letter``, and each row's problems
    (line ``FILE``, 0, for the whole file's): the file's own, a kind the letter
    does not take, and a name or address that has already signed."""
    preview = SignatureImportPreview()
    reason = signing_closed_reason(letter=letter, via=VIA_IMPORT)
    if reason:
        preview.problems.append((FILE, reason))
        return preview
    try:
        parsed = read_signer_file(data)
    except SignatureImportError as exc:
        preview.problems = [
            (line, " ".join(messages)) for line, messages in exc.errors.items()
        ]
        return preview
    preview.columns = parsed.columns.labelled()
    preview.ignored_columns = parsed.columns.ignored
    taken = _signed_already(letter, [r for r in parsed.rows if not r.errors])
    for row in parsed.rows:
        problems = row.errors or _row_problems(letter, row, taken)
        if problems:
            preview.problems.append((row.line, " ".join(problems)))
        else:
            preview.rows.append(row)
    return preview


@dataclass(frozen=True)
class _Taken:
    emails: set[str]
    names: set[str]


def _signed_already(letter: Letter, rows: list[ImportRow]) -> _Taken:
    """The addresses and name keys among ``rows`` that a signature already
    holds (an unconfirmed one gives way to an import, as in ``make_way``)."""
    emails = {row.fields["email"] for row in rows}
    keys = {key for row in rows for key in name_keys(row.fields["display_name"])}
    found = (
        Signature.objects.filter(letter=letter, status__in=Signature.LIVE_STATUSES)
        .exclude(status=Signature.Status.PENDING)
        .filter(
            Q(email__in=emails)
            | Q(normalised_name__in=keys)
            | Q(skeleton_name__in=keys)
        )
        .values_list("email", "normalised_name", "skeleton_name")
    )
    taken = _Taken(emails=set(), names=set())
    for email, *name_keys_ in found:
        taken.emails.add(email)
        taken.names.update(name_keys_)
    return taken


def _row_problems(letter: Letter, row: ImportRow, taken: _Taken) -> list[str]:
    fields = row.fields
    if (
        fields["kind"] == Signature.Kind.ORGANISATION
        and not letter.allows_organisations
    ):
        return [_("This letter is signed by individuals only.")]
    if fields["kind"] == Signature.Kind.INDIVIDUAL and not letter.allows_individuals:
        return [_("This letter is signed by organisations only.")]
    if fields["email"] in taken.emails:
        return [_("This email address has already signed this letter.")]
    if taken.names.intersection(name_keys(fields["display_name"])):
        return [
            _("%(name)s, or a name that looks the same, has already signed.")
            % {"name": fields["display_name"]}
        ]
    return []
