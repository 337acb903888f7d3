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
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from bench.compare_emails import (
    invitations_through_worker,
    purge_queue,
    reminders_through_worker,
    smtplib_loop,
)
from bench.compare_processes import (
    Options,
    Sink,
    environment,
    free_port,
    get,
    http,
    post,
    requests_per_second,
    start_gunicorn,
    start_worker,
)
from bench.compare_table import (
    COMMAND,
    DOC,
    LINES,
    Sample,
    markdown_table,
    replace_section,
    table_rows,
)
from bench.support import ROOT, VAR, stop

# --- The lines ------------------------------------------------------------------------

# What every current browser sends with a page request.
BROWSER = {"Accept-Encoding": "gzip, deflate, br"}


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

    def rps(
        self,
        path: str,
        expect: int = 200,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> float:
        request = get(path, headers)
        return requests_per_second(
            self.o.port, lambda t, n: request, expect,
            seconds=self.o.seconds, threads=self.o.threads, **kw,
        )  # fmt: skip

    def warm_page(self) -> Sample:
        """Both asked as a browser asks: it accepts compressed answers."""
        path = f"/letters/{self.warm.slug}/"
        http(self.o.port, get(path, BROWSER))
        site, base = self.pair(
            lambda: self.rps(path, headers=BROWSER),
            lambda: self.rps("/bench/hello/", headers=BROWSER),
        )
        return Sample(site, base)

    def cold_page(self) -> Sample:
        """Each client thread views a letter of its own, whose signer list
        changes (a new ``signers_version``, as a signature makes) before each
        request: every view is the first after a change."""
        import psycopg
        from django.test import Client

        from letters.public_pages import public_pages_changed

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
            public_pages_changed()

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
        self.forget_sign_ups()
        return Sample(site, base)

    def forget_sign_ups(self) -> None:
        """The sign-ups' dispatch tasks went to a queue no worker reads: drop
        them, the mark their kicks left (until it expired, the next line's
        kick would find it and queue nothing, waiting for beat) and the
        confirmation emails they queued (the next line's dispatcher would
        send them first)."""
        import redis

        from coalition.outbox.models import OutboxMessage
        from coalition.outbox.tasks import KICK_MARK

        purge_queue(self.env["REDIS_URL"], self.web_queue)
        cache = redis.Redis.from_url(self.env["CACHE_URL"])
        for key in cache.scan_iter(match=f"*{KICK_MARK}"):
            cache.delete(key)
        OutboxMessage.objects.filter(letter_id=self.join.pk).delete()

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


def own_peak_kib() -> int:
    """This program's peak resident memory in KiB. Linux's ``ru_maxrss``
    keeps the peak of the process before it ran this program: the bench's own,
    whose fork this is. ``VmHWM`` starts again with the program."""
    import resource

    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def pdf_child(which: str, slug: str) -> None:
    """Render the letter's PDF (the site's way, or WeasyPrint alone on the same
    text and names) and print its seconds and this process's peak memory."""
    import resource

    import django

    django.setup()
    from django.utils.html import escape
    from weasyprint import HTML

    from letters import pdf
    from letters.markdown import render_markdown
    from letters.models import Letter
    from signers import exports
    from signers.selectors.public import signature_list_public

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
            for s in signature_list_public(letter=letter)
        )
        html = (
            "<style>@page { size: A4 } body { font-family: serif; font-size: 9pt }"
            f"</style><h1>{escape(revision.title)}</h1>"
            f"{render_markdown(revision.body)}{signers}"
        )
        data = HTML(string=html).write_pdf()
    seconds = time.perf_counter() - started
    peak = own_peak_kib()
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
