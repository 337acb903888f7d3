"""Figures for the public letter page and PDF at 100, 1,000 and 10,000 signers.

    python -m bench.public_page          (or: make bench-public)

Prints, per list size: database queries and server time for a cold page (just
after the signer list changed) and a warm one (from the cache), requests per
second under gunicorn with 2 workers on loopback (full pages, and 304 answers
to a browser that has the page), then the PDF render time and peak memory for
5,000 signers.

It uses its own database (``BENCH_DATABASE_URL``, default SQLite in
``var/bench.sqlite3``) and never the development one; the cache is the one the
settings choose (Redis when ``REDIS_URL`` is set, else files in ``var/cache``).
"""

import http.client
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time

from bench.support import ROOT, VAR, bench_environment, published_letter

SIZES = (100, 1_000, 10_000)
PDF_SIZE = 5_000
PORT = int(os.environ.get("BENCH_PORT", "8106"))
# Request loops are bounded in count and in time.
LOAD_REQUESTS = 2_000
LOAD_SECONDS = 15.0
LOAD_THREADS = 4

ENV = bench_environment(
    DATABASE_URL=os.environ.get(
        "BENCH_DATABASE_URL", f"sqlite:///{VAR / 'bench.sqlite3'}"
    ),
    ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from letters.models import Letter  # noqa: E402


def ensure_letter(size: int) -> Letter:
    """A published letter named bench-<size> with exactly ``size`` signers."""
    return published_letter(f"bench-{size}", size)


def announce_change(letter: Letter) -> None:
    """What the signing service does on a new signature: a new cache key."""
    Letter.objects.filter(pk=letter.pk).update(signers_version=F("signers_version") + 1)


def server_times(letter: Letter) -> dict[str, float]:
    client = Client()
    url = f"/letters/{letter.slug}/"
    cold, warm = [], []
    for _ in range(5):
        announce_change(letter)
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as cold_queries:
            assert client.get(url).status_code == 200
        cold.append(time.perf_counter() - started)
    for _ in range(30):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as warm_queries:
            response = client.get(url)
        warm.append(time.perf_counter() - started)
    return {
        "queries_cold": len(cold_queries),
        "queries_warm": len(warm_queries),
        "cold_ms": statistics.median(cold) * 1000,
        "warm_ms": statistics.median(warm) * 1000,
        "kib": len(response.content) / 1024,
    }


def start_gunicorn() -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "gunicorn", "coalition.wsgi",
        "--bind", f"127.0.0.1:{PORT}", "--workers", "2", "--worker-class", "sync",
        "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **ENV})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            request("/letters/bench-100/")
            return process
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("gunicorn did not start")


def request(path: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status, dict(response.getheaders())
    finally:
        conn.close()


def requests_per_second(path: str, headers: dict[str, str], expect: int) -> float:
    lock = threading.Lock()
    sent = 0
    deadline = time.monotonic() + LOAD_SECONDS
    failures = []

    def worker() -> None:
        nonlocal sent
        while time.monotonic() < deadline:
            with lock:
                if sent >= LOAD_REQUESTS:
                    return
                sent += 1
            status, _ = request(path, headers)
            if status != expect:
                failures.append(status)

    threads = [threading.Thread(target=worker) for _ in range(LOAD_THREADS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} requests answered {failures[:5]}")
    return sent / elapsed


def pdf_child(size: int) -> None:
    """Run in a process of its own, so its peak memory is the render's."""
    import resource

    from letters import pdf
    from signers import exports

    letter = Letter.objects.select_related("current_revision").get(slug=f"bench-{size}")
    assert letter.current_revision is not None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    context = exports.letter_pdf_context(
        letter=letter, revision=letter.current_revision
    )
    data = pdf.render_letter_pdf(context)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    from pypdf import PdfReader

    pages = len(PdfReader(io.BytesIO(data)).pages)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mib": peak / 1024,
                "before_mib": before / 1024,
                "kib": len(data) / 1024,
                "pages": pages,
            }
        )
    )


def main() -> None:
    VAR.mkdir(exist_ok=True)
    print("Preparing the benchmark database and static files...", flush=True)
    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)
    letters = {size: ensure_letter(size) for size in (*SIZES, PDF_SIZE)}

    rows = []
    for size in SIZES:
        rows.append({"size": size, **server_times(letters[size])})

    server = start_gunicorn()
    try:
        for row in rows:
            path = f"/letters/bench-{row['size']}/"
            status, headers = request(path)
            assert status == 200
            row["rps"] = requests_per_second(path, {}, 200)
            row["rps_304"] = requests_per_second(
                path, {"If-None-Match": headers["ETag"]}, 304
            )
    finally:
        server.terminate()
        server.wait(timeout=20)

    child = subprocess.run(
        [sys.executable, "-m", "bench.public_page", "--pdf", str(PDF_SIZE)],
        cwd=ROOT,
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    pdf_figures = json.loads(child.stdout.strip().splitlines()[-1])

    cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    print()
    print(
        f"Public page ({connection.vendor}, {cache}; gunicorn 2 sync workers, "
        f"{LOAD_THREADS} client threads on loopback)"
    )
    header = (
        f"{'signers':>8} {'queries cold/warm':>18} {'cold ms':>9} {'warm ms':>9} "
        f"{'page KiB':>9} {'req/s 200':>10} {'req/s 304':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['size']:>8,} {r['queries_cold']:>10}/{r['queries_warm']:<7} "
            f"{r['cold_ms']:>9.1f} {r['warm_ms']:>9.2f} {r['kib']:>9.0f} "
            f"{r['rps']:>10.0f} {r['rps_304']:>10.0f}"
        )
    print()
    print(
        f"PDF, {PDF_SIZE:,} signers: {pdf_figures['seconds']:.1f} s, "
        f"{pdf_figures['pages']} pages, {pdf_figures['kib']:.0f} KiB; peak memory "
        f"{pdf_figures['peak_mib']:.0f} MiB "
        f"({pdf_figures['before_mib']:.0f} MiB before rendering)"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--pdf":
        pdf_child(int(sys.argv[2]))
    else:
        main()
