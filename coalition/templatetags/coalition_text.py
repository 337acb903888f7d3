from django import template

from coalition.text import before_full_stop as _before_full_stop

register = template.Library()


@register.filter
def before_full_stop(value: object) -> str:
    """For a name that ends a sentence: ``{{ name|before_full_stop }}.``"""
    return _before_full_stop(value)
