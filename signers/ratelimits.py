"""Rate limits for the public join form, counted in the site's shared cache.

IP addresses and emails are never stored: the cache key holds a keyed hash.
"""

import hashlib
import hmac

from django.conf import settings
from django.core.cache import cache


def _key(scope: str, value: str) -> str:
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"{scope}:{value}".encode(), hashlib.sha256
    ).hexdigest()
    return f"signers:join:{scope}:{digest[:40]}"


def _hit(scope: str, value: str, limit: int) -> bool:
    """Count one attempt; True if it goes over ``limit`` in the period."""
    period = settings.SIGNERS_JOIN_LIMIT_PERIOD
    key = _key(scope, value)
    cache.add(key, 0, timeout=period)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=period)
        count = 1
    return count > limit


def join_limit_exceeded(*, ip: str, email: str) -> bool:
    """Count a join submission from ``ip`` for ``email`` against both limits.

    ``ip`` is the client's address as ``coalition.network.client_network`` finds
    it behind the trusted proxies, never simply the connecting address.
    """
    by_ip = _hit("ip", ip, settings.SIGNERS_JOIN_LIMIT_PER_IP)
    by_email = _hit("email", email.lower(), settings.SIGNERS_JOIN_LIMIT_PER_EMAIL)
    return by_ip or by_email
