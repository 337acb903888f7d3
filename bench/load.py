"""Public page views and signing at once under gunicorn: no signature lost or doubled.

    python -m bench.load [--seconds 60] [--web-workers 3] [--viewers 4]
                         [--joiners 2] [--invitees 1] [--same-org 3] [--listed 1000]
    make bench-load BENCH_ARGS="--seconds 30"

Needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL, CACHE_URL); it creates a
throwaway copy of the database and drops it afterwards. gunicorn (sync workers)
serves a published letter that is open for signatures and already lists
``--listed`` signers; client threads on loopback then, for ``--seconds``:

- view its public page (``signers:public``);
- sign it through the open form (``signers:join``) as new organisations, each
  a GET of the form and a POST (the signature waits for email confirmation);
- sign it from invitation links (``signers:invitation``), confirmed at once, so
  the public page's cache changes under the viewers;
- every so often, ``--same-org`` threads POST the same organisation at the same
  instant (spelt differently: "The X", "x", "X-…"; in every other round with
  the same email too).

The join form's rate limits are lifted, since every request comes from
127.0.0.1. Afterwards the database must hold exactly one live signature per
accepted submission, and each simultaneous round exactly one signature, with
the kind "has already signed" answer for the others. Prints two tables and
exits non-zero if a signature was lost or doubled, or if the consent check
(``manage.py check_consent``) finds a name counted without consent.
"""

import argparse
import http.client
import itertools
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlencode

from bench.support import (
    ROOT,
    bench_environment,
    consent_report,
    create_database,
    drop_database,
    percentile,
    print_table,
    require_postgresql,
    stop,
    wait_for_port,
)

QUEUE = f"bench-load-{uuid.uuid4().hex[:8]}"
ENV = bench_environment(
    # One client address sends everything: the limits would measure themselves.
    SIGNERS_JOIN_LIMIT_PER_IP="100000000",
    SIGNERS_JOIN_LIMIT_PER_EMAIL="100000000",
    # Confirmation and receipt emails are queued where no worker listens, and
    # nothing cached by an earlier run (same letter id, new database) is served.
    CELERY_TASK_DEFAULT_QUEUE=QUEUE,
    CACHE_KEY_PREFIX=QUEUE,
)
require_postgresql()

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402

from coalition.models import Coalition, User  # noqa: E402
from coalition.tokens import make_token  # noqa: E402
from letters.models import Letter, Revision, text_hash  # noqa: E402
from signers import names  # noqa: E402
from signers.models import Prospect, Signature  # noqa: E402

SLUG = "load"
ALREADY_SIGNED = "has already signed this letter"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CSRF_COOKIE = re.compile(r"csrftoken=([^;,\s]+)")
SPELLINGS = ("The {}", "{}", "{}", "{}")  # with case and hyphens varied below


@dataclass
class Stats:
    """Latencies and failures per kind of request, shared by the threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)

    def record(self, kind: str, seconds: float, ok: bool, sample: str = "") -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            if not ok:
                self.errors[kind] += 1
                self.samples.setdefault(kind, sample)


@dataclass
class Outcomes:
    """What the server answered to each signing attempt."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    accepted: list[str] = field(default_factory=list)  # new organisations
    invited: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)  # error or timeout
    # Simultaneous rounds: name -> answers ("accepted", "kind", "error").
    rounds: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, bucket: list[str], name: str) -> None:
        with self.lock:
            bucket.append(name)

    def answer(self, name: str, answer: str) -> None:
        with self.lock:
            self.rounds[name].append(answer)


class Client:
    """One thread's HTTP client: a connection per request, like a browser
    against gunicorn's sync workers, and the CSRF cookie it was given."""

    def __init__(self, port: int, stats: Stats) -> None:
        self.port = port
        self.stats = stats
        self.cookie = ""

    def request(
        self, kind: str, method: str, path: str, body: dict[str, str] | None = None
    ) -> tuple[int, str]:
        """Send one request, record its latency under ``kind``; (status, body),
        status 0 when the connection failed or timed out."""
        headers = {"Cookie": f"csrftoken={self.cookie}"} if self.cookie else {}
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            status, text = response.status, response.read().decode("utf-8", "replace")
            cookie = CSRF_COOKIE.search(response.getheader("Set-Cookie") or "")
            if cookie:
                self.cookie = cookie.group(1)
        except (OSError, http.client.HTTPException) as exc:
            status, text = 0, f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()
        self.seconds = time.perf_counter() - started
        return status, text

    def get_form(self, kind: str, path: str) -> str | None:
        """GET a signing page; its CSRF token, or None (counted as an error)."""
        status, text = self.request(kind, "GET", path)
        token = CSRF_INPUT.search(text) if status == 200 else None
        self.stats.record(kind, self.seconds, token is not None, f"{status} {text}")
        return token.group(1) if token else None


