"""The last lines of `make run`: where the site is and how to log in.

A process of its own in Procfile.dev: it waits until the web process answers,
prints the address and the demo login (after the other processes' start-up
output, so it does not scroll away), then waits to be stopped with the rest.
"""

import signal
import socket
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.urls import reverse

from coalition.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD


def wait_for_port(port: int, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.5)
    return False


class Command(BaseCommand):
    help = "Wait for the development server, print its address and the demo login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--timeout", type=float, default=120.0)
        parser.add_argument(
            "--settle",
            type=float,
            default=4.0,
            help="Seconds to let the other processes finish their start-up output.",
        )
        parser.add_argument(
            "--exit", action="store_true", help="Exit after printing (for tests)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Stopped with the others (honcho sends SIGTERM): quietly, status 0.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        signal.signal(signal.SIGINT, lambda signum, frame: sys.exit(0))
        port = options["port"]
        if not wait_for_port(port, timeout=options["timeout"]):
            self.stderr.write(f"Nothing answers on port {port}; see the web lines.")
            sys.exit(1)
        time.sleep(options["settle"])
        site = f"http://127.0.0.1:{port}"
        lines = [
            "",
            f"Coalition is running: open {site}/",
            f"Log in as {DEMO_EMAIL}, password {DEMO_PASSWORD}",
        ]
        if settings.EMAIL_BACKEND == "coalition.devmail.DevMailBackend":
            lines.append(
                f"Emails the site sends are at {site}{reverse('dev-email-list')}"
                " (one line each here)"
            )
        lines += ["Stop with Ctrl-C.", ""]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
        if not options["exit"]:
            while True:
                signal.pause()
