"""Rate limits for the public join form, counted in the site's shared cache.

IP addresses and emails are never stored: the cache key holds a keyed hash.
With Redis as the cache (production, tests), both counts of a submission are
taken in one round trip: a transaction that increments each key and starts its
period if it has none (``EXPIRE ... NX``), so a key never lives without one.
"""

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache


def _key(scope: str, value: str) -> str:
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"{scope}:{value}".encode(), hashlib.sha256
    ).hexdigest()
    return f"signers:join:{scope}:{digest[:40]}"


def _count_one(key: str, period: int) -> int:
    cache.add(key, 0, timeout=period)
    try:
        count: int = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=period)
        count = 1
    return count


def _counts(keys: list[str], period: int) -> list[int]:
    """Count one attempt against each key; each key's count in the period."""
    backend = caches["default"]  # the backend itself, not the proxy ``cache``
    if not isinstance(backend, RedisCache):
        return [_count_one(key, period) for key in keys]
    made = [backend.make_and_validate_key(key) for key in keys]
    client: Any = backend._cache.get_client(made[0], write=True)
    with client.pipeline(transaction=True) as pipe:
        for key in made:
            pipe.incr(key)
            pipe.expire(key, period, nx=True)
        results = pipe.execute()
    return [int(count) for count in results[::2]]


def join_limit_exceeded(*, ip: str, email: str) -> bool:
    """Count a join submission from ``ip`` for ``email`` against both limits.

    ``ip`` is the client's address as ``coalition.network.client_network`` finds
    it behind the trusted proxies, never simply the connecting address.
    """
    by_ip, by_email = _counts(
        [_key("ip", ip), _key("email", email.lower())],
        settings.SIGNERS_JOIN_LIMIT_PERIOD,
    )
    return (
        by_ip > settings.SIGNERS_JOIN_LIMIT_PER_IP
        or by_email > settings.SIGNERS_JOIN_LIMIT_PER_EMAIL
    )