def form_fields(*, token: str, revision: int, name: str, email: str) -> dict[str, str]:
    return {
        "csrfmiddlewaretoken": token,
        "display_name": name,
        "city": "Springfield",
        "country": "United Kingdom",
        "contact_name": "Load Tester",
        "email": email,
        "consent_listed": "on",
        "attested": "on",
        "revision": str(revision),
        "leave_empty": "",
    }


def seed(listed: int, prospects: int) -> tuple[Letter, list[Prospect]]:
    author = User.objects.create_user("bench-load@example.org", "x" * 12)
    points = ["Clean air is a right.", "Act before the next school year."]
    body = "We ask the Council to act.\n\n" * 5
    coalition, _ = Coalition.objects.get_or_create(
        slug="bench", defaults={"name": "Benchmark coalition"}
    )
    letter = Letter.objects.create(
        coalition=coalition,
        title="A letter under load", slug=SLUG, status=Letter.Status.PUBLISHED,
        signer_kinds=Letter.SignerKinds.ORGANISATIONS, open_joining=True,
        published_at=timezone.now(), points=points, body=body,
    )  # fmt: skip
    letter.current_revision = Revision.objects.create(
        letter=letter, number=1, title=letter.title, points=points, body=body,
        author=author, sha256=text_hash(addressee="", points=points, body=body),
    )  # fmt: skip
    letter.save()
    Signature.objects.bulk_create(
        (
            Signature(
                letter=letter,
                revision=letter.current_revision,
                status=Signature.Status.CONFIRMED,
                source=Signature.Source.IMPORT,
                display_name=f"Listed Association {i:05d}",
                sort_name=names.sort_name(f"Listed Association {i:05d}"),
                normalised_name=names.normalise_name(f"Listed Association {i:05d}"),
                city="Springfield",
                email=f"listed{i}@load.example.org",
                attested=True,
            )
            for i in range(listed)
        ),
        batch_size=2_000,
    )
    invitees = Prospect.objects.bulk_create(
        Prospect(
            letter=letter,
            organisation=f"Invited Organisation {i:05d}",
            contact_name=f"Contact {i}",
            email=f"invited{i}@load.example.org",
            status=Prospect.Status.INVITED,
            invited_at=timezone.now(),
        )
        for i in range(prospects)
    )
    return letter, invitees


def start_gunicorn(port: int, workers: int, database_url: str) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "gunicorn", "coalition.wsgi",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
        "--worker-class", "sync", "--log-level", "warning",
    ]  # fmt: skip
    env = {**os.environ, "DATABASE_URL": database_url}
    process = subprocess.Popen(cmd, cwd=ROOT, env=env)
    wait_for_port(port, process=process)
    return process


