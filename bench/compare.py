"""The site against bare baselines on the same stack, measured in one run.

    python -m bench.compare [--rounds 3] [--seconds 4] [--quick] [--no-write]
    make bench-compare BENCH_ARGS="--quick"

Starts what it needs: a throwaway PostgreSQL database (a copy of
``BENCH_DATABASE_URL``, else ``DATABASE_URL``, else the local server's
``postgres`` database), gunicorn (2 sync workers, the production settings
with the bench's URL configuration, ``bench/urls.py``), a real Celery worker
(prefork, 2 processes) and an SMTP sink on loopback, on Redis databases
``BENCH_REDIS_URL`` / ``BENCH_CACHE_URL`` (default 14 and 15). For each line
of the table it measures the site and its bare baseline back to back, in
``--rounds`` interleaved rounds (the order flips every round), and reports
the median of the per-round ratios, the goal and the load average. Unless
``--quick`` or ``--no-write``, the table goes into docs/performance.md.

The lines:

- warm public page, 1,000 signers: req/s over loopback HTTP, against a
  hello-world view through the same middleware;
- cold page (the first view after the signer list changed): req/s over HTTP,
  each client on a letter of its own whose list changes before every request,
  and the server time in process;
- open-join sign POST, against a view that inserts one row and commits;
- 2,000 reminders through the worker (beat's dispatcher task), and 2,000
  invitations (the organisers' "send"), each against smtplib sending the same
  number of messages of the same size over one connection to the same sink;
- the PDF at 5,000 signers, against WeasyPrint alone rendering the same text
  and one ``<div>`` per signer with minimal CSS (time and peak memory, each in
  a fresh process);
- the public HTML at 10,000 signers: bytes sent to a browser that accepts
  ``gzip, br``, against the uncompressed page.

The load generator is a few threads writing prepared requests to raw sockets
(gunicorn's sync workers close every connection), cheap next to the server.
"""

import argparse
import datetime as dt
import json
import multiprocessing
import os
import re
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.support import ROOT, VAR, bench_environment, stop, wait_for_port

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


def met(line: Line, value: float) -> bool | None:
    if line.target is None:
        return None
    return value >= line.target if line.share else value <= line.target


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
        extras = sorted({k for s in samples for k in s.extra})
        notes = [
            f"{k} {statistics.median(s.extra[k] for s in samples if k in s.extra):,.1f}"
            for k in extras
        ]
        verdict = {True: "met", False: "not met", None: ""}[met(line, value)]
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
         unit="req/s"),
    Line("sign", "open-join sign POST", "view inserting one row",
         "≥ 0.5", share=True, target=0.5, unit="req/s"),
    Line("reminders", "{emails:,} reminders through the worker",
         "smtplib loop, one connection", "≥ 0.5", share=True, target=0.5,
         unit="emails/s"),
    Line("invitations", "{emails:,} invitations through the worker",
         "smtplib loop, one connection", "≥ 0.5", share=True, target=0.5,
         unit="emails/s"),
    Line("pdf", "PDF, {pdf:,} signers (time)", "WeasyPrint alone, a div per signer",
         "≤ 1.3x and ≤ 200 MiB", share=False, target=1.3, unit="s"),
    Line("html", "public HTML, {html:,} signers (bytes sent, gzip or br accepted)",
         "the same page uncompressed", "compressed", share=False, target=0.2,
         unit="bytes"),
]  # fmt: skip


# --- Settings and processes -------------------------------------------------------


@dataclass
class Options:
    rounds: int
    seconds: float
    threads: int
    emails: int
    page_signers: int
    pdf_signers: int
    html_signers: int
    port: int
    write: bool
    lines: list[str]


