import re
from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from coalition.models import User
from tests.coalition.helpers import CountingPasswordHasher, still_clock, totp_code
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

STRONG = "Plenty-of-entropy-42"


def signup(client, email="new@example.org", password=STRONG, password2=None):
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": password, "password2": password2 or password},
    )


def link_in(message) -> str:
    match = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body)
    assert match, message.body
    return match.group(0)


def test_signup_creates_unverified_account_and_emails_a_confirmation_link(
    client, mailoutbox
):
    response = signup(client)

    assert response.status_code == 302
    user = User.objects.get(email="new@example.org")
    assert not EmailAddress.objects.get(user=user).verified
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["new@example.org"]
    assert "Confirm your email address" in message.subject
    html = message.alternatives[0][0]
    assert link_in(message) in html


def test_unverified_account_cannot_log_in(client):
    signup(client)
    client.logout()

    response = client.post(
        reverse("account_login"), {"login": "new@example.org", "password": STRONG}
    )

    assert "_auth_user_id" not in client.session
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")


def test_confirming_the_email_verifies_and_logs_in(client, mailoutbox):
    signup(client)
    url = link_in(mailoutbox[0]).replace("http://testserver", "")

    get = client.get(url)
    assert get.status_code == 200  # a page with a button; GET confirms nothing
    assert not EmailAddress.objects.get(email="new@example.org").verified

    client.post(url)

    assert EmailAddress.objects.get(email="new@example.org").verified
    assert client.get(reverse("letters:dashboard")).status_code == 200


def test_expired_confirmation_link_is_refused(client, mailoutbox):
    signup(client)
    url = link_in(mailoutbox[0]).replace("http://testserver", "")

    with time_machine.travel(timezone.now() + timedelta(days=4)):
        page = client.get(url)
        client.post(url)

    assert "expired or is invalid" in page.content.decode()
    assert not EmailAddress.objects.get(email="new@example.org").verified


def test_duplicate_email_gets_a_clear_message_and_no_second_account(client, mailoutbox):
    UserFactory(email="taken@example.org")

    response = signup(client, email="Taken@Example.org")

    # Enumeration is prevented: the form goes through, but the owner of the
    # address is told by email, and no second account exists.
    assert User.objects.filter(email__iexact="taken@example.org").count() == 1
    assert "already" in mailoutbox[-1].body.lower()
    assert response.status_code == 302


def test_signup_does_the_same_work_whether_or_not_the_address_has_an_account(
    settings, mailoutbox
):
    # A new account costs a password hash and an email; an answer that skipped
    # the hash would come back measurably sooner for an address already known.
    settings.PASSWORD_HASHERS = ["tests.coalition.helpers.CountingPasswordHasher"]
    UserFactory(email="taken@example.org")
    work = {}
    for email in ("new@example.org", "taken@example.org"):
        CountingPasswordHasher.calls = 0
        mailoutbox.clear()
        response = signup(Client(), email=email)
        work[email] = (CountingPasswordHasher.calls, len(mailoutbox), response.url)

    assert work["new@example.org"] == work["taken@example.org"]
    assert work["new@example.org"][:2] == (1, 1)


def test_weak_password_is_refused_with_the_reason_and_no_account(client):
    response = signup(client, password="password")

    assert response.status_code == 200
    body = response.content.decode()
    assert "too common" in body
    assert 'aria-invalid="true"' in body
    assert 'value="new@example.org"' in body  # what was typed is kept
    assert not User.objects.filter(email="new@example.org").exists()


def test_mismatched_passwords_are_refused(client):
    response = signup(client, password2="Another-password-43")

    assert "same password" in response.content.decode()
    assert not User.objects.exists()


def test_wrong_password_is_rate_limited(client):
    user = UserFactory()
    url = reverse("account_login")
    for _ in range(5):
        response = client.post(url, {"login": user.email, "password": "wrong"})
        assert "not correct" in response.content.decode()

    blocked = client.post(url, {"login": user.email, "password": PASSWORD})

    assert "_auth_user_id" not in client.session
    assert "Too many failed login attempts" in blocked.content.decode()