class Load:
    def __init__(self, args: argparse.Namespace, letter: Letter, invitees: list):
        self.args = args
        assert letter.current_revision_id is not None
        self.revision = letter.current_revision_id
        self.invitees = iter(invitees)
        self.stats = Stats()
        self.outcomes = Outcomes()
        self.deadline = 0.0
        self.counter = itertools.count()
        self.lock = threading.Lock()

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    def view(self) -> None:
        client = Client(self.args.port, self.stats)
        while self.running():
            status, text = client.request("page", "GET", f"/letters/{SLUG}/")
            self.stats.record("page", client.seconds, status == 200, text[:200])

    def join(self) -> None:
        client = Client(self.args.port, self.stats)
        path = f"/letters/{SLUG}/join/"
        while self.running():
            token = client.get_form("join form", path)
            if token is None:
                continue
            i = next(self.counter)
            name = f"Load Test Organisation {i:06d}"
            fields = form_fields(
                token=token, revision=self.revision, name=name,
                email=f"org{i}@load.example.org",
            )  # fmt: skip
            status, text = client.request("join", "POST", path, fields)
            self.stats.record("join", client.seconds, status == 302, text[:300])
            bucket = (
                self.outcomes.accepted if status == 302 else self.outcomes.unanswered
            )
            self.outcomes.add(bucket, name)

    def invitation(self) -> None:
        client = Client(self.args.port, self.stats)
        while self.running():
            with self.lock:
                prospect = next(self.invitees, None)
            if prospect is None:
                return
            path = f"/invite/{make_token('invite', prospect.pk)}/"
            token = client.get_form("invitation page", path)
            if token is None:
                continue
            fields = form_fields(
                token=token, revision=self.revision, name=prospect.organisation,
                email=prospect.email,
            )  # fmt: skip
            status, text = client.request("invitation", "POST", path, fields)
            self.stats.record("invitation", client.seconds, status == 302, text[:300])
            bucket = (
                self.outcomes.invited if status == 302 else self.outcomes.unanswered
            )
            self.outcomes.add(bucket, prospect.organisation)

    def same_organisation(self, index: int, barrier: threading.Barrier) -> None:
        """One of ``--same-org`` threads that POST one organisation together."""
        client = Client(self.args.port, self.stats)
        path = f"/letters/{SLUG}/join/"
        for round_ in itertools.count():
            token = client.get_form("join form", path) if self.running() else None
            try:
                if token is None:
                    barrier.abort()
                    return
                barrier.wait(timeout=30)
            except threading.BrokenBarrierError:
                return
            base = f"Duplicate Organisation {round_:05d}"
            name = SPELLINGS[index % len(SPELLINGS)].format(base)
            name = name.upper() if index % 4 == 2 else name
            name = name.replace(" ", "-", 1) if index % 4 == 3 else name
            same_email = round_ % 2 == 0
            email = f"dup{round_}" + ("" if same_email else f"-{index}")
            fields = form_fields(
                token=token, revision=self.revision, name=name,
                email=f"{email}@load.example.org",
            )  # fmt: skip
            status, text = client.request(
                "join, same organisation", "POST", path, fields
            )
            answer = (
                "accepted" if status == 302
                else "kind" if status == 200 and ALREADY_SIGNED in text
                else "error"
            )  # fmt: skip
            ok = answer != "error"
            self.stats.record("join, same organisation", client.seconds, ok, text[:300])
            self.outcomes.answer(base, answer)

    def warm_up(self) -> None:
        """Have every gunicorn worker load its code and templates first."""
        client = Client(self.args.port, Stats())
        for _ in range(self.args.web_workers * 3):
            client.request("", "GET", f"/letters/{SLUG}/")
            client.request("", "GET", f"/letters/{SLUG}/join/")

    def run(self) -> float:
        a = self.args
        barrier = threading.Barrier(a.same_org) if a.same_org > 1 else None
        threads = [threading.Thread(target=self.view) for _ in range(a.viewers)]
        threads += [threading.Thread(target=self.join) for _ in range(a.joiners)]
        threads += [threading.Thread(target=self.invitation) for _ in range(a.invitees)]
        if barrier is not None:
            threads += [
                threading.Thread(target=self.same_organisation, args=(i, barrier))
                for i in range(a.same_org)
            ]
        self.warm_up()
        self.deadline = time.monotonic() + a.seconds
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - started


