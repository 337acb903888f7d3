from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from coalition.models import User


class AuthedHttpRequest(HttpRequest):
    """A request behind ``login_required``: ``user`` is a real ``User``."""

    user: User
    htmx: HtmxDetails  # set by django_htmx's middleware
