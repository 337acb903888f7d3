"""Settings, processes and HTTP load for ``make bench-compare`` (bench/compare.py)."""

import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.support import ROOT, bench_environment, wait_for_port

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
