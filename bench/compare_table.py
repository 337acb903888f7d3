"""The table of ``make bench-compare``: its lines, the maths of the ratios, the
markdown written into docs/performance.md (pure; tests/bench/test_compare.py).
"""

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.support import ROOT

DOC = ROOT / "docs" / "performance.md"
START = "<!-- bench-compare:start -->"
END = "<!-- bench-compare:end -->"
COMMAND = "make bench-compare"


# --- The maths (pure; tests/bench/test_compare.py) ------------------------------


@dataclass(frozen=True)
class Line:
    """One line of the table: what is measured, against what, and the goal.

    ``share`` lines report the site's throughput as a share of the baseline's
    (higher is better); the others a multiple of the baseline (lower is better).
    """

    key: str
    what: str
    baseline: str
    goal: str
    share: bool
    target: float | None
    unit: str = ""
    # Goals on the figures themselves: the site's at least this much, and each
    # named extra figure (a median over the rounds) at most its limit.
    site_min: float | None = None
    extra_max: tuple[tuple[str, float], ...] = ()


@dataclass
class Sample:
    """One round's figures for a line: the site's and the baseline's."""

    site: float
    base: float
    extra: dict[str, float] = field(default_factory=dict)


def ratio(line: Line, sample: Sample) -> float:
    """The site as a share (throughput) or a multiple (time, size) of its baseline."""
    if sample.base <= 0 or sample.site <= 0:
        return 0.0
    return sample.site / sample.base


def median_ratio(line: Line, samples: Sequence[Sample]) -> float:
    """The median of the per-round ratios: each round's pair shares its noise."""
    return statistics.median(ratio(line, s) for s in samples)


def met(
    line: Line,
    value: float,
    site: float | None = None,
    extras: dict[str, float] | None = None,
) -> bool | None:
    """Whether the line's goals hold: the ratio against its target, and the
    site's figure and extra figures against their limits (unknown: not met)."""
    checks: list[bool] = []
    if line.target is not None:
        checks.append(value >= line.target if line.share else value <= line.target)
    if line.site_min is not None:
        checks.append(site is not None and site >= line.site_min)
    for name, limit in line.extra_max:
        figure = (extras or {}).get(name)
        checks.append(figure is not None and figure <= limit)
    return all(checks) if checks else None


def figure(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "bytes":
        return f"{value / 1024:,.0f} KiB"
    if unit == "req/s":
        return f"{value:,.0f} req/s"
    if unit == "emails/s":
        return f"{value:,.0f} emails/s"
    return f"{value:,.2f}"


def table_rows(lines: Sequence[Line], results: dict[str, list[Sample]]) -> list[list]:
    """The Markdown table's rows: medians of the figures, and of the ratios."""
    rows = []
    for line in lines:
        samples = results.get(line.key)
        if not samples:
            continue
        value = median_ratio(line, samples)
        site = statistics.median(s.site for s in samples)
        base = statistics.median(s.base for s in samples)
        medians = {
            k: statistics.median(s.extra[k] for s in samples if k in s.extra)
            for k in sorted({k for s in samples for k in s.extra})
        }
        notes = [f"{k} {v:,.1f}" for k, v in medians.items()]
        verdict = {True: "met", False: "not met", None: ""}[
            met(line, value, site, medians)
        ]
        shown = f"{value:.3f}" if line.share else f"{value:.2f}x"
        rows.append(
            [
                line.what,
                figure(site, line.unit) + ("; " + ", ".join(notes) if notes else ""),
                f"{figure(base, line.unit)} ({line.baseline})",
                shown,
                line.goal,
                verdict,
            ]
        )
    return rows


HEADERS = ["what", "site", "bare baseline, same run", "ratio", "goal", ""]


def markdown_table(rows: Sequence[Sequence[Any]]) -> str:
    cells = [HEADERS] + [[str(c) for c in row] for row in rows]
    lines = ["| " + " | ".join(row) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("---" for _ in HEADERS) + "|")
    return "\n".join(lines)


def replace_section(document: str, section: str) -> str:
    """``document`` with the text between the bench's markers replaced by
    ``section`` (appended, with its markers, when they are not there yet)."""
    block = f"{START}\n{section.strip()}\n{END}"
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    if pattern.search(document):
        return pattern.sub(lambda _: block, document, count=1)
    return document.rstrip("\n") + "\n\n" + block + "\n"


LINES = [
    Line("warm", "warm public page, {page:,} signers", "hello-world view",
         "≥ 0.5", share=True, target=0.5, unit="req/s"),
    Line("cold", "cold page, {page:,} signers (first view after a change)",
         "hello-world view", "≥ 150 req/s (≤ 12 ms)", share=True, target=None,
         unit="req/s", site_min=150, extra_max=(("server ms", 12),)),
    Line("sign", "open-join sign POST", "view inserting one row",
         "≥ 0.5", share=True, target=0.5, unit="req/s"),
    Line("reminders", "{emails:,} reminders through the worker",
         "smtplib loop, one connection", "≥ 0.5", share=True, target=0.5,
         unit="emails/s"),
    Line("invitations", "{emails:,} invitations through the worker",
         "smtplib loop, one connection", "≥ 0.5", share=True, target=0.5,
         unit="emails/s"),
    Line("pdf", "PDF, {pdf:,} signers (time)", "WeasyPrint alone, a div per signer",
         "≤ 1.3x and ≤ 200 MiB", share=False, target=1.3, unit="s",
         extra_max=(("peak MiB", 200),)),
    Line("html", "public HTML, {html:,} signers (bytes sent, gzip or br accepted)",
         "the same page uncompressed", "compressed", share=False, target=0.2,
         unit="bytes"),
]  # fmt: skip
