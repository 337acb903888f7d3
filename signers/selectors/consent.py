"""The consent invariant: nothing on offer breaks the site's promise."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from letters.models import Letter, LetterPdf
from signers.models import (
    Signature,
)
from signers.selectors import public
from signers.selectors.public import (
    signature_counts_public,
    signature_list_public,
    signer_list_digest,
)

# --- The consent invariant ---------------------------------------------------


@dataclass(frozen=True)
class ConsentViolation:
    """A name, a count or a PDF on offer without the consent the site promises."""

    letter: str
    problem: str
    signature_id: int | None = None

    def __str__(self) -> str:
        where = self.letter
        if self.signature_id is not None:
            where += _(", signature %(id)d") % {"id": self.signature_id}
        return f"{where}: {self.problem}"


def consent_violations(*, letter: Letter | None = None) -> list[ConsentViolation]:
    """Every place where the site's promise does not hold (none when all is well):
    every name on a letter agreed to that exact text.

    Each signature that the public page, PDF, CSV and widget count or list
    (``public.counted_signatures`` and ``public.listed_signatures``, the
    definitions they read) must be confirmed, attested when it is an
    organisation, not withdrawn, bound to a revision of its letter at or
    after the last material one, and, when named, consenting to be listed.
    The PDF on offer must be of the current revision and of the
    signer list as it is now. ``letter`` limits the check to one letter.

    Reads every counted signature: for tests, the operators' command
    (``check_consent``), the benchmarks and ``/healthz`` (which caches it).
    """
    letters = Letter.objects.order_by("pk")
    if letter is not None:
        letters = letters.filter(pk=letter.pk)
    else:
        letters = letters.filter(
            Exists(Signature.objects.filter(letter=OuterRef("pk")))
            | Exists(LetterPdf.objects.filter(letter=OuterRef("pk")))
        )
    found: list[ConsentViolation] = []
    for each in letters:
        found += _signature_violations(each)
        found += _pdf_violations(each)
    return found


def _signature_violations(letter: Letter) -> list[ConsentViolation]:
    last_material = letter.last_material_revision_number or 0
    listed = set(public.listed_signatures(letter).values_list("pk", flat=True))
    rows = (
        Signature.objects.filter(
            Q(pk__in=public.listed_signatures(letter).values("pk"))
            | Q(pk__in=public.counted_signatures(letter).values("pk"))
        )
        .values(
            "pk",
            "kind",
            "status",
            "attested",
            "consent_listed",
            "withdrawn_at",
            "revision__letter_id",
            "revision__number",
        )
        .order_by("pk")
    )
    found = []
    for row in rows:
        problems = []
        if row["status"] != Signature.Status.CONFIRMED:
            problems.append(
                _("counted with the status “%(status)s”, not confirmed")
                % {"status": row["status"]}
            )
        if row["kind"] == Signature.Kind.ORGANISATION and not row["attested"]:
            problems.append(
                _(
                    "counted without attesting the authority to sign for the "
                    "organisation"
                )
            )
        if row["withdrawn_at"] is not None:
            problems.append(_("counted after withdrawing"))
        if row["revision__letter_id"] != letter.pk:
            problems.append(_("bound to another letter's text"))
        elif row["revision__number"] < last_material:
            problems.append(
                _(
                    "counted on revision %(signed)d, before the material "
                    "revision %(material)d it has not agreed to"
                )
                % {"signed": row["revision__number"], "material": last_material}
            )
        if row["pk"] in listed and not row["consent_listed"]:
            problems.append(_("named though it asked not to be listed"))
        found += [
            ConsentViolation(letter=letter.slug, signature_id=row["pk"], problem=p)
            for p in problems
        ]
    return found


def _pdf_violations(letter: Letter) -> list[ConsentViolation]:
    if letter.status not in (Letter.Status.PUBLISHED, Letter.Status.CLOSED):
        return []
    pdf = LetterPdf.objects.on_offer(letter).first()
    if pdf is None:
        return []
    if (pdf.revision_id, pdf.signers_version) != (
        letter.current_revision_id,
        letter.signers_version,
    ):
        return [
            ConsentViolation(
                letter=letter.slug,
                problem=_("the PDF on offer is of another revision or signer list"),
            )
        ]
    now = signer_list_digest(
        signatures=signature_list_public(letter=letter),
        counts=signature_counts_public(letter=letter),
    )
    if pdf.signers_digest != now:
        return [
            ConsentViolation(
                letter=letter.slug,
                problem=_(
                    "the PDF on offer was rendered from another signer list than "
                    "the one shown now (version %(version)d)"
                )
                % {"version": letter.signers_version},
            )
        ]
    return []
