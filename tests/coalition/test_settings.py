import os
import subprocess
import sys
import uuid
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "ENV_FILE": "",
    "DEBUG": "false",
    "SECRET_KEY": "a-production-secret-" + "x" * 50,
    "ALLOWED_HOSTS": "coalition.example.org",
    "SITE_URL": "https://coalition.example.org",
    "PATH": os.environ["PATH"],
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_variables():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr
    assert "no issues" in result.stdout


def test_there_is_no_default_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}

    result = run_manage("check", env=env)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_debug_is_off_unless_set():
    env = {k: v for k, v in PRODUCTION.items() if k != "DEBUG"}

    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DEBUG)",
        env=env,
    )

    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr


def test_broker_visibility_timeout_outlives_every_task_time_limit():
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        assert timeout is None  # the filesystem transport does not redeliver
    else:
        assert timeout > settings.CELERY_TASK_TIME_LIMIT


def test_celery_is_json_only_and_acks_late():
    assert settings.CELERY_ACCEPT_CONTENT == ["json"]
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True


def test_the_filesystem_broker_keeps_its_files_under_var(tmp_path):
    """Started from any folder, it writes nothing there (it once left a
    ``control`` folder in the working directory)."""
    exchange = f"test-{uuid.uuid4().hex}"
    script = (
        "import django; django.setup()\n"
        "from kombu import Exchange, Queue\n"
        "from coalition.celery import app\n"
        "with app.connection_for_write() as conn:\n"
        f"    Queue({exchange!r}, Exchange({exchange!r}))(conn.default_channel)"
        ".declare()\n"
        "print(app.conf.broker_transport_options['control_folder'])\n"
    )
    env = {
        "ENV_FILE": "",
        "SECRET_KEY": "test-only-not-secret",
        "DJANGO_SETTINGS_MODULE": "coalition.settings",
        "PYTHONPATH": str(ROOT),
        "PATH": os.environ["PATH"],
    }

    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    control = Path(result.stdout.strip().splitlines()[-1])
    table = control / f"{exchange}.exchange"
    try:
        assert list(tmp_path.iterdir()) == []
        assert control == ROOT / "var" / "broker" / "control"
        assert table.exists()
    finally:
        table.unlink(missing_ok=True)