def environment(run: str) -> dict[str, str]:
    """The settings every process of the bench runs with."""
    database = (
        os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
        or "postgres://postgres@127.0.0.1:5432/postgres"
    )
    if not database.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"bench-compare needs PostgreSQL, not {database!r}")
    return bench_environment(
        DJANGO_SETTINGS_MODULE="bench.compare_settings",
        DATABASE_URL=database,
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        CACHE_URL=os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/15"),
        CACHE_KEY_PREFIX=f"bench-compare-{run}",
        CELERY_TASK_DEFAULT_QUEUE=f"bench-compare-{run}",
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        # Every request comes from 127.0.0.1: the limits would measure themselves.
        SIGNERS_JOIN_LIMIT_PER_IP="1000000000",
        SIGNERS_JOIN_LIMIT_PER_EMAIL="1000000000",
        LOG_LEVEL="WARNING",
    )


def run_sink(port: int, messages: Any, size: Any) -> None:
    """An SMTP server that accepts everything and counts messages and bytes
    (in a process of its own, so it takes no time from the bench's threads)."""
    import asyncio

    from aiosmtpd.controller import Controller

    class Counting:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with messages.get_lock():
                messages.value += 1
                size.value += len(envelope.original_content or envelope.content)
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    asyncio.run(asyncio.Event().wait())


class Sink:
    def __init__(self, port: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.port = port
        self.messages = context.Value("q", 0)
        self.bytes = context.Value("q", 0)
        self.process = context.Process(
            target=run_sink, args=(port, self.messages, self.bytes), daemon=True
        )

    def start(self) -> None:
        self.process.start()
        wait_for_port(self.port)

    def counts(self) -> tuple[int, int]:
        return self.messages.value, self.bytes.value

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(port: int, env: dict[str, str]) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "gunicorn", "coalition.wsgi",
        "--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "sync",
        "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(cmd, cwd=ROOT, env=env)
    wait_for_port(port, process=process)
    return process


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "celery", "-A", "coalition", "worker",
        "--concurrency=2", "--loglevel=INFO", "-n", f"compare-{uuid.uuid4().hex}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while " ready." not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start: see {log}")
        time.sleep(0.2)
    return process


# --- HTTP load ----------------------------------------------------------------------


