"""A reminder batch sent by real Celery workers while things break: every
reminder arrives, and only a conversation cut mid-send delivers one twice.

    python -m bench.faults [--count 2000] [--smtp-down 60] [--tick 10]
                           [--claim-timeout 60] [--scenarios kill,smtp-down]
    make bench-faults BENCH_ARGS="--smtp-down 20"

Needs PostgreSQL (DATABASE_URL; it works on a throwaway copy). It starts its own
``redis-server`` on 127.0.0.1:6390 (``BENCH_REDIS_PORT``) as the broker, the one
it restarts; an SMTP server in this process that notes every message's
Message-ID, recipient and the conversation that carried it; one ``celery
worker`` (prefork, 2 processes) and ``celery beat``. For each scenario it
plans ``--count`` reminders (a letter of its own, seeded like
``bench.reminders``), which beat's dispatcher then sends:

- baseline: nothing goes wrong;
- kill: when part of the batch has arrived, at a moment the SMTP server holds a
  message it has not answered yet, the worker (every process of it) gets
  SIGKILL; ``--signers`` people sign the open letter (their confirmation emails
  wait on the broker); Redis is killed and started again, empty; then the
  worker too. Signer emails are counted by recipient;
- double-beat: a second beat runs beside the first, so two dispatchers run;
- smtp-down: when part of the batch has arrived, the SMTP server goes away
  (open conversations cut) for ``--smtp-down`` seconds, then comes back.

Beat ticks every ``--tick`` seconds (60 in production) and a dead sender's
claim is taken back after ``--claim-timeout`` seconds (600 in production);
``bench/fault_settings.py`` scales the dispatcher's budget and the task time
limits with it. Prints a table; exits non-zero if a reminder is missing or
arrived twice without a cut conversation to explain it, or if the consent check
(``manage.py check_consent``) finds a name counted without consent.
"""

import argparse
import asyncio
import itertools
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import weakref
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from bench.support import (
    ROOT,
    VAR,
    bench_environment,
    consent_report,
    create_database,
    drop_database,
    print_table,
    require_postgresql,
    stop,
    wait_for_port,
)

RUN_DIR = VAR / "bench-faults"
SCENARIOS = ("baseline", "kill", "double-beat", "smtp-down")
REDIS_PORT = int(os.environ.get("BENCH_REDIS_PORT", "6390"))
BROKER = f"redis://127.0.0.1:{REDIS_PORT}/0"
# This process queues signer emails too: on the benchmark's own Redis.
bench_environment(
    REDIS_URL=BROKER,
    CELERY_BROKER_URL=BROKER,
    CACHE_URL=f"redis://127.0.0.1:{REDIS_PORT}/1",
)
require_postgresql(redis=False)

from django.utils import timezone  # noqa: E402

from bench import reminders as reminder_bench  # noqa: E402  (sets Django up)
from coalition.outbox.models import OutboxMessage  # noqa: E402
from letters.models import Letter  # noqa: E402
from signers.models import Signature  # noqa: E402
from signers.services.sending import outreach_plan_due  # noqa: E402
from signers.services.signing import signature_create  # noqa: E402

PENDING = (OutboxMessage.Status.QUEUED, OutboxMessage.Status.SENDING)


@dataclass(frozen=True)
class Received:
    message_id: str
    recipient: str
    conversation: int


DISPATCH_RUN = re.compile(
    r"\[(?P<at>[\d-]+ [\d:,]+): INFO/[^\]]+\] Task coalition\.outbox\.tasks\."
    r"outbox_dispatch_task\[[^\]]+\] succeeded in (?P<seconds>[\d.]+)s: "
    r"\{'claimed': \d+, 'reclaimed': (?P<reclaimed>\d+), 'sent': (?P<sent>\d+), "
    r"'retrying': (?P<retrying>\d+), 'failed': \d+, 'cancelled': \d+, "
    r"'deferred': (?P<deferred>\d+)"
)


