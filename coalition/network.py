"""The client's address, as every rate limit on the site sees it.

Behind a reverse proxy every request comes from the proxy's address, so keying
limits on ``REMOTE_ADDR`` would make one allowance for the whole site. The rule
for which forwarded address to believe is allauth's (settings
``ALLAUTH_TRUSTED_PROXY_COUNT`` and ``ALLAUTH_TRUSTED_CLIENT_IP_HEADER``), so its
login limits and the site's own count the same visitor.
"""

import ipaddress

from allauth import app_settings as allauth_settings
from allauth.account.adapter import get_adapter
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The visitor's address: ``REMOTE_ADDR`` unless trusted proxies report it.

    Raises ``PermissionDenied`` when no valid address can be found (a trusted
    client-address header missing or malformed).
    """
    return get_adapter(request).get_client_ip(request)


def client_network(request: HttpRequest) -> str:
    """What a rate limit counts: the address, or its /64 for IPv6, since one
    visitor usually holds a whole IPv6 /64 and could rotate through it."""
    ip = client_ip(request)
    address = ipaddress.ip_address(ip)
    if address.version == 6:
        prefix = allauth_settings.RATE_LIMIT_IPV6_PREFIX
        return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    return ip