def http(port: int, request: bytes) -> tuple[int, bytes]:
    """Send one prepared request; its status and everything it answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
        conn.sendall(request)
        chunks = []
        while data := conn.recv(262_144):
            chunks.append(data)
    answer = b"".join(chunks)
    return int(answer[9:12] or 0), answer


def get(path: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def post(path: str, fields: dict[str, str], cookie: str) -> bytes:
    body = urlencode(fields).encode()
    head = [
        f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close",
        "Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {len(body)}", f"Cookie: csrftoken={cookie}",
    ]  # fmt: skip
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def requests_per_second(
    port: int,
    make: Callable[[int, int], bytes],
    expect: int,
    *,
    seconds: float,
    threads: int,
    before: Callable[[int], None] | None = None,
) -> float:
    """Requests answered ``expect`` per second by ``threads`` clients for
    ``seconds``; ``make(thread, n)`` builds each request, ``before(thread)``
    runs ahead of each (not timed apart: it is part of the cost)."""
    done = [0] * threads
    failures: list[str] = []
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        n = 0
        while time.monotonic() < deadline and not failures:
            if before is not None:
                before(index)
            status, answer = http(port, make(index, n))
            n += 1
            if status != expect:
                failures.append(answer[:300].decode(errors="replace"))
                return
            done[index] += 1

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if failures:
        raise SystemExit(f"expected {expect}, got: {failures[0]!r}")
    return sum(done) / (time.perf_counter() - started)


# --- The lines ------------------------------------------------------------------------


class Bench:
    def __init__(self, options: Options, env: dict[str, str], sink: Sink) -> None:
        self.o = options
        self.env = env
        self.sink = sink
        self.round = 0
        self.sizes: dict[str, int] = {}

    def prepare(self) -> None:
        """Letters for every line, the baseline's table, a CSRF cookie."""
        from django.db import connection

        from bench.support import published_letter
        from bench.urls import BASELINE_TABLE

        o = self.o
        self.warm = published_letter("compare-warm", o.page_signers)
        self.cold = [
            published_letter(f"compare-cold-{i}", o.page_signers)
            for i in range(o.threads)
        ]
        self.join = published_letter("compare-join", 0)
        self.big = published_letter("compare-html", o.html_signers)
        self.pdf = published_letter("compare-pdf", o.pdf_signers)
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {BASELINE_TABLE} "
                "(id bigserial PRIMARY KEY, payload text NOT NULL)"
            )
        status, answer = http(o.port, get(f"/letters/{self.join.slug}/join/"))
        cookie = re.search(rb"csrftoken=([^;]+)", answer)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', answer)
        if status != 200 or not cookie or not token:
            raise SystemExit(f"the join form answered {status}")
        self.cookie, self.token = cookie[1].decode(), token[1].decode()
        assert self.join.current_revision_id is not None
        self.revision = self.join.current_revision_id

    def pair(
        self, site: Callable[[], float], base: Callable[[], float]
    ) -> tuple[float, float]:
        """Both measurements, in an order that flips every round."""
        if self.round % 2:
            b = base()
            return site(), b
        s = site()
        return s, base()

    def rps(self, path: str, expect: int = 200, **kw: Any) -> float:
        request = get(path)
        return requests_per_second(
            self.o.port, lambda t, n: request, expect,
            seconds=self.o.seconds, threads=self.o.threads, **kw,
        )  # fmt: skip

    def warm_page(self) -> Sample:
        path = f"/letters/{self.warm.slug}/"
        http(self.o.port, get(path))
        site, base = self.pair(
            lambda: self.rps(path), lambda: self.rps("/bench/hello/")
        )
        return Sample(site, base)

    def cold_page(self) -> Sample:
        """Each client thread views a letter of its own, whose signer list
        changes (a new ``signers_version``, as a signature makes) before each
        request: every view is the first after a change."""
        import psycopg
        from django.test import Client

        ids = [letter.pk for letter in self.cold]
        conns = [
            psycopg.connect(self.env["DATABASE_URL"], autocommit=True) for _ in ids
        ]

        def change(index: int) -> None:
            conns[index].execute(
                "UPDATE letters_letter SET signers_version = signers_version + 1 "
                "WHERE id = %s",
                [ids[index]],
            )

        def site() -> float:
            o = self.o
            requests = [get(f"/letters/{letter.slug}/") for letter in self.cold]
            return requests_per_second(
                o.port, lambda t, n: requests[t], 200, seconds=o.seconds,
                threads=o.threads, before=change,
            )  # fmt: skip

        try:
            rps, hello = self.pair(site, lambda: self.rps("/bench/hello/"))
            client, times = Client(), []
            for _ in range(7):
                change(0)
                started = time.perf_counter()
                assert client.get(f"/letters/{self.cold[0].slug}/").status_code == 200
                times.append(time.perf_counter() - started)
        finally:
            for conn in conns:
                conn.close()
        return Sample(rps, hello, {"server ms": statistics.median(times) * 1000})

    def sign(self) -> Sample:
        o = self.o
        run = uuid.uuid4().hex[:6]

        def fields(t: int, n: int) -> dict[str, str]:
            return {
                "csrfmiddlewaretoken": self.token,
                "kind": "organisation",
                "display_name": f"Joining Organisation {run}-{t}-{n}",
                "city": "Springfield", "country": "United Kingdom",
                "contact_name": "Bench Tester",
                "email": f"join-{run}-{t}-{n}@bench.example.org",
                "consent_listed": "on", "attested": "on",
                "revision": str(self.revision), "leave_empty": "",
            }  # fmt: skip

        def measure(path: str) -> float:
            return requests_per_second(
                o.port, lambda t, n: post(path, fields(t, n), self.cookie), 302,
                seconds=o.seconds, threads=o.threads,
            )  # fmt: skip

        site, base = self.pair(
            lambda: measure(f"/letters/{self.join.slug}/join/"),
            lambda: measure("/bench/insert/"),
        )
        purge_queue(self.env["REDIS_URL"], self.web_queue)
        return Sample(site, base)

    def emails(
        self, kind: str, send: Callable[[int, str], float], count: int = 0
    ) -> Sample:
        """``send`` through the worker against the smtplib loop, as emails/s."""
        count = count or self.o.emails

        def site() -> float:
            before, size_before = self.sink.counts()
            seconds = send(count, f"compare-{kind}-{self.round}-{uuid.uuid4().hex[:6]}")
            after, size_after = self.sink.counts()
            if after - before >= count:
                self.sizes[kind] = (size_after - size_before) // (after - before)
            return count / seconds

        def base() -> float:
            return count / smtplib_loop(self.sink.port, count, self.sizes[kind])

        return Sample(*self.pair(site, base), {"bytes/email": self.sizes[kind]})

    def pdf_render(self) -> Sample:
        figures: dict[str, dict[str, float]] = {}

        def run(which: str) -> float:
            figures[which] = pdf_in_child(which, self.pdf.slug, self.env)
            return figures[which]["seconds"]

        s, b = self.pair(lambda: run("site"), lambda: run("bare"))
        peaks = {"peak MiB": figures["site"]["peak_mib"]}
        return Sample(s, b, {**peaks, "bare peak MiB": figures["bare"]["peak_mib"]})

    def html_size(self) -> Sample:
        path = f"/letters/{self.big.slug}/"
        identity = get(path, {"Accept-Encoding": "identity"})
        accepted = get(path, {"Accept-Encoding": "gzip, br"})
        _, plain = http(self.o.port, identity)
        _, packed = http(self.o.port, accepted)
        return Sample(body_size(packed), body_size(plain))

    @property
    def web_queue(self) -> str:
        return f"{self.env['CELERY_TASK_DEFAULT_QUEUE']}-web"


