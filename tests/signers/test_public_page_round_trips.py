"""The warm public page costs one cache round trip and no query."""

from django.core.cache import cache, caches

from coalition.cache import SiteRedisCache
from tests.letters.public_fixtures import (
    PAGE_QUERIES,
    bump_signers_version,
    published_letter,
    sign_many,
)


def counted_cache_calls(monkeypatch):
    """The cache calls made from now on, by name, as a list that grows."""
    calls = []
    depth = [0]  # a backend's get_many may call its own get: count the outer call

    def counted(method, real):
        def call(*args, **kwargs):
            if not depth[0]:
                calls.append(method)
            depth[0] += 1
            try:
                return real(*args, **kwargs)
            finally:
                depth[0] -= 1

        return call

    for method in (
        "get",
        "get_many",
        "set",
        "set_many",
        "add",
        "delete",
        "get_many_and_add",
    ):
        if hasattr(cache, method):
            monkeypatch.setattr(cache, method, counted(method, getattr(cache, method)))
    return calls


def test_a_warm_view_is_one_cache_round_trip(
    db, client, monkeypatch, django_assert_num_queries
):
    letter = published_letter()
    sign_many(letter, 20)
    url = f"/letters/{letter.slug}/"
    for coding in ("br", "gzip", "identity"):
        client.get(url, headers={"accept-encoding": coding})
    calls = counted_cache_calls(monkeypatch)

    for coding in ("br", "gzip", "identity"):
        with django_assert_num_queries(0):
            response = client.get(url, headers={"accept-encoding": coding})
        assert response.status_code == 200
        assert response.headers.get("Content-Encoding") == (
            None if coding == "identity" else coding
        )
        etag = response["ETag"]
        with django_assert_num_queries(0):
            again = client.get(
                url, headers={"accept-encoding": coding, "if-none-match": etag}
            )
        assert again.status_code == 304

    assert calls == ["get_many"] * 6


def test_the_public_page_is_among_the_first_addresses_tried():
    """Django tries URL patterns in order, and a warm view is cheap enough for
    a walk through a hundred of them to show: the busiest address comes first."""
    from django.urls import get_resolver
    from django.urls.resolvers import URLResolver

    from signers.views.public import public

    def tried(patterns, found):
        count = 0
        for pattern in patterns:
            if isinstance(pattern, URLResolver) and not str(pattern.pattern):
                inner, hit = tried(pattern.url_patterns, found)
                count += inner
                if hit:
                    return count, True
                continue
            count += 1
            if getattr(pattern, "callback", None) is found:
                return count, True
        return count, False

    count, hit = tried(get_resolver().url_patterns, public)
    assert hit
    assert count <= 10


def test_a_cold_view_is_three_cache_round_trips(
    db, client, monkeypatch, django_assert_num_queries
):
    """The first view after the list changed: the pointer (stale now), the
    stored renderings (none yet) with the render lock, and the new entries in
    one pipeline; the lock is left to expire, and the letter's text (a revision,
    which never changes) is the one this process rendered last time."""
    letter = published_letter()
    sign_many(letter, 20)
    url = f"/letters/{letter.slug}/"
    client.get(url, headers={"accept-encoding": "br"})
    bump_signers_version(letter)
    calls = counted_cache_calls(monkeypatch)

    with django_assert_num_queries(PAGE_QUERIES):
        response = client.get(url, headers={"accept-encoding": "br"})

    assert response.status_code == 200
    if isinstance(caches["default"], SiteRedisCache):
        assert calls == ["get_many", "get_many_and_add", "set_many"]
    else:  # development's cache: the lookup and the lock apart
        assert calls == ["get_many", "get_many", "add", "set_many"]
