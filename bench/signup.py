"""How long sign-up takes for a new address and for one that has an account.

    python -m bench.signup          (or: make bench-signup)

A stranger must not learn from the answer's time whether an address has an
account. Posts the sign-up form ``--rounds`` times for fresh addresses and as
many for addresses that already have an account, alternately, with the
production password hasher, and prints both medians and their ratio (1.0 is
ideal). Uses its own database (``BENCH_DATABASE_URL``, default SQLite in
``var/bench-signup.sqlite3``); emails go to memory, so no SMTP time counts.
"""

import argparse
import os
import statistics
import time
import uuid

from bench.support import VAR, bench_environment

bench_environment(
    DATABASE_URL=os.environ.get(
        "BENCH_DATABASE_URL", f"sqlite:///{VAR / 'bench-signup.sqlite3'}"
    ),
    ALLOWED_HOSTS="testserver",
    EMAIL_URL="memorymail://",
)

import django  # noqa: E402

django.setup()

from allauth.account.models import EmailAddress  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from coalition.models import User  # noqa: E402

PASSWORD = "Plenty-of-entropy-42"  # noqa: S105 - for throwaway accounts
CLIENT = Client()


def post_signup(email: str, n: int) -> float:
    """Seconds for one sign-up POST in a fresh session, from an address of its
    own (the sign-up rate limit counts per address)."""
    CLIENT.cookies.clear()
    data = {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    start = time.perf_counter()
    response = CLIENT.post(
        reverse("account_signup"), data, REMOTE_ADDR=f"10.{n // 250}.{n % 250}.1"
    )
    elapsed = time.perf_counter() - start
    if response.status_code != 302:
        raise SystemExit(f"sign-up answered {response.status_code} for {email}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)
    run = uuid.uuid4().hex[:8]
    # A stranger probes each address once: every existing one is a different
    # account, so that no "already signed up" email is held back by the
    # per-address email cooldown.
    for n in range(args.rounds):
        user = User.objects.create(email=f"bench-{run}-old{n}@example.org")
        EmailAddress.objects.create(
            user=user, email=user.email, verified=True, primary=True
        )
    post_signup(f"bench-{run}-warm@example.org", 0)
    new, existing = [], []
    for n in range(args.rounds):
        new.append(post_signup(f"bench-{run}-new{n}@example.org", 2 * n + 1))
        existing.append(post_signup(f"bench-{run}-old{n}@example.org", 2 * n + 2))
    User.objects.filter(email__startswith=f"bench-{run}-").delete()
    new_median, existing_median = statistics.median(new), statistics.median(existing)
    print(f"Sign-up, median of {args.rounds} each:")
    print(f"  new address:        {new_median:.3f} s")
    print(f"  existing address:   {existing_median:.3f} s")
    print(f"  ratio new/existing: {new_median / existing_median:.2f}")


if __name__ == "__main__":
    main()
