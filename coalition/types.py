from django.http import HttpRequest

from coalition.models import User


class AuthedHttpRequest(HttpRequest):
    """A request behind ``login_required``: ``user`` is a real ``User``."""

    user: User
