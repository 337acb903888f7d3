"""What the load and fault benchmarks share: their settings, a throwaway copy of
the database that child processes (gunicorn, workers, beat) can reach, waiting
for a port to open, and plain-text tables.

Import this module before Django is set up: ``bench_environment()`` decides the
settings the benchmark and its children run with.
"""

import os
import socket
import statistics
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
WORDS = [
    "Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir", "Ginkgo", "Hazel", "Ivy",
    "Juniper", "Kauri", "Larch", "Maple", "Nettle", "Oak", "Pine", "Quince", "Rowan",
    "Spruce", "Teak", "Ulmus", "Viburnum", "Willow", "Xylosma", "Yew", "Zelkova",
]  # fmt: skip


def bench_environment(**extra: str) -> dict[str, str]:
    """Settings for the benchmark process and the processes it starts: the
    production configuration on plain http, answering on loopback."""
    env = {
        "ENV_FILE": "",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-not-secret",
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "STATIC_ROOT": str(VAR / "bench-static"),
        "MEDIA_ROOT": str(VAR / "bench-media"),
        "DJANGO_SETTINGS_MODULE": "coalition.settings",
        **extra,
    }
    os.environ.update(env)
    return env


def require_postgresql(*, redis: bool = True) -> None:
    """Stop with a clear message unless DATABASE_URL (and REDIS_URL) are set."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")) or (
        redis and not os.environ.get("REDIS_URL")
    ):
        needs = "DATABASE_URL=postgres://..." + (
            " and REDIS_URL=redis://..." if redis else ""
        )
        raise SystemExit(
            f"This benchmark runs on PostgreSQL{' and Redis' if redis else ''}: set "
            f"{needs} (it works on a throwaway copy of the database)."
        )


def create_database(suffix: str) -> tuple[str, str]:
    """Create a throwaway copy of the configured database, ``test_<name>_<suffix>``
    (so that benchmarks can run side by side), migrated; returns the old name
    (for ``drop_database``) and a URL for child processes."""
    from django.db import connection

    test = connection.settings_dict.setdefault("TEST", {})
    test["NAME"] = f"test_{connection.settings_dict['NAME']}_{suffix}"
    old_name = connection.creation.create_test_db(
        verbosity=0, autoclobber=True, serialize=False
    )
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    host = f"{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
    return old_name, f"postgres://{auth}@{host}/{s['NAME']}"


def drop_database(old_name: str) -> None:
    from django.db import connection, connections

    connections.close_all()
    connection.creation.destroy_test_db(old_name, verbosity=0)


def consent_report() -> tuple[int, list[str]]:
    """The consent check (``manage.py check_consent``) on the benchmark's
    database: how many violations, and one line per violation then the count."""
    from signers.selectors.consent import consent_violations

    found = [str(v) for v in consent_violations()]
    count = f"{len(found)} consent violation{'' if len(found) == 1 else 's'}"
    return len(found), [*found, count]


def published_letter(slug: str, size: int) -> Any:
    """A published, open letter ``slug`` with exactly ``size`` confirmed signers
    (one in ten an individual, one in fifty unlisted), made once."""
    from django.utils import timezone

    from coalition.models import Coalition, User
    from letters.models import Letter, Revision, text_hash
    from signers.models import Signature

    author, _ = User.objects.get_or_create(email="bench@example.org")
    coalition, _ = Coalition.objects.get_or_create(
        slug="bench", defaults={"name": "Benchmark coalition"}
    )
    letter, _ = Letter.objects.get_or_create(
        slug=slug,
        defaults={
            "title": f"Benchmark letter with {size} signers",
            "coalition": coalition,
        },
    )
    if letter.current_revision is None:
        body = "We ask the Council to act.\n\n" * 5
        points = ["Clean air is a right.", "Act before the next school year."]
        addressee = "To the Members of the City Council"
        letter.current_revision = Revision.objects.create(
            letter=letter, number=1, title=letter.title, addressee=addressee,
            points=points, body=body, author=author,
            sha256=text_hash(addressee=addressee, points=points, body=body),
        )  # fmt: skip
    letter.status = Letter.Status.PUBLISHED
    letter.signer_kinds = Letter.SignerKinds.BOTH
    letter.open_joining = True
    letter.published_at = letter.published_at or timezone.now()
    letter.save()
    if letter.signatures.count() != size:
        letter.signatures.all().delete()
        Signature.objects.bulk_create(
            (
                Signature(
                    letter=letter,
                    revision=letter.current_revision,
                    kind=Signature.Kind.INDIVIDUAL
                    if i % 10 == 0
                    else Signature.Kind.ORGANISATION,
                    status=Signature.Status.CONFIRMED,
                    source=Signature.Source.IMPORT,
                    display_name=f"{WORDS[i % 26]} Community Association {i:05d}",
                    sort_name=f"{WORDS[i % 26].lower()} community association {i:05d}",
                    normalised_name=f"{WORDS[i % 26].lower()} {i:05d}",
                    city="Springfield",
                    country="United Kingdom",
                    website="https://example.org/" if i % 3 == 0 else "",
                    email=f"bench{i}@signers.example.org",
                    consent_listed=i % 50 != 7,
                    attested=True,
                )
                for i in range(size)
            ),
            batch_size=2_000,
        )
    return letter


def wait_for_port(
    port: int, *, timeout: float = 30.0, process: subprocess.Popen | None = None
) -> None:
    """Return once something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"{process.args!r} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing answered on 127.0.0.1:{port} within {timeout:.0f} s")


def stop(process: subprocess.Popen | None, timeout: float = 20.0) -> None:
    """Terminate a child process, and kill it if it does not go."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def percentile(values: Sequence[float], p: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A Markdown table, ready to paste into the docs."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        parts = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "| " + " | ".join(parts) + " |"

    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print(line(row))
