"""The one email renderer: every email the site sends is built here.

An email is a triple of templates, ``emails/<app>/<name>.subject.txt``,
``.txt`` and ``.html``, rendered with the same context into one multipart
message. ``send_<what>`` functions in each app's ``emails.py`` call
:func:`render_email` and decide nothing about whether to send.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template import Context, TemplateDoesNotExist
from django.template.loader import render_to_string, select_template
from django.utils import timezone, translation


def render_email(
    template: str,
    context: Mapping[str, Any],
    *,
    to: Sequence[str],
    from_email: str | None = None,
    reply_to: Sequence[str] | None = None,
    headers: Mapping[str, str] | None = None,
    language: str | None = None,
    time_zone: str | None = None,
    fallback_prefix: str | None = None,
) -> EmailMultiAlternatives:
    """Render ``emails/<template>.{subject.txt,txt,html}`` into one message.

    ``template`` is ``"<app>/<name>"``. Without an ``.html`` template the text is
    wrapped in the shared HTML layout. ``fallback_prefix`` names a library's own
    ``<prefix>_subject.txt``/``<prefix>_message.txt`` pair to use when the site
    has no triple of its own (allauth's less common notices). ``time_zone``
    (a letter's) is active while rendering, so dates show in that zone.
    """
    ctx = {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        **context,
    }
    base = f"emails/{template}"
    subject_names = [f"{base}.subject.txt"]
    text_names = [f"{base}.txt"]
    if fallback_prefix:
        subject_names.append(f"{fallback_prefix}_subject.txt")
        text_names.append(f"{fallback_prefix}_message.txt")
    with (
        translation.override(language or settings.LANGUAGE_CODE),
        timezone.override(time_zone or settings.TIME_ZONE),
    ):
        subject = _render_plain_text(subject_names, ctx)
        text = _render_plain_text(text_names, ctx)
        try:
            html = render_to_string(f"{base}.html", ctx)
        except TemplateDoesNotExist:
            html = render_to_string(
                "emails/_text_as_html.html", {**ctx, "subject": subject, "text": text}
            )
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=text,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=list(to),
        reply_to=list(reply_to) if reply_to else None,
        headers=dict(headers or {}),
    )
    message.attach_alternative(html, "text/html")
    return message


def _render_plain_text(names: Sequence[str], ctx: Mapping[str, Any]) -> str:
    """A subject or text part is not HTML: an organisation called "Parents &
    Teachers" must not arrive as "Parents &amp; Teachers"."""
    template = select_template(names).template
    return str(template.render(Context(dict(ctx), autoescape=False)))


def message_to_dict(message: EmailMultiAlternatives) -> dict[str, Any]:
    """A JSON-serialisable form of a rendered message, for a retry task."""
    html = next(
        (str(content) for content, mime in message.alternatives if mime == "text/html"),
        None,
    )
    return {
        "subject": message.subject,
        "body": message.body,
        "html": html,
        "from_email": message.from_email,
        "to": list(message.to),
        "reply_to": list(message.reply_to),
        "headers": dict(message.extra_headers),
    }


def message_from_dict(data: Mapping[str, Any]) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=data["subject"],
        body=data["body"],
        from_email=data["from_email"],
        to=data["to"],
        reply_to=data.get("reply_to") or None,
        headers=data.get("headers") or {},
    )
    if data.get("html"):
        message.attach_alternative(data["html"], "text/html")
    return message


def send_message(message: EmailMultiAlternatives) -> None:
    """Send now through the configured backend; raises on SMTP failure."""
    message.connection = get_connection(fail_silently=False)
    message.send(fail_silently=False)
