import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Organisers' passwords are not under test here; hashing them dominates setup.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
