from datetime import timedelta

import pytest
from allauth.mfa.totp.internal import auth as totp_auth
from django.urls import reverse

from tests.coalition.helpers import still_clock, totp_code
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ADMIN = "/admin/"
ADMIN_LOGIN = "/admin/login/"


def staff(**kwargs):
    return UserFactory(is_staff=True, is_superuser=True, **kwargs)


def with_totp(user) -> str:
    secret = totp_auth.generate_totp_secret()
    totp_auth.TOTP.activate(user, secret)
    return secret


def site_login_url(next_url: str = ADMIN) -> str:
    return f"{reverse('account_login')}?next={next_url}"


def test_admin_login_page_sends_visitors_to_the_site_login(client):
    response = client.get(f"{ADMIN_LOGIN}?next=/admin/letters/")

    assert response.status_code == 302
    assert response.url == site_login_url("/admin/letters/")


def test_admin_sends_anonymous_visitors_to_the_site_login_in_the_end(client):
    response = client.get(ADMIN, follow=True)

    assert response.redirect_chain[-1][0] == site_login_url(ADMIN)
    assert "_auth_user_id" not in client.session


def test_admin_login_page_does_not_send_visitors_to_another_site(client):
    response = client.get(f"{ADMIN_LOGIN}?next=https://evil.example/")

    assert response.url == site_login_url(ADMIN)


def test_posting_a_password_to_the_admin_login_logs_nobody_in(client):
    user = staff()
    with_totp(user)

    response = client.post(
        ADMIN_LOGIN, {"username": user.email, "password": PASSWORD, "next": ADMIN}
    )

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.get(ADMIN).status_code == 302
    # Nor does anything it did open the organiser pages.
    assert client.get(reverse("letters:dashboard")).status_code == 302


def test_staff_with_totp_reaches_the_admin_only_after_the_totp_step(client):
    with still_clock():
        user = staff()
        secret = with_totp(user)
        login = client.get(ADMIN_LOGIN).url

        password_step = client.post(
            login, {"login": user.email, "password": PASSWORD, "next": ADMIN}
        )
        assert password_step.url == reverse("mfa_authenticate")
        assert client.get(ADMIN).status_code == 302
        assert client.get(reverse("letters:dashboard")).status_code == 302
        client.post(reverse("mfa_authenticate"), {"code": "000000"})
        assert client.get(ADMIN).status_code == 302

        totp_step = client.post(
            reverse("mfa_authenticate"), {"code": totp_code(secret)}
        )

    assert totp_step.url == ADMIN
    assert client.get(ADMIN).status_code == 200


def test_admin_login_is_rate_limited_like_every_login(client):
    user = staff()
    login = client.get(ADMIN_LOGIN).url
    assert login.startswith(reverse("account_login"))
    for _ in range(5):
        client.post(login, {"login": user.email, "password": "wrong", "next": ADMIN})

    blocked = client.post(login, {"login": user.email, "password": PASSWORD})

    assert "Too many failed login attempts" in blocked.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get(ADMIN).status_code == 302


def test_staff_without_totp_reaches_the_admin_after_the_site_login(client):
    user = staff()

    client.post(
        client.get(ADMIN_LOGIN).url, {"login": user.email, "password": PASSWORD}
    )

    assert client.get(ADMIN).status_code == 200


def test_session_not_made_by_the_site_login_must_confirm_the_password(client):
    user = staff()
    client.force_login(user)  # as django.contrib.auth.login() anywhere would

    chain = client.get(ADMIN, follow=True).redirect_chain
    assert chain[-1][0].startswith(reverse("account_reauthenticate"))
    client.post(chain[-1][0], {"password": PASSWORD})

    assert client.get(ADMIN).status_code == 200


def test_session_without_the_second_factor_must_give_it_for_the_admin(client):
    with still_clock() as clock:
        user = staff()
        client.post(
            reverse("account_login"), {"login": user.email, "password": PASSWORD}
        )
        assert client.get(ADMIN).status_code == 200
        # Two-factor login turned on (here, or from another session) later.
        secret = with_totp(user)

        chain = client.get(ADMIN, follow=True).redirect_chain
        assert chain[-1][0].startswith(reverse("mfa_reauthenticate"))
        clock.shift(timedelta(seconds=31))
        client.post(chain[-1][0], {"code": totp_code(secret)})

    assert client.get(ADMIN).status_code == 200


def test_admin_login_refuses_logged_in_users_who_are_not_staff(client):
    client.post(
        reverse("account_login"), {"login": UserFactory().email, "password": PASSWORD}
    )

    assert client.get(ADMIN_LOGIN).status_code == 403
