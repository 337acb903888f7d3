"""What the organisers' buttons share: run a service, say how it went."""

from collections.abc import Callable

from django import forms
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


def add_form_error(form: forms.Form, exc: ValidationError) -> None:
    """A service's ValidationError on the form: on its field when it has one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)