PROXY = "10.0.0.2"


def log_in(client, email, password=PASSWORD, **meta):
    """Post the login form; True if it logged the user in."""
    client.logout()
    client.post(
        reverse("account_login"), {"login": email, "password": password}, **meta
    )
    return "_auth_user_id" in client.session


def test_failed_logins_against_one_account_do_not_lock_another(client):
    a, b = UserFactory(), UserFactory()
    for _ in range(5):
        assert not log_in(client, a.email, "wrong")

    assert not log_in(client, a.email)  # a is locked from this address
    assert log_in(client, b.email)


def test_a_strangers_failed_logins_do_not_lock_the_owner_out(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    owner = UserFactory()
    stranger = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    for _ in range(5):
        assert not log_in(client, owner.email, "wrong", **stranger)

    assert not log_in(client, owner.email, **stranger)
    assert log_in(
        client, owner.email, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1"
    )


def test_one_address_failing_against_many_accounts_is_stopped(client):
    users = UserFactory.create_batch(6)
    for user in users[:5]:
        for _ in range(4):
            assert not log_in(client, user.email, "wrong")

    assert not log_in(client, users[5].email)
    assert log_in(client, users[5].email, REMOTE_ADDR="198.51.100.1")


def test_a_spoofed_forwarded_for_does_not_reset_the_login_lock(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    user = UserFactory()
    for n in range(5):
        assert not log_in(
            client, user.email, "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}"
        )

    assert not log_in(client, user.email, HTTP_X_FORWARDED_FOR="192.0.2.99")


def test_entries_written_before_the_trusted_proxy_do_not_reset_the_login_lock(
    client, settings
):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    user = UserFactory()
    for n in range(5):
        forwarded = f"192.0.2.{n}, 203.0.113.9"
        assert not log_in(
            client,
            user.email,
            "wrong",
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    assert not log_in(
        client,
        user.email,
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.9",
    )


def test_login_and_logout(client):
    user = UserFactory()
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert client.session["_auth_user_id"] == str(user.pk)

    assert client.get(reverse("account_logout")).status_code == 200  # asks first
    assert "_auth_user_id" in client.session
    client.post(reverse("account_logout"))

    assert "_auth_user_id" not in client.session


def test_password_reset_sends_a_link(client, mailoutbox):
    user = UserFactory()

    client.post(reverse("account_reset_password"), {"email": user.email})

    assert len(mailoutbox) == 1
    assert "/accounts/password/reset/key/" in mailoutbox[0].body
    assert "Reset your" in mailoutbox[0].subject


def test_rarer_allauth_emails_fall_back_to_allauth_text_in_site_layout(
    client, mailoutbox
):
    client.post(reverse("account_reset_password"), {"email": "nobody@example.org"})

    message = mailoutbox[0]
    assert "nobody@example.org" in message.to
    html = message.alternatives[0][0]
    assert '<table role="presentation"' in html  # the site's layout


def test_organiser_turns_on_totp_and_then_needs_a_code_to_log_in(client):
    with still_clock() as clock:
        user = UserFactory()
        client.post(
            reverse("account_login"), {"login": user.email, "password": PASSWORD}
        )
        # Security settings ask for the password again first.
        assert client.get(reverse("mfa_activate_totp")).status_code == 302
        client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
        page = client.get(reverse("mfa_activate_totp")).content.decode()
        secret = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"', page)
        assert secret, page

        client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret.group(1))})
        assert user.authenticator_set.filter(type="totp").exists()
        client.post(reverse("account_logout"))

        clock.shift(timedelta(seconds=61))  # a fresh code, not the one just used
        response = client.post(
            reverse("account_login"), {"login": user.email, "password": PASSWORD}
        )
        assert response.url == reverse("mfa_authenticate")
        assert "_auth_user_id" not in client.session
        client.post(reverse("mfa_authenticate"), {"code": "000000"})
        assert "_auth_user_id" not in client.session
        client.post(reverse("mfa_authenticate"), {"code": totp_code(secret.group(1))})

        assert client.session["_auth_user_id"] == str(user.pk)
