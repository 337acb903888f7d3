import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

from signers import ratelimits


@pytest.fixture
def limits(settings):
    settings.SIGNERS_JOIN_LIMIT_PER_IP = 3
    settings.SIGNERS_JOIN_LIMIT_PER_EMAIL = 2
    settings.SIGNERS_JOIN_LIMIT_PERIOD = 600


def test_each_submission_counts_once_against_both_limits(limits):
    answers = [
        ratelimits.join_limit_exceeded(ip="192.0.2.1", email=f"a{i}@example.org")
        for i in range(4)
    ]
    assert answers == [False, False, False, True]
    assert cache.get(ratelimits._key("ip", "192.0.2.1")) == 4
    assert cache.get(ratelimits._key("email", "a0@example.org")) == 1

    same = [
        ratelimits.join_limit_exceeded(ip=f"192.0.2.{i}", email="B@example.org")
        for i in range(10, 13)
    ]
    assert same == [False, False, True]
    assert cache.get(ratelimits._key("email", "b@example.org")) == 3


@pytest.mark.skipif(
    not isinstance(caches["default"], RedisCache), reason="the period is Redis's TTL"
)
def test_every_count_expires_with_its_period_which_later_hits_do_not_extend(limits):
    ratelimits.join_limit_exceeded(ip="192.0.2.1", email="a@example.org")
    keys = [
        ratelimits._key("ip", "192.0.2.1"),
        ratelimits._key("email", "a@example.org"),
    ]
    backend = caches["default"]
    made = [backend.make_and_validate_key(key) for key in keys]
    client = backend._cache.get_client(made[0], write=True)
    for key in made:
        client.expire(key, 100)
    ratelimits.join_limit_exceeded(ip="192.0.2.1", email="a@example.org")
    for key in made:
        assert 0 < client.ttl(key) <= 100
