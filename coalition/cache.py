"""The site's Redis cache: Django's, with its client objects kept, and a
lookup with an ``add`` in one round trip (``get_many_and_add``).

Django's Redis backend makes a new ``redis.Redis`` for every cache call, and
that object builds its table of some 170 reply handlers each time: on a warm
public page, which is one cache call and nothing else, that was about a
fifth of the view. A client is only a handle on its connection pool and is
safe to reuse between calls (the backend itself is per thread already).
With several servers, each thread keeps to the one read server it drew first.
"""

from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class _ReusedClients(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kept: dict[bool, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        client = self._kept.get(write)
        if client is None:
            client = self._kept[write] = super().get_client(key, write=write)
        return client


class SiteRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ReusedClients

    def get_many_and_add(
        self, keys: list[str], add_key: str, value: Any, timeout: float | None
    ) -> tuple[dict[str, Any], bool]:
        """``get_many(keys)`` and ``add(add_key, value, timeout)`` in one round
        trip (a pipeline, not a transaction): what is stored, and whether
        ``add_key`` was added."""
        key_map = {self.make_and_validate_key(key): key for key in keys}
        backend: Any = self._cache  # its serializer, as its own calls use it
        serializer = backend._serializer
        seconds = self.get_backend_timeout(timeout)
        pipeline = backend.get_client(write=True).pipeline(transaction=False)
        pipeline.mget(list(key_map))
        pipeline.set(
            self.make_and_validate_key(add_key),
            serializer.dumps(value),
            nx=True,
            ex=None if seconds is None else int(seconds),
        )
        found, added = pipeline.execute()
        stored = {
            key_map[key]: serializer.loads(raw)
            for key, raw in zip(key_map, found, strict=True)
            if raw is not None
        }
        return stored, bool(added)


def get_many_and_add(
    keys: list[str], add_key: str, value: Any, timeout: float | None
) -> tuple[dict[str, Any], bool]:
    """As ``SiteRedisCache.get_many_and_add`` on the default cache; two calls
    on any other backend (development)."""
    backend = caches["default"]
    if isinstance(backend, SiteRedisCache):
        return backend.get_many_and_add(keys, add_key, value, timeout)
    return backend.get_many(keys), backend.add(add_key, value, timeout)