def body_size(answer: bytes) -> float:
    return float(len(answer.split(b"\r\n\r\n", 1)[1]))


# The two email lines drive the site's sending as it is today. When invitations
# and reminders go through another machinery, adapt these two functions only:
# each seeds ``count`` recipients on a letter ``slug``, makes the site send to
# them, and returns the seconds from the request to send until the last is sent.


def reminders_through_worker(count: int, slug: str) -> float:
    """Beat's dispatcher task, run by the worker, plans and sends ``count``
    deadline reminders."""
    from datetime import timedelta

    from django.utils import timezone

    from bench import reminders as reminder_bench
    from signers.models import Delivery
    from signers.tasks import deliveries_dispatch_task

    letter = reminder_bench.seed(
        count, soft=timezone.now() + timedelta(days=2), slug=slug
    )
    started = time.perf_counter()
    sent = Delivery.objects.filter(letter=letter, status=Delivery.Status.SENT)
    # Beat queues the dispatcher every minute; a run stops after its budget.
    while not wait_for(lambda: sent.count() >= count, timeout=BEAT_SECONDS):
        deliveries_dispatch_task.delay()
    return time.perf_counter() - started


def invitations_through_worker(count: int, slug: str) -> float:
    """The organisers' "send invitations" to ``count`` prospects, sent by the
    worker (a batch task fanning out one send task per email)."""
    from datetime import timedelta

    from django.utils import timezone

    from bench import reminders as reminder_bench
    from signers import services
    from signers.models import Delivery, Prospect

    letter = reminder_bench.seed(
        count, soft=timezone.now() + timedelta(days=30), slug=slug
    )
    Prospect.objects.filter(letter=letter).update(
        status=Prospect.Status.IDENTIFIED, invited_at=None
    )
    started = time.perf_counter()
    services.invitations_send(letter=letter, actor=None)
    sent = Delivery.objects.filter(letter=letter, status=Delivery.Status.SENT)
    if not wait_for(lambda: sent.count() >= count):
        raise SystemExit("the worker did not send the invitations in time")
    return time.perf_counter() - started


BEAT_SECONDS = 60.0


