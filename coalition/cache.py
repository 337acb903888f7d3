"""The site's Redis cache: Django's, with its client objects kept.

Django's Redis backend makes a new ``redis.Redis`` for every cache call, and
that object builds its table of some 170 reply handlers each time: on a warm
public page, which is one cache call and nothing else, that was about a
fifth of the view. A client is only a handle on its connection pool and is
safe to reuse between calls (the backend itself is per thread already).
With several servers, each thread keeps to the one read server it drew first.
"""

from typing import Any

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
