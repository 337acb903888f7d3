from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import signing
from django.utils import timezone

from coalition.tokens import MAX_AGE, TokenError, TokenExpired, make_token, read_token


def test_token_round_trips_its_primary_key():
    assert read_token("withdraw", make_token("withdraw", 42)) == 42


def test_token_for_one_purpose_is_refused_for_another():
    with pytest.raises(TokenError):
        read_token("confirm", make_token("withdraw", 42))


def test_tampered_token_is_refused():
    token = make_token("confirm", 42)
    with pytest.raises(TokenError):
        read_token("confirm", token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))


def test_expired_token_is_told_apart_from_a_bad_one():
    token = make_token("confirm", 42)
    with (
        time_machine.travel(timezone.now() + timedelta(days=8)),
        pytest.raises(TokenExpired),
    ):
        read_token("confirm", token)


def test_unknown_purpose_is_a_programming_error():
    with pytest.raises(ValueError):
        make_token("nonsense", 1)


# Tokens made before the tokens moved to ``coalition.tokens`` (same key, same
# instant): every link already in an inbox keeps working because the salts
# ("signers.<purpose>") never change.
OLD_TOKENS = {
    "withdraw": "NDI0Mg:1xNUEC:wW34ZY33G3Rhsww6F2iELhzlXSdoQdiO9v3CaQvcUyE",
    "confirm": "NDI0Mg:1xNUEC:fS214fGnY1AQIyVCfpxULApz8VfdwSDWdeFFVIyd6FU",
    "invite": "NDI0Mg:1xNUEC:T1hqOF8eJDjitKB2lhC_gybXbLLuFQE3CQc53Fsvcq4",
    "team": "NDI0Mg:1xNUEC:_karUtjARwNRMP3AnXGDA4B_NmXE3GMIB-zU-G0FDWU",
    "unsubscribe": "NDI0Mg:1xNUEC:_Z9czNMNNXHZijqoxQKCICFvT80JdxZgjdViRVhOtS0",
}


@pytest.mark.parametrize("purpose", sorted(OLD_TOKENS))
def test_a_token_made_before_the_move_still_loads(purpose, settings):
    settings.SECRET_KEY = "a-key-from-before-the-move"
    made = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    with time_machine.travel(made + timedelta(days=1), tick=False):
        assert read_token(purpose, OLD_TOKENS[purpose]) == 4242
        assert make_token(purpose, 4242) != OLD_TOKENS[purpose]  # a new instant
    with time_machine.travel(made, tick=False):
        assert make_token(purpose, 4242) == OLD_TOKENS[purpose]


@pytest.mark.parametrize("secret", ["test-only-not-secret", "another-key"])
def test_a_token_is_what_signing_dumps_makes(secret, settings):
    settings.SECRET_KEY = secret
    with time_machine.travel(datetime(2030, 5, 1, 9, 0, 7, tzinfo=UTC), tick=False):
        for purpose in sorted(MAX_AGE):
            for pk in (0, 1, 42, 999_999, 2**31 - 1, 10**40, -3):
                expected = signing.dumps(pk, salt=f"signers.{purpose}", compress=True)
                assert make_token(purpose, pk) == expected, (purpose, pk)
                assert read_token(purpose, make_token(purpose, pk)) == pk
