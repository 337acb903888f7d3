from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from signers.tokens import TokenError, TokenExpired, make_token, read_token


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
