"""The production shape, for real: the Procfile's gunicorn command line, and the
repository's nginx configuration in front of it, on loopback ports."""

import http.client
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml

from tests.conftest import ROOT, database_url, free_port
from tests.factories import PASSWORD, UserFactory

SLOW_CLIENTS = 16  # more than the default 3 workers x 4 threads
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name} process in the Procfile")


def request(
    port: int,
    method: str = "GET",
    path: str = "/healthz",
    *,
    timeout: float = 3.0,
    source: str = "127.0.0.1",
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str] | None:
    """Status and body, or None if nothing came back in time."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=timeout, source_address=(source, 0)
    )
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    except OSError:
        return None
    finally:
        connection.close()


def healthz_statuses(
    port: int, attempts: int, timeout: float = 3.0
) -> list[int | None]:
    return [
        answer[0] if (answer := request(port, timeout=timeout)) else None
        for _ in range(attempts)
    ]


def wait_until_up(port: int, log: Path) -> None:
    for _ in range(300):
        if request(port, timeout=1.0) is not None:
            return
        time.sleep(0.2)
    raise AssertionError(f"nothing answered on {port}:\n{log.read_text()}")


@contextmanager
def running(command: list[str], port: int, log: Path, **popen) -> Iterator[int]:
    """Run ``command`` in a process group of its own until the block ends;
    yields ``port`` once something answers there."""
    process = subprocess.Popen(command, start_new_session=True, **popen)
    try:
        wait_until_up(port, log)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def web_server(tmp_path: Path, **settings: str) -> Iterator[int]:
    """The Procfile's web process, listening on loopback only; yields its port."""
    port = free_port()
    command = procfile_command("web").replace("0.0.0.0:", "127.0.0.1:")
    env = {
        **os.environ,
        "ENV_FILE": "",
        "SECRET_KEY": "test-only-not-secret",
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url(),
        "PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        **settings,
    }
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        shell = ["sh", "-c", f"exec {command}"]
        with running(shell, port, log, cwd=ROOT, env=env, stdout=out, stderr=out):
            yield port


@contextmanager
def proxy(tmp_path: Path, upstream: int) -> Iterator[int]:
    """nginx with deploy/nginx.conf in front of ``upstream``; yields its port."""
    port = free_port()
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "server web:8000;" in site and "listen 8000;" in site
    site = site.replace("server web:8000;", f"server 127.0.0.1:{upstream};")
    site = site.replace("listen 8000;", f"listen 127.0.0.1:{port};")
    (prefix / "site.conf").write_text(site)
    temp_paths = "\n".join(
        f"{kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = prefix / "nginx.conf"
    log = prefix / "error.log"
    config.write_text(
        f"worker_processes 1;\npid {prefix / 'nginx.pid'};\nerror_log {log};\n"
        "events { worker_connections 512; }\n"
        f"http {{\naccess_log off;\n{temp_paths}\ninclude {prefix / 'site.conf'};\n}}\n"
    )
    command = [NGINX, "-p", str(prefix), "-c", str(config), "-g", "daemon off;"]
    with running(
        command, port, log, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ):
        yield port


@contextmanager
def slow_clients(port: int, *, send: bytes = b"") -> Iterator[None]:
    """SLOW_CLIENTS connections that send ``send`` and then nothing more."""
    with ExitStack() as stack:
        for _ in range(SLOW_CLIENTS):
            client = socket.create_connection(("127.0.0.1", port))
            stack.callback(client.close)
            if send:
                client.sendall(send)
        yield


PARTIAL_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"


@pytest.mark.django_db
def test_idle_connections_do_not_stall_the_web_server(tmp_path):
    with web_server(tmp_path) as port, slow_clients(port):
        # Sync workers each wait on one idle client until their 30 s timeout,
        # and answer nothing else meanwhile. gthread threads wait up to 5 s for
        # a new connection's first bytes before handing it back to the poller,
        # so with more idle clients than threads an answer may take ~10 s: the
        # window (4 x 5 s) stays well inside the sync workers' 30 s.
        statuses = healthz_statuses(port, attempts=4, timeout=5.0)

    assert 200 in statuses


@pytest.mark.django_db
def test_the_proxy_keeps_trickling_clients_away_from_the_web_server(tmp_path):
    with (
        web_server(tmp_path, WEB_CONCURRENCY="1") as web,
        proxy(tmp_path, web) as port,
    ):
        with slow_clients(port, send=PARTIAL_REQUEST):
            statuses = healthz_statuses(port, attempts=6)
        # Straight to gunicorn, the same clients each hold one of its threads.
        with slow_clients(web, send=PARTIAL_REQUEST):
            direct = healthz_statuses(web, attempts=3)

    assert statuses == [200] * 6
    assert None in direct  # what the proxy is there for


def log_in(port: int, email: str, password: str, *, source: str, spoof: str) -> str:
    """Post the login form from ``source`` with a made-up X-Forwarded-For."""
    csrf = secrets.token_hex(16)
    body = urlencode(
        {"csrfmiddlewaretoken": csrf, "login": email, "password": password}
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"csrftoken={csrf}",
        "X-Forwarded-For": spoof,
        "Origin": f"http://127.0.0.1:{port}",  # as a browser sends it
    }
    answer = request(
        port,
        "POST",
        "/accounts/login/",
        body=body,
        headers=headers,
        source=source,
        timeout=60.0,  # a real password hash, on a busy machine
    )
    assert answer is not None
    status, page = answer
    if status == 302:
        return "logged in"
    return "locked" if "Too many failed login attempts" in page else "refused"


@pytest.mark.django_db(transaction=True)
def test_behind_the_proxy_failed_logins_lock_only_the_address_they_came_from(
    tmp_path, settings
):
    # The web server checks passwords with the production hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    owner = UserFactory()
    # DEBUG only so that pages render without collected static files.
    web_settings = {"TRUSTED_PROXY_COUNT": "1", "DEBUG": "true", "WEB_CONCURRENCY": "1"}
    with (
        web_server(tmp_path, **web_settings) as web,
        proxy(tmp_path, web) as port,
    ):
        stranger = [
            log_in(port, owner.email, "wrong", source="127.0.0.2", spoof=f"192.0.2.{n}")
            for n in range(5)
        ]
        stranger_again = log_in(
            port, owner.email, PASSWORD, source="127.0.0.2", spoof="192.0.2.99"
        )
        the_owner = log_in(
            port, owner.email, PASSWORD, source="127.0.0.3", spoof="192.0.2.1"
        )

    assert stranger == ["refused"] * 5
    assert stranger_again == "locked"  # a made-up address changed nothing
    assert the_owner == "logged in"


def test_docker_compose_publishes_only_the_proxy_in_front_of_gunicorn():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    published = {name for name, s in services.items() if s.get("ports")}
    web = services["web"]

    assert "gthread" in web["command"]
    assert "web" not in published
    assert "proxy" in published
    assert (
        "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro"
        in (services["proxy"]["volumes"])
    )
    assert web["environment"]["TRUSTED_PROXY_COUNT"] == "1"
