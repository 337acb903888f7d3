"""How long the dispatcher takes to plan and send 10,000 reminders.

    python -m bench.reminders [--count 10000] [--dispatchers 2]
    make bench-reminders

Runs against a throwaway copy of the configured database (SQLite by default,
PostgreSQL when DATABASE_URL says so), which it creates and drops, and sends
through Django's SMTP backend to a sink on 127.0.0.1 (its own process) that
accepts everything.
Prints a table.
"""

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coalition.settings")

import django

django.setup()

from django.db import connection, connections  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from coalition.models import Coalition, User  # noqa: E402
from coalition.outbox.dispatcher import outbox_dispatch  # noqa: E402
from coalition.outbox.models import OutboxMessage  # noqa: E402
from letters.models import Letter, Membership, Revision, text_hash  # noqa: E402
from signers.models import Prospect, ReminderSchedule  # noqa: E402
from signers.services.sending import outreach_plan_due  # noqa: E402

SOFT = datetime(2030, 6, 10, 17, 0, tzinfo=UTC)
NOW = SOFT - timedelta(days=1)


def start_sink() -> tuple[subprocess.Popen, int]:
    """An SMTP server on loopback, in its own process, that discards everything."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
         "-l", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return sink, port
        except OSError:
            time.sleep(0.1)
    sink.kill()
    raise SystemExit("the SMTP sink did not start")


def seed(count: int, *, soft: datetime = SOFT, slug: str = "bench") -> Letter:
    """A circulating letter whose ``count`` invitees all get a reminder
    ``soft`` minus 3 days (the default schedule), and no digest."""
    owner = User.objects.filter(email="bench@example.org").first()
    owner = owner or User.objects.create_user("bench@example.org", "x" * 12)
    coalition, _ = Coalition.objects.get_or_create(
        slug="bench", defaults={"name": "Benchmark coalition"}
    )
    letter = Letter.objects.create(
        coalition=coalition,
        title="Bench letter", slug=slug, status=Letter.Status.CIRCULATING,
        soft_deadline=soft, points=["One point."], body="Body.",
    )  # fmt: skip
    Membership.objects.create(letter=letter, user=owner, role="owner")
    letter.current_revision = Revision.objects.create(
        letter=letter, number=1, title=letter.title, points=letter.points,
        body=letter.body, author=owner,
        sha256=text_hash(addressee="", points=letter.points, body=letter.body),
    )  # fmt: skip
    letter.save()
    ReminderSchedule.objects.create(letter=letter, digest_enabled=False)
    Prospect.objects.bulk_create(
        [
            Prospect(
                letter=letter,
                organisation=f"Organisation {i:05d}",
                contact_name=f"Contact {i}",
                email=f"contact{i}@bench.example.org",
                status=Prospect.Status.INVITED,
                invited_at=soft - timedelta(days=9),
            )
            for i in range(count)
        ],
        batch_size=1000,
    )
    return letter


def dispatch_until_empty(now: datetime) -> int:
    """Batch after batch, as the dispatch task chains them; returns how many
    were sent."""
    sent = 0
    while (result := outbox_dispatch(now=now)).claimed:
        sent += result.sent
    return sent


def dispatch_in_threads(n: int) -> list[int]:
    if n == 1:
        return [dispatch_until_empty(NOW)]
    results: list[int] = []

    def run() -> None:
        try:
            results.append(dispatch_until_empty(NOW))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def timed(rows, label, fn):
    start = time.perf_counter()
    result = fn()
    rows.append([label, time.perf_counter() - start, 0])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--dispatchers", type=int, default=1)
    args = parser.parse_args()

    sink, port = start_sink()
    smtp = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": port,
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": False,
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
        "SITE_URL": "http://bench.example.org",
    }
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    vendor = connection.vendor
    rows: list[list] = []
    try:
        with override_settings(**smtp):
            seed(args.count)
            planned = timed(
                rows,
                "plan (one row per reminder)",
                lambda: outreach_plan_due(now=NOW),
            )
            rows[-1][2] = planned
            results = timed(
                rows,
                f"claim, render, send ({args.dispatchers} dispatcher(s))",
                lambda: dispatch_in_threads(args.dispatchers),
            )
            sent = sum(results)
            rows[-1][2] = sent
            again = timed(
                rows,
                "plan and dispatch again (nothing due)",
                lambda: outreach_plan_due(now=NOW) + dispatch_until_empty(NOW),
            )
            rows[-1][2] = again
        assert sent == args.count, sent
        assert OutboxMessage.objects.filter(status="sent").count() == args.count
    finally:
        sink.terminate()
        sink.wait()
        connection.creation.destroy_test_db(old_name, verbosity=0)

    rows.append(["plan + send", rows[0][1] + rows[1][1], args.count])
    print(f"\nDispatcher: {args.count} reminders, {vendor}, SMTP sink on loopback\n")
    print(f"| {'phase':<40} | {'seconds':>8} | {'emails':>7} | {'emails/s':>9} |")
    print(f"|{'-' * 42}|{'-' * 10}|{'-' * 9}|{'-' * 11}|")
    for name, seconds, n in rows:
        rate = f"{n / seconds:,.0f}" if n and seconds else "-"
        print(f"| {name:<40} | {seconds:>8.2f} | {n:>7} | {rate:>9} |")
    print()


if __name__ == "__main__":
    main()