def wait_for(done: Callable[[], bool], timeout: float = 1800.0) -> bool:
    """Whether ``done()`` came true within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def smtplib_loop(port: int, count: int, size: int) -> float:
    """Seconds for smtplib to send ``count`` messages of ``size`` bytes over one
    connection: what sending costs with no application around it."""
    head = (
        "From: bench@example.org\r\nTo: someone@example.org\r\n"
        "Subject: A message of the same size\r\n\r\n"
    )
    body = ("x" * 76 + "\r\n") * max(0, (size - len(head)) // 78)
    message = (head + body).encode()
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for i in range(count):
            smtp.sendmail("bench@example.org", [f"r{i}@example.org"], message)
    return time.perf_counter() - started


def purge_queue(redis_url: str, queue: str) -> None:
    """Drop the emails queued for no worker (kombu keeps a Redis list per queue)."""
    import redis

    redis.Redis.from_url(redis_url).delete(queue)


# --- The PDF, each render in a fresh process --------------------------------------


def pdf_in_child(which: str, slug: str, env: dict[str, str]) -> dict[str, float]:
    child = subprocess.run(
        [sys.executable, "-m", "bench.compare", "--pdf", which, slug],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if child.returncode:
        raise SystemExit(f"the {which} PDF render failed:\n{child.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(child.stdout.strip().splitlines()[-1])
    return figures


def pdf_child(which: str, slug: str) -> None:
    """Render the letter's PDF (the site's way, or WeasyPrint alone on the same
    text and names) and print its seconds and this process's peak memory."""
    import resource

    import django

    django.setup()
    from django.utils.html import escape
    from weasyprint import HTML

    from letters import exports, pdf
    from letters.markdown import render_markdown
    from letters.models import Letter
    from signers import selectors

    letter = Letter.objects.select_related("current_revision").get(slug=slug)
    revision = letter.current_revision
    assert revision is not None
    started = time.perf_counter()
    if which == "site":
        context = exports.letter_pdf_context(letter=letter, revision=revision)
        data = pdf.render_letter_pdf(context)
    else:
        signers = "".join(
            "<div>"
            + escape(
                ", ".join(
                    p for p in (s.display_name, s.affiliation, s.city, s.country) if p
                )
            )
            + "</div>"
            for s in selectors.signature_list_public(letter=letter)
        )
        html = (
            "<style>@page { size: A4 } body { font-family: serif; font-size: 9pt }"
            f"</style><h1>{escape(revision.title)}</h1>"
            f"{render_markdown(revision.body)}{signers}"
        )
        data = HTML(string=html).write_pdf()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mib": max(peak, children) / 1024,
                "bytes": len(data),
            }
        )
    )


# --- Running it ---------------------------------------------------------------------


def measure(bench: Bench, rounds: int, keys: Sequence[str]) -> dict[str, list[Sample]]:
    steps: list[tuple[str, Callable[[], Sample]]] = [
        ("warm", bench.warm_page),
        ("cold", bench.cold_page),
        ("sign", bench.sign),
        ("reminders", lambda: bench.emails("reminders", reminders_through_worker)),
        (
            "invitations",
            lambda: bench.emails("invitations", invitations_through_worker),
        ),
        ("pdf", bench.pdf_render),
        ("html", bench.html_size),
    ]
    steps = [(key, step) for key, step in steps if key in keys]
    results: dict[str, list[Sample]] = {}
    # A warm-up, not counted: workers load their code, the email lines learn
    # their messages' size.
    if "reminders" in keys:
        bench.emails("reminders", reminders_through_worker, count=100)
    if "invitations" in keys:
        bench.emails("invitations", invitations_through_worker, count=100)
    for n in range(rounds):
        bench.round = n
        for key, step in steps:
            print(f"Round {n + 1}/{rounds}: {key}...", flush=True)
            results.setdefault(key, []).append(step())
    return results


