"""What the organisers' buttons share: run a service, say how it went."""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest


def act(request: HttpRequest, call: Callable[[], object], done: str) -> bool:
    """Run a service for a button: a message either way; True if it worked."""
    try:
        call()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return False
    messages.success(request, done)
    return True
