"""The warm public page costs one cache round trip and no query."""

from django.core.cache import cache

from tests.letters.public_fixtures import published_letter, sign_many


def test_a_warm_view_is_one_cache_round_trip(
    db, client, monkeypatch, django_assert_num_queries
):
    letter = published_letter()
    sign_many(letter, 20)
    url = f"/letters/{letter.slug}/"
    for coding in ("br", "gzip", "identity"):
        client.get(url, headers={"accept-encoding": coding})
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

    for method in ("get", "get_many", "set", "set_many", "add", "delete"):
        monkeypatch.setattr(cache, method, counted(method, getattr(cache, method)))

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