def report(
    results: dict[str, list[Sample]], loads: tuple[float, float], o: Options
) -> str:
    today = dt.date.today().strftime("%-d %B %Y")
    sizes = {
        "page": o.page_signers, "emails": o.emails, "pdf": o.pdf_signers,
        "html": o.html_signers,
    }  # fmt: skip
    lines = [replace(line, what=line.what.format(**sizes)) for line in LINES]
    table = markdown_table(table_rows(lines, results))
    return f"""## Against bare baselines

```sh
{COMMAND}
```

Run on {today}, {o.rounds} interleaved rounds, load average {loads[0]:.1f} when
it started and {loads[1]:.1f} when it ended. Each figure is the median over the
rounds, each ratio the median of the per-round ratios: the site's throughput as
a share of its baseline's or, for the PDF and the HTML, its time and size as a
multiple of the baseline's. gunicorn has 2 sync workers and the production
settings; {o.threads} client threads on loopback for {o.seconds:g} s per
measurement; the worker is prefork with 2 processes; the SMTP sink on loopback
accepts everything.

{table}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0, help="per measurement")
    parser.add_argument("--threads", type=int, default=4, help="HTTP client threads")
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("BENCH_PORT", "8131"))
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: small and short"
    )
    parser.add_argument("--no-write", action="store_true", help="leave the docs alone")
    parser.add_argument(
        "--lines", default=",".join(line.key for line in LINES),
        help="which lines to measure (comma-separated keys)",
    )  # fmt: skip
    args = parser.parse_args()
    keys = [k.strip() for k in args.lines.split(",") if k.strip()]
    unknown = set(keys) - {line.key for line in LINES}
    if unknown:
        parser.error(f"unknown lines {sorted(unknown)}")
    quick = args.quick
    options = Options(
        rounds=1 if quick else max(args.rounds, 3),
        seconds=1.0 if quick else args.seconds,
        threads=args.threads,
        emails=100 if quick else args.emails,
        page_signers=1_000,
        pdf_signers=500 if quick else 5_000,
        html_signers=1_000 if quick else 10_000,
        port=args.port,
        write=not (quick or args.no_write) and len(keys) == len(LINES),
        lines=keys,
    )
    # Stopped by a signal, it still stops its processes and drops its database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    run = uuid.uuid4().hex[:8]
    env = {**os.environ, **environment(run)}

    import django

    django.setup()
    from django.core.management import call_command

    from bench.support import create_database, drop_database

    sink = Sink(free_port())
    sink.start()
    VAR.mkdir(exist_ok=True)
    print("Preparing a throwaway database and the static files...", flush=True)
    old_name, database_url = create_database(f"compare_{run}")
    env["DATABASE_URL"] = database_url
    env["EMAIL_URL"] = f"smtp://127.0.0.1:{sink.port}"
    web_env = {
        **env,
        "CELERY_TASK_DEFAULT_QUEUE": f"{env['CELERY_TASK_DEFAULT_QUEUE']}-web",
    }
    server = worker = None
    loads = (os.getloadavg()[0], 0.0)
    try:
        call_command("collectstatic", verbosity=0, interactive=False)
        server = start_gunicorn(options.port, web_env)
        worker = start_worker(env, VAR / "bench-compare-worker.log")
        bench = Bench(options, env, sink)
        print("Seeding letters...", flush=True)
        bench.prepare()
        results = measure(bench, options.rounds, options.lines)
        loads = (loads[0], os.getloadavg()[0])
    finally:
        stop(server)
        stop(worker)
        sink.stop()
        drop_database(old_name)
        purge_queue(env["REDIS_URL"], env["CELERY_TASK_DEFAULT_QUEUE"])
        purge_queue(env["REDIS_URL"], web_env["CELERY_TASK_DEFAULT_QUEUE"])

    text = report(results, loads, options)
    print()
    print(text)
    if options.write:
        DOC.write_text(replace_section(DOC.read_text(), text))
        print(f"Written to {DOC.relative_to(ROOT)}.")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--pdf":
        pdf_child(sys.argv[2], sys.argv[3])
    else:
        main()
