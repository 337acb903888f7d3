"""Every text a person types into the site's forms loses its control characters.

The walk below finds every form class of the project's apps, so a new form
whose text field is a plain ``CharField`` fails here.
"""

import importlib
import pkgutil

import pytest
from django import forms

from coalition.forms import TextField, text_multi_line, text_one_line

APPS = ("coalition", "letters", "signers")
# Fields whose own format takes control characters out or refuses them.
FORMATTED = (forms.EmailField, forms.URLField, forms.SlugField)
# What ends up as nothing, and what separates words or lines.
DROPPED = "\x00\x07\x1b\x7f\x9b\u202e\u2066"
LINE_BREAKS = "\r\n\u2028\x85\x0b"


def project_form_classes():
    for app in APPS:
        package = importlib.import_module(app)
        for module in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".migrations." not in module.name:
                importlib.import_module(module.name)
    found, todo = set(), [forms.BaseForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.split(".")[0] in APPS:
                found.add(sub)
    return sorted(found, key=lambda c: f"{c.__module__}.{c.__qualname__}")


def text_fields():
    return [
        pytest.param(form, name, field, id=f"{form.__name__}.{name}")
        for form in project_form_classes()
        for name, field in form.base_fields.items()
        if isinstance(field, forms.CharField) and not isinstance(field, FORMATTED)
    ]


def a_valid_value(field):
    for sample in ("Friends of the Park", "3, 1", "Europe/Paris", "7"):
        try:
            return sample, field.clean(sample)
        except forms.ValidationError:
            continue
    pytest.fail(f"no sample value is valid for {field!r}")


def test_the_walk_finds_the_forms_people_type_into():
    names = {c.__name__ for c in project_form_classes()}

    assert {"SignatureForm", "ProspectForm", "CallForm", "LetterDraftForm"} <= names


@pytest.mark.parametrize(("form", "name", "field"), text_fields())
def test_every_text_field_of_every_form_takes_out_control_characters(form, name, field):
    assert isinstance(field, TextField), f"{form.__name__}.{name} is a plain CharField"
    if field.multiline:
        typed = f"First line{LINE_BREAKS[:2]}second\tline{DROPPED}"
        assert field.clean(typed) == "First line\nsecond\tline"
    else:
        sample, cleaned = a_valid_value(field)
        typed = DROPPED + sample[0] + DROPPED + sample[1:].replace(" ", LINE_BREAKS)
        assert field.clean(typed) == cleaned


@pytest.mark.parametrize(
    "field",
    [forms.EmailField(), forms.URLField(assume_scheme="https"), forms.SlugField()],
    ids=lambda f: type(f).__name__,
)
def test_fields_with_a_format_refuse_control_characters(field):
    with pytest.raises(forms.ValidationError):
        field.clean(f"friends{DROPPED}park@example.org\r\nBcc: x@example.org")


def test_a_name_with_line_breaks_becomes_one_line():
    assert text_one_line("Friends of\r\nthe Park\u2028Trust") == (
        "Friends of the Park Trust"
    )


def test_a_bidirectional_override_cannot_reverse_a_name():
    assert text_one_line("Spring\u202edleif") == "Springdleif"


def test_a_comment_keeps_its_lines_and_tabs_and_loses_the_rest():
    typed = "Dear organisers,\r\n\r\n\tWe sign.\x07\u202e\rThanks\u2029Bye"

    assert text_multi_line(typed) == "Dear organisers,\n\n\tWe sign.\nThanks\nBye"


def test_letters_and_marks_that_are_not_controls_stay():
    name = "Zoë\u2019s Café \u2013 Ünïon (Berlin) 東京 \u200dמעבר"

    assert text_one_line(name) == name


def test_a_value_of_only_control_characters_is_empty_and_so_required():
    field = TextField(max_length=20)

    with pytest.raises(forms.ValidationError, match="required"):
        field.clean("\x00\u202e\r\n")


def test_length_is_checked_after_control_characters_are_taken_out():
    field = TextField(max_length=5)

    assert field.clean("ab\x00\x00\x00\x00cde") == "abcde"
