"""Word-level differences between two revisions, readable by a non-programmer."""

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

from django.utils.translation import gettext as _

from letters.models import Revision

_TOKENS = re.compile(r"\s+|[^\s]+")

Op = Literal["equal", "insert", "delete"]


@dataclass(frozen=True)
class Segment:
    op: Op
    text: str


@dataclass(frozen=True)
class FieldDiff:
    label: str
    segments: list[Segment]

    @property
    def changed(self) -> bool:
        return any(s.op != "equal" for s in self.segments)


def diff_text(old: str, new: str) -> list[Segment]:
    """Words inserted and deleted between ``old`` and ``new``, in reading order."""
    a, b = _TOKENS.findall(old or ""), _TOKENS.findall(new or "")
    segments: list[Segment] = []

    def add(op: Op, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if segments and segments[-1].op == op:
            segments[-1] = Segment(op, segments[-1].text + text)
        else:
            segments.append(Segment(op, text))

    for tag, i1, i2, j1, j2 in SequenceMatcher(
        None, a, b, autojunk=False
    ).get_opcodes():
        if tag == "equal":
            add("equal", a[i1:i2])
        else:
            add("delete", a[i1:i2])
            add("insert", b[j1:j2])
    return segments


def diff_revisions(old: Revision, new: Revision) -> list[FieldDiff]:
    """Addressee, each point of unity, and the body, compared word by word."""
    fields = [FieldDiff(_("Addressee"), diff_text(old.addressee, new.addressee))]
    for i in range(max(len(old.points), len(new.points))):
        before = old.points[i] if i < len(old.points) else ""
        after = new.points[i] if i < len(new.points) else ""
        fields.append(
            FieldDiff(_("Point %(n)d") % {"n": i + 1}, diff_text(before, after))
        )
    fields.append(FieldDiff(_("Letter"), diff_text(old.body, new.body)))
    return fields


def diff_as_text(fields: list[FieldDiff]) -> str:
    """Plain-text rendering for emails: [-deleted-] and {+inserted+}."""
    out: list[str] = []
    for field in fields:
        if not field.changed:
            continue
        marked = "".join(
            s.text
            if s.op == "equal"
            else ("[-%s-]" if s.op == "delete" else "{+%s+}") % s.text
            for s in field.segments
        )
        out.append(f"{field.label}:\n{marked}")
    return "\n\n".join(out)
