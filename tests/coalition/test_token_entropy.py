"""Every secret the site hands out is at least 64 bits of chance to guess.

Link tokens are signed, not random: what an attacker must guess is the
signature, an HMAC-SHA256, so its length is what counts. Random values
(sessions, CSRF, allauth's keys, anything our own code draws) count
length x log2(alphabet). Our own code is also read (its syntax tree) for every
call that draws randomness, so a new one cannot slip in under 64 bits.
"""

import ast
import base64
import math
import re
from pathlib import Path

import pytest
from allauth.account import app_settings as account_settings
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import generate_totp_secret
from django.conf import settings
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.core import signing
from django.middleware.csrf import CSRF_ALLOWED_CHARS
from django.urls import reverse

from coalition.tokens import MAX_AGE, TokenError, make_token, read_token
from signers.emails import build_signature_email
from signers.models import SIGNATURE_EMAIL_KINDS, EmailKind
from signers.services.sending import queue_signature_email
from tests.factories import SignatureFactory, UserFactory

MIN_BITS = 64
ROOT = Path(settings.BASE_DIR)
OUR_CODE = ["coalition", "letters", "signers", "bench"]


def bits(length: int, alphabet: int) -> float:
    return length * math.log2(alphabet)


def hmac_bits(signed: str) -> int:
    """Bits of the signature at the end of a ``django.core.signing`` value."""
    signature = signed.rsplit(signing.Signer().sep, 1)[1]
    return len(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))) * 8


# --- Link tokens -------------------------------------------------------------


@pytest.mark.parametrize("purpose", sorted(MAX_AGE))
def test_every_link_token_carries_a_full_hmac_sha256(purpose):
    token = make_token(purpose, 2**31 - 1)

    assert hmac_bits(token) == 256 >= MIN_BITS
    assert signing.TimestampSigner(salt="any").algorithm == "sha256"


def test_a_token_with_a_shortened_signature_is_refused():
    token = make_token("withdraw", 7)
    head, signature = token.rsplit(":", 1)

    # What counts is every bit of the signature, not a prefix an attacker can
    # guess: 10 characters of it (60 bits) are refused.
    with pytest.raises(TokenError):
        read_token("withdraw", f"{head}:{signature[:10]}")


@pytest.mark.django_db
def test_allauth_confirmation_links_are_signed_with_a_full_hmac(client, mailoutbox):
    assert account_settings.EMAIL_CONFIRMATION_HMAC
    client.post(
        reverse("account_signup"),
        {
            "email": "new@example.org",
            "password1": "Plenty-of-entropy-42",
            "password2": "Plenty-of-entropy-42",
        },
    )

    key = re.search(r"/accounts/confirm-email/([^/\s]+)/", mailoutbox[0].body)[1]

    assert hmac_bits(key) >= MIN_BITS


@pytest.mark.django_db
def test_password_reset_links_carry_at_least_64_bits(client, mailoutbox):
    user = UserFactory()
    client.post(reverse("account_reset_password"), {"email": user.email})

    key = re.search(r"/accounts/password/reset/key/([^/\s]+)/", mailoutbox[0].body)[1]
    # <user id in base 36>-<timestamp in base 36>-<HMAC in hex>
    digest = key.rsplit("-", 1)[1]

    assert re.fullmatch(r"[0-9a-f]+", digest)
    assert len(digest) * 4 >= MIN_BITS


def test_no_bearer_code_of_a_few_characters_is_switched_on():
    # allauth can email short codes (8 letters, ~35 bits) instead of links:
    # fine behind its attempt limits, but under 64 bits, so they stay off
    # unless someone decides otherwise here.
    assert not account_settings.LOGIN_BY_CODE_ENABLED
    assert not account_settings.EMAIL_VERIFICATION_BY_CODE_ENABLED
    assert not account_settings.PASSWORD_RESET_BY_CODE_ENABLED


# --- Random values -------------------------------------------------------------


@pytest.mark.django_db
def test_session_keys_and_csrf_secrets_are_long_random_strings(client):
    client.get(reverse("account_login"))
    csrf = client.cookies[settings.CSRF_COOKIE_NAME].value
    client.force_login(UserFactory())
    session_key = client.session.session_key

    assert set(session_key) <= set(VALID_KEY_CHARS)
    assert bits(len(session_key), len(VALID_KEY_CHARS)) >= MIN_BITS
    assert set(csrf) <= set(CSRF_ALLOWED_CHARS)
    assert bits(len(csrf), len(CSRF_ALLOWED_CHARS)) >= MIN_BITS


def test_two_factor_secrets_are_long_though_their_codes_are_short():
    # TOTP and recovery codes (6 and 8 digits) only work after the password,
    # a second factor with attempt limits; the secrets behind them are long.
    assert len(base64.b32decode(generate_totp_secret())) * 8 >= MIN_BITS
    assert bits(len(RecoveryCodes.generate_seed()), 16) >= MIN_BITS


# --- Our own code ----------------------------------------------------------------

# Where randomness is drawn on purpose for something that is not a secret.
NOT_SECRETS = {
    "signers/demo.py": "demo letters and signers for `make run`",
    "bench/network_map.py": "a benchmark's seeded coalition on a throwaway database",
    "signers/partners/demo.py": "demo partners for `make run`",
}
RANDOM_STRING_DEFAULT = (12, 62)  # django.utils.crypto.get_random_string
# Django's defaults: sha256 for signing, sha1 for salted_hmac.
HASH_BITS = {"sha1": 160, "sha256": 256, "sha384": 384, "sha512": 512}


