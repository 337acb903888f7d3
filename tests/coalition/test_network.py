import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.test import RequestFactory

from coalition.network import client_ip, client_network

PROXY = "10.0.0.2"


def request(remote_addr=PROXY, **headers):
    return RequestFactory().get("/", REMOTE_ADDR=remote_addr, **headers)


def test_without_trusted_proxies_a_forwarded_address_is_not_believed(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0

    spoofed = request("203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.1")

    assert client_ip(spoofed) == "203.0.113.7"


def test_behind_one_proxy_the_address_it_appended_is_the_client(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1

    behind = request(HTTP_X_FORWARDED_FOR="198.51.100.1")

    assert client_ip(behind) == "198.51.100.1"


def test_entries_a_client_wrote_before_the_trusted_proxies_are_not_believed(
    settings,
):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2

    # The client sent "X-Forwarded-For: 192.0.2.1, 192.0.2.2"; a CDN appended
    # the address it saw, then the site's own proxy appended the CDN's.
    forwarded = request(
        HTTP_X_FORWARDED_FOR="192.0.2.1, 192.0.2.2, 198.51.100.1, 10.0.0.1"
    )

    assert client_ip(forwarded) == "198.51.100.1"


def test_fewer_forwarded_entries_than_trusted_proxies_is_a_configuration_error(
    settings,
):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2

    with pytest.raises(ImproperlyConfigured):
        client_ip(request(HTTP_X_FORWARDED_FOR="198.51.100.1"))


def test_a_direct_request_without_the_header_is_its_connecting_address(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1

    assert client_ip(request("203.0.113.7")) == "203.0.113.7"


def test_a_trusted_client_address_header_is_read_instead(settings):
    settings.ALLAUTH_TRUSTED_CLIENT_IP_HEADER = "X-Real-IP"

    forwarded = request(HTTP_X_REAL_IP="198.51.100.1", HTTP_X_FORWARDED_FOR="192.0.2.1")

    assert client_ip(forwarded) == "198.51.100.1"
    with pytest.raises(PermissionDenied):
        client_ip(request(HTTP_X_REAL_IP="<script>"))


def test_ipv6_visitors_are_counted_by_their_slash_64(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1

    one = request(HTTP_X_FORWARDED_FOR="2001:db8:1:2::1")
    same_network = request(HTTP_X_FORWARDED_FOR="2001:db8:1:2:ffff::9")
    other = request(HTTP_X_FORWARDED_FOR="2001:db8:1:3::1")

    assert client_network(one) == client_network(same_network) == "2001:db8:1:2::/64"
    assert client_network(other) != client_network(one)
    assert client_network(request("203.0.113.7")) == "203.0.113.7"
