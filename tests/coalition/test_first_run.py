"""`make run`: the login last, Ctrl-C a clean stop; and a quiet package build."""

import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from django.core.management import call_command

from coalition.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]

# A process that stops the way the worker does on SIGTERM: it says so, then exits.
GRACEFUL = (
    "import signal, sys, time; "
    "signal.signal(signal.SIGTERM, lambda *a: (print('stopped cleanly', flush=True),"
    " sys.exit(0))); print('up', flush=True); time.sleep(60)"
)

# honcho's line for it (coloured on a terminal).
UP = rb"graceful\.1 +\| (\x1b\[0m)?up"


@pytest.fixture
def procfile(tmp_path):
    path = tmp_path / "Procfile"
    path.write_text(f'graceful: {sys.executable} -c "{GRACEFUL}"\nidle: sleep 60\n')
    return path


def read_until(fd: int, pattern: bytes, timeout: float = 30) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not re.search(pattern, out):
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


def test_sigint_stops_every_process_gracefully_with_status_0(procfile):
    run = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "dev-run"), str(procfile)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=procfile.parent,
    )
    out = read_until(run.stdout.fileno(), UP)
    run.send_signal(signal.SIGINT)
    rest, _ = run.communicate(timeout=30)
    out += rest

    assert run.returncode == 0, out.decode()
    assert b"stopped cleanly" in out
    assert b"SIGKILL" not in out


def test_ctrl_c_on_make_run_ends_with_status_0_and_no_make_error(procfile, tmp_path):
    """The terminal sends Ctrl-C to make and everything under it at once."""
    makefile = tmp_path / "Makefile"
    makefile.write_text(
        f"run:\n\t{sys.executable} {ROOT / 'scripts' / 'dev-run'} {procfile}\n"
    )
    pid, fd = pty.fork()
    if pid == 0:  # the child: make, in the pty's foreground, as in a terminal
        os.execvp("make", ["make", "--no-print-directory", "-f", str(makefile)])  # noqa: S606
    try:
        out = read_until(fd, UP)
        os.write(fd, b"\x03")  # Ctrl-C, through the terminal
        out += read_until(fd, rb"(?!)", timeout=15)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)

    assert os.waitstatus_to_exitcode(status) == 0, out.decode()
    assert b"stopped cleanly" in out
    assert b"make: ***" not in out
    assert b"ERROR" not in out


def test_a_process_that_fails_makes_the_run_fail(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("broken: exit 3\nidle: sleep 60\n")

    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "dev-run"), str(procfile)],
        capture_output=True,
        timeout=60,
    )

    assert result.returncode != 0


def test_the_login_is_printed_once_the_web_port_answers(capsys):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        call_command("dev_ready", port=port, settle=0, exit=True)

    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == f"Coalition is running: open http://127.0.0.1:{port}/"
    assert lines[1] == f"Log in as {DEMO_EMAIL}, password {DEMO_PASSWORD}"


def test_procfile_dev_prints_the_login_and_keeps_celery_quiet():
    processes = dict(
        line.split(": ", 1)
        for line in (ROOT / "Procfile.dev").read_text().splitlines()
        if line.strip()
    )

    assert "manage.py dev_ready" in processes["ready"]
    for name in ("worker", "beat"):
        assert "--quiet" in processes[name]
        assert "--loglevel=WARNING" in processes[name]
    # Only the main process of a thread pool gets honcho's SIGTERM; the children
    # of a prefork pool got it too, and died with ERROR lines.
    assert "--pool=threads" in processes["worker"]


def test_project_license_is_an_spdx_string():
    """A table made setuptools print a deprecation box twice on every install."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())

    assert pyproject["project"]["license"] == "AGPL-3.0-or-later"
    assert "setuptools>=77" in pyproject["build-system"]["requires"]
