"""Development email: kept as files, one line on the terminal, shown at /dev/emails/."""

import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from django.core import mail
from django.urls import reverse

from coalition.devmail import stored_email_get, stored_email_list
from coalition.emails import render_email
from tests.coalition.test_settings import ROOT
from tests.factories import LetterFactory, UserFactory

MARKUP = "<img src=x onerror=alert(1)><script>alert(2)</script>"


@pytest.fixture
def devmail(settings, tmp_path):
    settings.EMAIL_BACKEND = "coalition.devmail.DevMailBackend"
    settings.DEV_EMAIL_DIR = tmp_path / "mail"
    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.DEBUG = True
    return tmp_path / "mail"


def send_invitation(name="Maria", url="https://example.org/sign/abc/"):
    message = render_email(
        "account/password_reset_key",
        {"password_reset_url": url, "user": name},
        to=["maria@example.org"],
    )
    message.send()
    return message


def test_backend_keeps_the_message_and_prints_one_line(devmail, capfd):
    message = send_invitation()

    out = capfd.readouterr().out
    [stored] = list(devmail.glob("*.eml"))
    assert out.count("\n") == 1
    assert out == (
        f"email to maria@example.org: {message.subject} - "
        f"http://127.0.0.1:8000/dev/emails/{stored.stem}/\n"
    )
    assert "Content-Type" not in out
    kept = stored_email_get(email_id=stored.stem)
    assert kept.subject == message.subject
    assert "https://example.org/sign/abc/" in kept.text
    assert 'href="https://example.org/sign/abc/"' in kept.html


def test_each_message_gets_its_own_line_and_file(devmail, capfd):
    for n in range(3):
        mail.send_mail(f"Subject {n}", "Body", "site@example.org", [f"{n}@example.org"])

    lines = capfd.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "email to 0@example.org",
        "email to 1@example.org",
        "email to 2@example.org",
    ]
    assert [e.subject for e in stored_email_list()] == [
        "Subject 2",
        "Subject 1",
        "Subject 0",
    ]


def test_development_settings_pick_the_backend_without_email_url(tmp_path):
    def backend(**env):
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup(); from django.conf import settings; "
                "print(settings.EMAIL_BACKEND)",
            ],
            cwd=ROOT,
            env={
                "ENV_FILE": "",
                "SECRET_KEY": "x" * 50,
                "DJANGO_SETTINGS_MODULE": "coalition.settings",
                "PATH": "/usr/bin:/bin",
                **env,
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert backend(DEBUG="true") == "coalition.devmail.DevMailBackend"
    assert backend(DEBUG="true", EMAIL_URL="smtp://localhost:25") == (
        "django.core.mail.backends.smtp.EmailBackend"
    )
    assert backend(DEBUG="false") == "django.core.mail.backends.console.EmailBackend"


@pytest.fixture
def organiser_client(client, db):
    user = UserFactory()
    LetterFactory(owner=user)
    client.force_login(user)
    return client


DEV_URLS = ["dev-email-list", "dev-email-detail", "dev-email-html"]


def dev_url(name, email_id="20261130-010203-000000-0123456789abcdef"):
    return reverse(name) if name == "dev-email-list" else reverse(name, args=[email_id])


@pytest.mark.parametrize("name", DEV_URLS)
def test_pages_are_404_with_debug_off(name, devmail, settings, client, db):
    send_invitation()
    [stored] = list(devmail.glob("*.eml"))
    settings.DEBUG = False
    staff = UserFactory(is_staff=True)
    client.force_login(staff)

    response = client.get(dev_url(name, stored.stem))

    assert response.status_code == 404


@pytest.mark.parametrize("name", DEV_URLS)
def test_pages_are_for_staff_and_organisers_only(name, devmail, client, db):
    send_invitation()
    url = dev_url(name, next(devmail.glob("*.eml")).stem)

    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous.url.startswith(reverse("account_login"))

    client.force_login(UserFactory())
    assert client.get(url).status_code == 403

    client.force_login(UserFactory(is_staff=True))
    assert client.get(url).status_code == 200


def test_list_shows_the_newest_first(devmail, organiser_client):
    mail.send_mail("Older", "Body", "site@example.org", ["a@example.org"])
    mail.send_mail("Newer", "Body", "site@example.org", ["b@example.org"])

    page = organiser_client.get(reverse("dev-email-list")).content.decode()

    assert page.index("Newer") < page.index("Older")
    assert "b@example.org" in page


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_detail_shows_headers_clickable_links_and_a_sandboxed_preview(
    devmail, organiser_client
):
    send_invitation(url="https://example.org/sign/abc/?x=1&y=2")
    email_id = next(devmail.glob("*.eml")).stem

    response = organiser_client.get(reverse("dev-email-detail", args=[email_id]))

    parser = Links()
    parser.feed(response.content.decode())
    links = [a["href"] for tag, a in parser.tags if tag == "a"]
    assert "https://example.org/sign/abc/?x=1&y=2" in links
    [frame] = [a for tag, a in parser.tags if tag == "iframe"]
    assert frame["sandbox"] == ""
    assert frame["src"] == reverse("dev-email-html", args=[email_id])
    assert b"Message-ID" in response.content
    assert b"maria@example.org" in response.content


def test_html_part_is_served_under_a_policy_that_runs_nothing(
    devmail, organiser_client
):
    send_invitation()
    email_id = next(devmail.glob("*.eml")).stem

    response = organiser_client.get(reverse("dev-email-html", args=[email_id]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert re.search(r"(^|; )sandbox(;|$)", policy)
    assert "script-src" not in policy
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert b"https://example.org/sign/abc/" in response.content


def test_strangers_text_in_an_email_stays_text_on_the_detail_page(
    devmail, organiser_client
):
    mail.send_mail(f"Hello {MARKUP}", f"From {MARKUP}", "a@example.org", ["b@x.org"])
    email_id = next(devmail.glob("*.eml")).stem

    page = organiser_client.get(reverse("dev-email-detail", args=[email_id]))

    parser = Links()
    parser.feed(page.content.decode())
    assert not [a for tag, a in parser.tags if tag == "img" and a.get("src") == "x"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.content.decode()


@pytest.mark.parametrize("email_id", ["..", "../../etc/passwd", "abc", "x" * 30])
def test_anything_but_an_id_is_not_found(email_id, devmail, organiser_client):
    (devmail).mkdir(parents=True, exist_ok=True)
    assert stored_email_get(email_id=email_id) is None
