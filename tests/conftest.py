import asyncio
import importlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import django.db.backends.sqlite3.base  # noqa: F401 - loads .operations in order
import pytest
from aiosmtpd.controller import Controller
from django.core.cache import cache
from django.db import connection
from django.db.backends.sqlite3.operations import DatabaseOperations as SQLiteOps
from django.urls import reverse

from coalition.celery import app as celery_app
from tests.factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parent.parent

# Unit tests publish to an in-memory broker: a queued task goes nowhere unless a
# test runs it. Tests marked `worker` publish to Redis explicitly.
celery_app.conf.update(broker_url="memory://", broker_transport_options={})

# Revision rows refuse UPDATE and DELETE (letters migration 0002). PostgreSQL's
# flush between transactional tests is a TRUNCATE, which the guard lets through;
# SQLite's deletes row by row, so it lifts the guard for the length of the flush.
_revision_guard = importlib.import_module("letters.migrations.0002_revision_immutable")
_sqlite_sql_flush = SQLiteOps.sql_flush


def _sqlite_sql_flush_past_revision_guard(self, style, tables, **kwargs):
    sql = _sqlite_sql_flush(self, style, tables, **kwargs)
    if "letters_revision" not in tables:
        return sql
    guard, lift = _revision_guard.SQL["sqlite"]
    return [*lift, *sql, *guard]


SQLiteOps.sql_flush = _sqlite_sql_flush_past_revision_guard  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _site_settings(settings):
    # No collectstatic manifest in tests; and a fresh cache for rate limits.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }
    settings.SITE_URL = "http://testserver"
    # Passwords are not what most tests are about; the real hasher's cost
    # dominates their set-up. (Production keeps Django's default.)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()


# Fixtures that give a test the database, set up before the consent check so
# that it runs before they roll back or flush.
DATABASE_FIXTURES = ("transactional_db", "db")


@pytest.fixture(autouse=True)
def _consent_invariant(request):
    """After every test that used the database: no name, count or PDF on offer
    without consent to the exact text (``consent_violations``). Tests that make
    a violation on purpose are marked ``consent_violation_expected``."""
    uses = [name for name in DATABASE_FIXTURES if name in request.fixturenames]
    if not uses and request.node.get_closest_marker("django_db") is None:
        yield
        return
    if uses:
        request.getfixturevalue(uses[0])
    yield
    if request.node.get_closest_marker("consent_violation_expected"):
        return
    from letters.models import LetterPdf
    from signers.models import Signature
    from signers.selectors.consent import consent_violations

    if Signature.objects.exists() or LetterPdf.objects.exists():
        found = [str(v) for v in consent_violations()]
        assert found == [], "consent violations:\n" + "\n".join(found)


@pytest.fixture
def admin_client(client, db):
    """A staff member in the admin, logged in the one way the admin accepts:
    through the site's login (pytest-django's own fixture forces a session
    the admin refuses)."""
    user = UserFactory(is_staff=True, is_superuser=True)
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    return client


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SMTPSink:
    """A real SMTP server on loopback that keeps every message it accepts."""

    host: str
    port: int
    received: list[bytes] = field(default_factory=list)
    refuse_next: int = 0
    # Addresses refused for good at RCPT (a bounce), and seconds to take over
    # each message (so a client can be killed in the middle of a conversation).
    reject_recipients: set[str] = field(default_factory=set)
    delay: float = 0.0
    in_data: int = 0  # messages kept whose answer is not sent yet

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject_recipients:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_next > 0:
            self.refuse_next -= 1
            return "451 4.3.0 Try again later"
        # Kept first, answered after `delay`: like a server that queues the
        # message and then answers, so a client cut off in between has sent it.
        self.received.append(envelope.original_content or envelope.content)
        self.in_data += 1
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.in_data -= 1
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[Message]:
        return [message_from_bytes(raw) for raw in self.received]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@pytest.fixture
def smtp_server() -> Iterator[SMTPSink]:
    sink = SMTPSink(host="127.0.0.1", port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def smtp_settings(settings, smtp_server):
    """Django's real SMTP backend, pointed at the loopback server."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    return smtp_server


def database_url() -> str:
    """The URL of the test database, for a child process to share it."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return (
        f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    )


@dataclass
class WorkerProcess:
    queue: str
    broker_url: str
    process: subprocess.Popen
    log: Path
    smtp: SMTPSink
    cmd: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def send(self, task, *args, **kwargs):
        with celery_app.connection_for_write(self.broker_url) as conn:
            return task.apply_async(args, kwargs, queue=self.queue, connection=conn)

    def kill(self) -> None:
        """SIGKILL, as a lost machine or the out-of-memory killer would."""
        self.process.kill()
        self.process.wait()

    def restart(self, **extra_env: str) -> None:
        """Start a new worker process on the same queue, after `kill()`."""
        self.env = {**self.env, **extra_env}
        self.process = _start_worker(self.cmd, self.env, self.log)


@pytest.fixture
def celery_worker(transactional_db, tmp_path, smtp_settings) -> Iterator[WorkerProcess]:
    """A real `celery worker` process on Redis, sharing the test database.

    It consumes a queue of its own so that it never takes another run's tasks;
    email goes to the loopback SMTP server.
    """
    broker_url = os.environ.get("REDIS_URL")
    if not broker_url:
        pytest.fail("worker tests need REDIS_URL (run them through .ci/run)")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "ENV_FILE": "",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url,
        # Tasks the worker queues itself (a fan-out, a retry) stay on its queue.
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "EMAIL_URL": f"smtp://{smtp_settings.host}:{smtp_settings.port}",
        "SECRET_KEY": "test-only-not-secret",
    }
    cmd = [
        sys.executable, "-m", "celery", "-A", "coalition", "worker",
        "--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat",
        "-Q", queue, "--loglevel=INFO", "-n", f"{queue}@%h",
    ]  # fmt: skip
    process = _start_worker(cmd, env, log)
    worker = WorkerProcess(queue, broker_url, process, log, smtp_settings, cmd, env)
    try:
        yield worker
    finally:
        worker.process.terminate()
        try:
            worker.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()


def _start_worker(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start a worker writing to `log` and wait until it says it is ready."""
    ready_before = (
        log.read_text(errors="replace").count("ready.") if log.exists() else 0
    )
    with log.open("ab") as out:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while log.read_text(errors="replace").count("ready.") <= ready_before:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"worker did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)
    return process


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
