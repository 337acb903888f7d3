import pytest
from django.test import Client
from django.urls import reverse

from coalition.celery import app as celery_app
from coalition.models import Heartbeat
from coalition.tasks import beat_heartbeat_task
from tests.factories import SignatureFactory, UserFactory, circulating_letter

pytestmark = pytest.mark.django_db


def test_home_invites_visitors_and_sends_organisers_to_their_letters(client):
    assert "Start organising" in client.get("/").content.decode()

    client.force_login(UserFactory())
    assert client.get("/").url == reverse("letters:dashboard")


def test_healthz_is_ok_with_database_and_broker(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["broker"] == "ok"


def test_healthz_is_503_when_the_broker_is_unreachable(client, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:9/0")

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"] == "unreachable"


def test_healthz_reports_the_age_of_the_last_beat_tick(client):
    assert client.get("/healthz").json()["beat_age_seconds"] is None

    beat_heartbeat_task()
    beat_heartbeat_task()  # idempotent: one row, refreshed

    assert Heartbeat.objects.count() == 1
    assert client.get("/healthz").json()["beat_age_seconds"] <= 5


def test_healthz_reports_no_consent_violations(client):
    SignatureFactory(letter=circulating_letter())

    assert client.get("/healthz").json()["consent_violations"] == 0


@pytest.mark.consent_violation_expected
def test_healthz_reports_the_number_of_consent_violations(client):
    SignatureFactory(letter=circulating_letter(), attested=False)

    response = client.get("/healthz")

    assert response.status_code == 200  # bad data, not a node to take out
    assert response.json()["consent_violations"] == 1


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "<header" in response.content.decode()


def test_csrf_failure_explains_what_to_do():
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("account_login"), {"login": "a@example.org"})

    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()


def test_500_page_renders_without_a_request_context():
    from coalition.views import server_error

    response = server_error(None)

    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_403_page(rf):
    from django.core.exceptions import PermissionDenied

    from coalition.views import permission_denied

    request = rf.get("/")
    request.user = UserFactory()
    response = permission_denied(request, PermissionDenied())

    assert response.status_code == 403
    assert "do that here" in response.content.decode()


def test_pages_have_a_skip_link_and_landmarks(client):
    body = client.get(reverse("account_login")).content.decode()

    assert 'class="skip-link" href="#main"' in body
    assert '<main id="main"' in body
    assert "<nav" in body and "<footer" in body
