"""The site's Redis cache keeps one client per server."""

import os

import pytest
from django.conf import settings

from coalition.cache import SiteRedisCache

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="needs a Redis (REDIS_URL)"
)


def test_the_site_uses_it_when_redis_is_configured():
    assert settings.CACHES["default"]["BACKEND"] == "coalition.cache.SiteRedisCache"


def test_every_call_reuses_one_client_and_still_works():
    backend = SiteRedisCache(
        os.environ.get("CACHE_URL") or os.environ["REDIS_URL"],
        {"KEY_PREFIX": "test-site-cache"},
    )
    client = backend._cache.get_client()
    assert backend._cache.get_client() is client
    backend.set_many({"a": 1, "b": b"two"}, 30)
    assert backend.get_many(["a", "b", "c"]) == {"a": 1, "b": b"two"}
    assert backend.add("a", 3, 30) is False
    backend.delete_many(["a", "b"])
    assert backend.get("a") is None
    assert backend._cache.get_client() is client


def test_a_lookup_and_an_add_in_one_round_trip():
    backend = SiteRedisCache(
        os.environ.get("CACHE_URL") or os.environ["REDIS_URL"],
        {"KEY_PREFIX": "test-site-cache-add"},
    )
    backend.delete_many(["a", "b", "lock"])
    backend.set("a", {"one": 1}, 30)

    first = backend.get_many_and_add(["a", "b"], "lock", True, 30)
    again = backend.get_many_and_add(["b", "a"], "lock", True, 30)

    assert first == ({"a": {"one": 1}}, True)
    assert again == ({"a": {"one": 1}}, False)
    assert backend.get("lock") is True
    assert 0 < backend._cache.get_client().ttl(backend.make_key("lock")) <= 30
    backend.delete_many(["a", "lock"])