class Sink:
    """An SMTP server on loopback that keeps, for every message, its Message-ID,
    recipient and the number of the conversation that carried it, and the
    conversations that ended with QUIT. It keeps a message, then answers
    ``delay`` seconds later, like a server that queues it and then replies."""

    def __init__(self, port: int, delay: float) -> None:
        self.port = port
        self.delay = delay
        self.received: list[Received] = []
        self.quit: set[int] = set()
        self.in_data = 0
        self.numbers = itertools.count(1)
        self.protocols: weakref.WeakSet[SMTP] = weakref.WeakSet()
        self.controller: Controller | None = None

    def _number(self, session: Any) -> int:
        if not hasattr(session, "bench_number"):
            session.bench_number = next(self.numbers)
        return session.bench_number

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        message_id = BytesHeaderParser().parsebytes(raw).get("Message-ID", "")
        recipient = ",".join(envelope.rcpt_tos)
        self.received.append(Received(message_id, recipient, self._number(session)))
        self.in_data += 1
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_data -= 1
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server: SMTP, session: Any, envelope: Any) -> str:
        self.quit.add(self._number(session))
        return "221 Bye"

    def start(self) -> None:
        sink = self

        class Keeping(Controller):
            def factory(self) -> SMTP:
                protocol = super().factory()
                sink.protocols.add(protocol)
                return protocol

        self.controller = Keeping(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Go away at once: open conversations are cut, new ones refused."""
        controller = self.controller
        if controller is None:
            return

        def cut() -> None:
            for protocol in list(self.protocols):
                transport = protocol.transport
                if isinstance(transport, asyncio.Transport):
                    transport.abort()

        controller.loop.call_soon_threadsafe(cut)
        controller.stop()
        self.controller = None

    def cut_copies(self) -> list[Received]:
        """The last message of each conversation that ended without QUIT: its
        sender may not have learnt that it arrived."""
        last = {r.conversation: r for r in self.received}
        return [r for number, r in last.items() if number not in self.quit]


class Processes:
    """Redis, the worker and beat processes, each in a process group of its own
    so that SIGKILL takes the whole of it."""

    def __init__(self, env: dict[str, str], redis_port: int) -> None:
        self.env = env
        self.redis_port = redis_port
        self.redis: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.beats: list[subprocess.Popen] = []
        self.worker_log = RUN_DIR / "worker.log"

    def _start(self, cmd: list[str], log: Path) -> subprocess.Popen:
        with log.open("ab") as out:
            return subprocess.Popen(
                cmd, cwd=ROOT, env=self.env, stdout=out, stderr=out,
                start_new_session=True,
            )  # fmt: skip

    def start_redis(self) -> None:
        cmd = [
            "redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--daemonize", "no",
        ]  # fmt: skip
        self.redis = self._start(cmd, RUN_DIR / "redis.log")
        wait_for_port(self.redis_port, process=self.redis)

    def kill_redis(self) -> None:
        self._kill(self.redis)

    def start_worker(self) -> None:
        ready_before = self.worker_log_text().count(" ready.")
        cmd = [
            sys.executable, "-m", "celery", "-A", "coalition", "worker",
            "--concurrency=2", "--loglevel=INFO", "-n", "bench-faults@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        self.worker = self._start(cmd, self.worker_log)
        deadline = time.monotonic() + 60
        while self.worker_log_text().count(" ready.") <= ready_before:
            if self.worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the worker did not start: see {self.worker_log}")
            time.sleep(0.2)

    def kill_worker(self) -> None:
        self._kill(self.worker)

    def start_beat(self) -> subprocess.Popen:
        n = len(self.beats) + 1
        cmd = [
            sys.executable, "-m", "celery", "-A", "coalition", "beat",
            "--loglevel=INFO", f"--schedule={RUN_DIR / f'beat-{n}-schedule'}",
        ]  # fmt: skip
        beat = self._start(cmd, RUN_DIR / f"beat-{n}.log")
        self.beats.append(beat)
        return beat

    def worker_log_text(self) -> str:
        if not self.worker_log.exists():
            return ""
        return self.worker_log.read_text(errors="replace")

    @staticmethod
    def _kill(process: subprocess.Popen | None) -> None:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop_all(self) -> None:
        for beat in self.beats:
            stop(beat)
        self.kill_worker()
        self.kill_redis()


@dataclass
class Result:
    scenario: str
    expected: int
    delivered: int
    missing: int
    duplicates: int
    cut: int
    drain: float | None
    notes: list[str]

    @property
    def good(self) -> bool:
        return self.missing == 0 and self.duplicates == self.cut


class Bench:
    def __init__(self, args: argparse.Namespace, sink: Sink, procs: Processes) -> None:
        self.args = args
        self.sink = sink
        self.procs = procs

    def plan(self, scenario: str) -> tuple[Any, set[str]]:
        """A letter whose ``--count`` invitees are due a reminder now, planned."""
        now = timezone.now()
        letter = reminder_bench.seed(
            self.args.count, soft=now + timedelta(days=2), slug=f"faults-{scenario}"
        )
        outreach_plan_due(now=now)
        expected = set(
            OutboxMessage.objects.filter(letter=letter).values_list(
                "message_id", flat=True
            )
        )
        assert len(expected) == self.args.count, len(expected)
        return letter, expected

    def sign_now(self, count: int) -> tuple[Letter, set[str]]:
        """``count`` open-join signatures on a letter of their own: each queues
        its confirmation email (a task on the broker) as a visitor's would."""
        letter = reminder_bench.seed(0, slug="faults-signers")
        letter.status, letter.open_joining = Letter.Status.PUBLISHED, True
        letter.save()
        assert letter.current_revision_id is not None
        addresses = {f"signer{i}@faults.example.org" for i in range(count)}
        for i, address in enumerate(sorted(addresses)):
            signature_create(
                letter=letter, revision_id=letter.current_revision_id,
                source=Signature.Source.OPEN_JOIN, email=address,
                display_name=f"Signing Organisation {i:05d}", attested=True,
            )  # fmt: skip
        return letter, addresses

    def arrived(self, expected: set[str]) -> int:
        return len({r.message_id for r in self.sink.received} & expected)

    def wait_for_share(self, expected: set[str], *, mid_send: bool) -> int:
        """Wait until ``--at`` of the batch arrived (and, with ``mid_send``, the
        server holds a message it has not answered, for up to 10 s more)."""
        wanted = int(len(expected) * self.args.at)
        while self.arrived(expected) < wanted:
            time.sleep(0.05)
        give_up = time.monotonic() + 10
        while mid_send and not self.sink.in_data and time.monotonic() < give_up:
            time.sleep(0.0005)
        return self.arrived(expected)

    def run(self, scenario: str) -> list[Result]:
        print(f"Scenario {scenario}...", flush=True)
        log_start = len(self.procs.worker_log_text())
        notes: list[str] = []
        extra_beat = self.procs.start_beat() if scenario == "double-beat" else None
        letter, expected = self.plan(scenario)
        signers: tuple[Letter | None, set[str]] = (None, set())
        started = time.monotonic()
        if scenario == "kill":
            arrived = self.wait_for_share(expected, mid_send=True)
            holding = self.sink.in_data
            self.procs.kill_worker()
            claimed = OutboxMessage.objects.filter(
                letter=letter, status=OutboxMessage.Status.SENDING
            ).count()
            # People sign while no worker runs: their emails wait on the broker.
            signers = self.sign_now(self.args.signers)
            self.procs.kill_redis()
            time.sleep(self.args.outage)
            self.procs.start_redis()
            self.procs.start_worker()
            notes.append(
                f"worker and Redis killed after {arrived} messages, while the server "
                f"held {holding} unanswered; {claimed} deliveries were claimed by the "
                f"dead worker; {len(signers[1])} signers signed before Redis went "
                f"down; worker and Redis back after {self.args.outage:g} s"
            )
        elif scenario == "smtp-down":
            arrived = self.wait_for_share(expected, mid_send=False)
            self.sink.stop()
            time.sleep(self.args.smtp_down)
            self.sink.start()
            notes.append(
                f"SMTP server down for {self.args.smtp_down:g} s after {arrived} "
                "messages"
            )
        drain, signers_drain = self.wait_until_drained(letter, signers[0], started)
        time.sleep(3)  # room for a late copy, if there were one
        if extra_beat is not None:
            stop(extra_beat)
            self.procs.beats.remove(extra_beat)
        notes += self.dispatch_notes(self.procs.worker_log_text()[log_start:])
        statuses = Counter(
            OutboxMessage.objects.filter(letter=letter).values_list("status", flat=True)
        )
        if set(statuses) != {OutboxMessage.Status.SENT}:
            notes.append(f"deliveries not sent: {dict(statuses)}")
        results = [self.result(scenario, expected, drain, notes)]
        if signers[0] is not None:
            label = f"{scenario}: signer emails"
            results.append(self.result(label, signers[1], signers_drain, []))
        return results

    def wait_until_drained(
        self, letter: Letter, signers: Letter | None, started: float
    ) -> tuple[float | None, float | None]:
        """Seconds until no delivery is planned or claimed, and until every
        signer email is sent; None for what was not done at the time-out."""
        deadline = started + self.args.timeout
        pending = OutboxMessage.objects.filter(letter=letter, status__in=PENDING)
        unsent = OutboxMessage.objects.filter(letter=signers, sent_at__isnull=True)
        drained: float | None = None
        sent: float | None = None if signers else 0.0
        while time.monotonic() < deadline and (drained is None or sent is None):
            if drained is None and not pending.exists():
                drained = time.monotonic() - started
            if sent is None and not unsent.exists():
                sent = time.monotonic() - started
            time.sleep(0.5)
        return drained, sent

    def result(
        self, scenario: str, expected: set[str], drain: float | None, notes: list[str]
    ) -> Result:
        """Copies of each expected message, told apart by Message-ID or, for
        emails whose Message-ID is not known in advance, by recipient."""

        def key(r: Received) -> str:
            return r.message_id if r.message_id in expected else r.recipient

        copies = Counter(key(r) for r in self.sink.received if key(r) in expected)
        cut = Counter(key(r) for r in self.sink.cut_copies())
        twice = {k: n - 1 for k, n in copies.items() if n > 1}
        return Result(
            scenario=scenario,
            expected=len(expected),
            delivered=len(copies),
            missing=len(expected) - len(copies),
            duplicates=sum(twice.values()),
            cut=sum(min(extra, cut[k]) for k, extra in twice.items()),
            drain=drain,
            notes=notes,
        )

    @staticmethod
    def dispatch_notes(log: str) -> list[str]:
        """How many dispatcher runs there were, how many found work (sent,
        took back claims or put sends off), and how many of those overlapped."""
        runs = []
        matches = list(DISPATCH_RUN.finditer(log))
        for match in matches:
            sent, reclaimed, retrying, deferred = (
                int(match[name])
                for name in ("sent", "reclaimed", "retrying", "deferred")
            )
            deferred += retrying
            if sent or reclaimed or deferred:
                end = datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S,%f")
                begin = end - timedelta(seconds=float(match["seconds"]))
                runs.append((begin, end, sent, reclaimed, deferred))
        overlapping = sum(
            1
            for i, (b, e, *_) in enumerate(runs)
            if any(b < e2 and b2 < e for j, (b2, e2, *_) in enumerate(runs) if j != i)
        )
        reclaimed, deferred = sum(r[3] for r in runs), sum(r[4] for r in runs)
        return [
            f"{len(matches)} dispatcher runs, {len(runs)} of which found work "
            f"({overlapping} while another was at work); stale claims taken back: "
            f"{reclaimed}; sends put off while the server was unreachable: {deferred}"
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="reminders per run")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--tick", type=float, default=10.0, help="beat interval, s")
    parser.add_argument("--claim-timeout", type=int, default=60, help="seconds")
    parser.add_argument(
        "--smtp-down", type=float, default=60.0, help="seconds the SMTP server is down"
    )
    parser.add_argument(
        "--outage", type=float, default=5.0, help="seconds worker and Redis are down"
    )
    parser.add_argument(
        "--at", type=float, default=0.3, help="share of the batch sent before a fault"
    )
    parser.add_argument(
        "--smtp-delay", type=float, default=0.005, help="server's answer time, s"
    )
    parser.add_argument(
        "--signers", type=int, default=50, help="people who sign during the kill"
    )
    parser.add_argument("--smtp-port", type=int, default=8121)
    parser.add_argument("--timeout", type=float, default=0, help="per scenario, s")
    args = parser.parse_args()
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {SCENARIOS}")
    args.timeout = args.timeout or (
        3 * args.claim_timeout + args.smtp_down + 10 * args.tick + 120
    )
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is needed (apt-get install redis-server)")

    shutil.rmtree(RUN_DIR, ignore_errors=True)
    RUN_DIR.mkdir(parents=True)
    print("Preparing a throwaway database...", flush=True)
    old_name, database_url = create_database("faults")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.fault_settings",
        "DATABASE_URL": database_url,
        "EMAIL_URL": f"smtp://127.0.0.1:{args.smtp_port}",
        "EMAIL_TIMEOUT": "10",
        "BENCH_TICK": str(args.tick),
        "OUTBOX_CLAIM_TIMEOUT": str(args.claim_timeout),
    }
    sink = Sink(args.smtp_port, args.smtp_delay)
    procs = Processes(env, REDIS_PORT)
    results = []
    before = os.getloadavg()[0]
    try:
        sink.start()
        procs.start_redis()
        procs.start_worker()
        procs.start_beat()
        bench = Bench(args, sink, procs)
        results = [r for scenario in scenarios for r in bench.run(scenario)]
        violations, consent = consent_report()
    finally:
        procs.stop_all()
        sink.stop()
        drop_database(old_name)

    print(
        f"\nReminder batches of {args.count:,} through a real worker (prefork, 2 "
        f"processes) and beat every {args.tick:g} s, Redis on 127.0.0.1:"
        f"{REDIS_PORT}, PostgreSQL, SMTP server on loopback answering in "
        f"{args.smtp_delay * 1000:g} ms; claims taken back after "
        f"{args.claim_timeout} s; load average {before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after\n"
    )
    print_table(
        ["scenario", "expected", "delivered", "missing", "duplicates",
         "cut mid-send", "time to drain s"],
        [
            [r.scenario, r.expected, r.delivered, r.missing, r.duplicates, r.cut,
             f"{r.drain:.0f}" if r.drain is not None else "timed out"]
            for r in results
        ],
    )  # fmt: skip
    print()
    for r in results:
        for note in r.notes:
            print(f"{r.scenario}: {note}")
    print()
    for line in consent:
        print(line)
    print(f"\nLogs: {RUN_DIR}")
    if all(r.good for r in results) and not violations:
        print(
            "None missing; every duplicate follows a conversation cut mid-send; "
            "none counted without consent."
        )
    else:
        print("INVARIANT BROKEN.")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