def verify(letter: Letter, outcomes: Outcomes) -> tuple[list[list], list[str], bool]:
    """Compare what the server answered with the rows in the database: a table,
    notes, and whether every accepted signature is there exactly once."""
    live = Signature.objects.filter(letter=letter, status__in=Signature.LIVE_STATUSES)
    by_name = Counter(
        live.exclude(source=Signature.Source.IMPORT).values_list(
            "normalised_name", flat=True
        )
    )
    rows: list[list] = []

    def check(label: str, accepted: list[str], status: str) -> bool:
        found = [by_name[names.normalise_name(n)] for n in accepted]
        present = sum(1 for n in found if n >= 1)
        doubled = sum(n - 1 for n in found if n > 1)
        rows.append([label, len(accepted), present, doubled, status])
        return present == len(accepted) and not doubled

    rounds = outcomes.rounds
    at_once = max((len(a) for a in rounds.values()), default=0)
    good = all(
        [
            check("new organisations (open join)", outcomes.accepted, "pending"),
            check("invitations", outcomes.invited, "confirmed"),
            check(f"one organisation, {at_once} at once", list(rounds), "pending"),
        ]
    )
    winners = sum(1 for a in rounds.values() if a.count("accepted") == 1)
    kind = sum(a.count("kind") for a in rounds.values())
    for column in ("normalised_name", "email"):
        clash = live.values(column).annotate(n=Count("id")).filter(n__gt=1)
        good = good and not clash.exists()
    known = {
        names.normalise_name(n)
        for n in [*outcomes.accepted, *outcomes.invited, *rounds]
    }
    saved_unanswered = sum(n for name, n in by_name.items() if name not in known)
    notes = [
        f"Simultaneous rounds: {len(rounds)}; exactly one accepted in {winners}; "
        f"the others were told it 'has already signed' {kind} times.",
        f"Submissions that got no answer (error or timeout): "
        f"{len(outcomes.unanswered)}; rows saved for them: {saved_unanswered}.",
    ]
    return rows, notes, good and winners == len(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="load duration")
    parser.add_argument("--port", type=int, default=8120)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--viewers", type=int, default=4, help="page view threads")
    parser.add_argument("--joiners", type=int, default=2, help="open join threads")
    parser.add_argument("--invitees", type=int, default=1, help="invitation threads")
    parser.add_argument(
        "--same-org", type=int, default=3, help="threads signing one organisation"
    )
    parser.add_argument("--listed", type=int, default=1000, help="signers listed")
    args = parser.parse_args()

    print("Preparing a throwaway database and the static files...", flush=True)
    old_name, database_url = create_database("load")
    server = None
    try:
        call_command("collectstatic", verbosity=0, interactive=False)
        letter, invitees = seed(args.listed, prospects=int(args.seconds * 50) + 100)
        server = start_gunicorn(args.port, args.web_workers, database_url)
        print(f"Load for {args.seconds:.0f} s on 127.0.0.1:{args.port}...", flush=True)
        load = Load(args, letter, invitees)
        before = os.getloadavg()[0]
        elapsed = load.run()
        after = os.getloadavg()[0]
        stop(server)
        server = None
        rows, notes, good = verify(letter, load.outcomes)
        violations, consent = consent_report()
        vendor = connection.vendor
    finally:
        stop(server)
        drop_database(old_name)
        purge_queue()

    stats = load.stats
    threads = args.viewers + args.joiners + args.invitees + args.same_org
    cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    print(
        f"\nLoad: {elapsed:.0f} s, gunicorn {args.web_workers} sync workers, "
        f"{vendor}, {cache}, {threads} client threads on loopback, "
        f"{args.listed:,} signers listed; load average {before:.1f} before, "
        f"{after:.1f} after\n"
    )
    table = []
    order = ["page", "join form", "join", "join, same organisation",
             "invitation page", "invitation"]  # fmt: skip
    everything: list[float] = []
    for kind in order:
        values = sorted(stats.latencies.get(kind, []))
        everything += values
        if values:
            table.append(latency_row(kind, values, stats.errors[kind], elapsed))
    everything.sort()
    table.append(latency_row("all", everything, sum(stats.errors.values()), elapsed))
    print_table(["requests", "count", "errors", "p50 ms", "p95 ms", "req/s"], table)
    print()
    print_table(["signatures", "expected", "present", "duplicated", "status"], rows)
    print()
    for line in notes:
        print(line)
    for kind, sample in stats.samples.items():
        print(f"First error for {kind}: {sample[:300]!r}")
    print()
    for line in consent:
        print(line)
    good = good and not violations
    print(
        "\nNo signature lost, none doubled, none counted without consent."
        if good
        else "\nINVARIANT BROKEN."
    )
    if not good:
        raise SystemExit(1)


def latency_row(kind: str, values: list[float], errors: int, elapsed: float) -> list:
    return [
        kind,
        len(values),
        errors,
        f"{percentile(values, 50) * 1000:.0f}",
        f"{percentile(values, 95) * 1000:.0f}",
        f"{len(values) / elapsed:.1f}",
    ]


def purge_queue() -> None:
    """Drop the emails queued for no worker (kombu keeps a Redis list per queue)."""
    import redis

    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(QUEUE)


if __name__ == "__main__":
    main()
