import re

import pytest
from django.test import Client
from django.urls import reverse

from coalition.tokens import make_token
from signers.models import Signature
from tests.factories import SignatureFactory

pytestmark = pytest.mark.django_db


def withdraw_url(signature) -> str:
    return reverse(
        "signers:withdraw", kwargs={"token": make_token("withdraw", signature.pk)}
    )


def csrf_from(response):
    return re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()
    ).group(1)


def test_pages_with_a_token_in_the_url_send_no_referrer():
    response = Client().get(withdraw_url(SignatureFactory()))

    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"


def test_other_pages_keep_the_same_origin_referrer_policy(client):
    assert client.get(reverse("account_login"))["Referrer-Policy"] == "same-origin"


def test_token_page_form_posts_from_a_browser_hiding_its_origin():
    # What a browser sends from a no-referrer page over HTTPS: Origin "null" and
    # no Referer. The CSRF token still has to be right.
    signature = SignatureFactory()
    client = Client(enforce_csrf_checks=True)
    url = withdraw_url(signature)
    token = csrf_from(client.get(url, secure=True))

    response = client.post(
        url, {"csrfmiddlewaretoken": token}, secure=True, HTTP_ORIGIN="null"
    )

    assert response.status_code == 302  # done, then back to the page
    signature.refresh_from_db()
    assert signature.status == Signature.Status.WITHDRAWN


def test_token_page_without_the_csrf_token_is_refused():
    signature = SignatureFactory()
    client = Client(enforce_csrf_checks=True)
    client.get(withdraw_url(signature), secure=True)

    response = client.post(withdraw_url(signature), {}, secure=True, HTTP_ORIGIN="null")

    assert response.status_code == 403
    signature.refresh_from_db()
    assert signature.status == Signature.Status.CONFIRMED


def test_a_null_origin_is_still_refused_on_ordinary_pages():
    client = Client(enforce_csrf_checks=True)
    token = csrf_from(client.get(reverse("account_login"), secure=True))

    response = client.post(
        reverse("account_login"),
        {"csrfmiddlewaretoken": token, "login": "a@example.org", "password": "x"},
        secure=True,
        HTTP_ORIGIN="null",
    )

    assert response.status_code == 403