def _python_files():
    for folder in OUR_CODE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _literal(node, default=None):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        return default


def _name(func) -> str:
    if isinstance(func, ast.Attribute):
        return f"{_name(func.value)}.{func.attr}"
    return func.id if isinstance(func, ast.Name) else ""


def _is_digest(node, digest_names) -> bool:
    if isinstance(node, ast.Call):
        return _name(node.func).endswith((".hexdigest", ".digest"))
    return isinstance(node, ast.Name) and node.id in digest_names


def randomness_in_our_code():
    """(file, line, what, bits or None) for every place our code draws
    randomness, signs, or shortens a digest; None where the bits cannot be
    read off the code (someone must look, and list it in NOT_SECRETS)."""
    for path in _python_files():
        where = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(), where)
        digest_names = {
            target.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign) and _is_digest(node.value, set())
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = [a.name for a in node.names]
                modules.append(getattr(node, "module", None) or "")
                # The random module is not for secrets; uuid is judged by its
                # calls below (uuid4 is 122 random bits, uuid1 is not random).
                if "random" in {m.split(".")[0] for m in modules}:
                    yield where, node.lineno, "import of random", None
            elif (
                isinstance(node, ast.Subscript)
                and isinstance(node.slice, ast.Slice)
                and _is_digest(node.value, digest_names)
            ):
                upper = _literal(node.slice.upper) if node.slice.upper else None
                shown = None if upper is None else upper * 4
                yield where, node.lineno, "shortened hex digest", shown
            elif isinstance(node, ast.Call):
                found = _drawn(node)
                if found:
                    yield where, node.lineno, *found


def _drawn(node: ast.Call):
    full = _name(node.func)
    name = full.rsplit(".", 1)[-1]
    args = [_literal(a) for a in node.args]
    if name == "get_random_string":
        length, chars = [*args, None, None][:2]
        length = length or RANDOM_STRING_DEFAULT[0]
        alphabet = len(set(chars)) if chars else RANDOM_STRING_DEFAULT[1]
        return name, bits(length, alphabet)
    if name in ("token_bytes", "token_hex", "token_urlsafe"):
        nbytes = args[0] if args else 32
        return name, None if nbytes is None else nbytes * 8
    if name == "uuid4":
        return name, 122
    if name in ("choice", "randbelow", "randbits", "getrandbits", "uuid1"):
        return name, None
    if full in ("signing.dumps", "dumps") or name in (
        "Signer",
        "TimestampSigner",
        "salted_hmac",
    ):
        default = "sha1" if name == "salted_hmac" else "sha256"
        algorithm = next(
            (_literal(k.value) for k in node.keywords if k.arg == "algorithm"),
            default,
        )
        return name, HASH_BITS.get(algorithm)
    return None


def test_the_reader_of_our_code_finds_the_places_that_draw_randomness():
    found = {(where, what) for where, _, what, _ in randomness_in_our_code()}

    assert ("coalition/tokens.py", "dumps") in found
    assert ("signers/ratelimits.py", "shortened hex digest") in found
    assert ("signers/demo.py", "import of random") in found
    assert ("coalition/outbox/dispatcher.py", "uuid4") in found


def test_everything_random_in_our_code_has_at_least_64_bits():
    weak = [
        (where, line, what, strength)
        for where, line, what, strength in randomness_in_our_code()
        if where not in NOT_SECRETS and (strength is None or strength < MIN_BITS)
    ]

    assert weak == []


def test_the_development_secret_key_is_long_and_random():
    makefile = (ROOT / "Makefile").read_text()

    nbytes = int(re.search(r"secrets\.token_urlsafe\((\d+)\)", makefile)[1])

    assert nbytes * 8 >= 256


# --- Message-IDs ------------------------------------------------------------------


WITHOUT_LINKS = {
    EmailKind.WITHDRAWN,
    EmailKind.REJECTED,
    EmailKind.SET_ASIDE,  # to an address never proven
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(SIGNATURE_EMAIL_KINDS))
def test_no_email_header_carries_a_secret_from_its_links(kind):
    signature = SignatureFactory()
    letter = signature.letter
    letter.current_revision = signature.revision
    letter.save()
    row = queue_signature_email(signature, kind)
    other_kind = EmailKind.RECEIPT if kind != EmailKind.RECEIPT else EmailKind.STATUS
    other = queue_signature_email(signature, other_kind)

    message = build_signature_email(row).to_message(message_id=row.message_id)
    rendered = message.message()
    # The HMAC of every token in the email's links.
    secrets = re.findall(r"/[\w.-]+:[\w-]+:([\w-]{20,})/", message.body)
    headers = " ".join(f"{k}: {v}" for k, v in rendered.items())

    assert bool(secrets) == (kind not in WITHOUT_LINKS), message.body
    assert rendered["Message-ID"]
    assert not [s for s in secrets if s in headers or s[:11] in headers]
    # The Message-ID is fixed for the row (a retry is the same message), and
    # is a keyed hash of its outbox key: nothing of a link, one per message.
    assert rendered["Message-ID"] == row.message_id
    assert row.message_id != other.message_id
