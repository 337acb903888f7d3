"""The one email renderer: every email the site sends is built here.

An email is a triple of templates, ``emails/<app>/<name>.subject.txt``,
``.txt`` and ``.html``, rendered with the same context into one multipart
message. The builders in each app's ``emails.py`` call :func:`render_email`
and decide nothing about whether to send; the outbox's dispatcher
(``coalition.outbox``) sends.

Strangers write much of what an email says (a signer's name, a prospect's
notes, a call's agenda), so the two parts are kept apart. The subject and the
text part are plain text: rendered without escaping, and never marked safe.
The HTML part is autoescaped, and its context may carry no markup but
:class:`SanitisedHTML`, what the Markdown sanitiser produced: anything else
marked safe is refused, so no template, filter or builder can let a
stranger's text in as markup.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import Context, TemplateDoesNotExist
from django.template.loader import render_to_string, select_template
from django.utils import timezone, translation
from django.utils.safestring import SafeData, SafeString


class SanitisedHTML(SafeString):
    """HTML that came out of the site's sanitiser
    (``letters.markdown.render_markdown``): the one kind of markup an email's
    context may carry."""


class UnsafeEmailContext(TypeError):
    """A value other than sanitised HTML was marked safe for an email."""


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

    ``template`` is ``"<app>/<name>"``. ``fallback_prefix`` names a library's
    own ``<prefix>_subject.txt``/``<prefix>_message.txt`` pair to use when the
    site has no triple of its own (allauth's less common notices); their HTML
    part is the text, escaped, with the context's own ``*_url`` links. Every
    other email needs its ``.html``. ``time_zone`` (a letter's) is active while
    rendering, so dates show in that zone.

    Raises :class:`UnsafeEmailContext` when a context value is marked safe but
    is not :class:`SanitisedHTML`.
    """
    _refuse_markup(context)
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
        # One line: a line break in a stranger's text cannot start a header.
        subject = " ".join(_render_plain_text(subject_names, ctx).split())
        text = _render_plain_text(text_names, ctx)
        try:
            html = render_to_string(f"{base}.html", ctx)
        except TemplateDoesNotExist:
            if not fallback_prefix:
                raise
            html = render_to_string(
                "emails/_text_as_html.html",
                {
                    **ctx,
                    "subject": subject,
                    "paragraphs": text_paragraphs(text, links=_links(ctx)),
                },
            )
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=list(to),
        reply_to=list(reply_to) if reply_to else None,
        headers=dict(headers or {}),
    )
    message.attach_alternative(html, "text/html")
    return message


def _refuse_markup(context: Mapping[str, Any]) -> None:
    for key, value in context.items():
        if isinstance(value, SafeData) and not isinstance(value, SanitisedHTML):
            raise UnsafeEmailContext(
                f"email context {key!r} is marked safe: only sanitised HTML may be"
            )


def _render_plain_text(names: Sequence[str], ctx: Mapping[str, Any]) -> str:
    """A subject or text part is not HTML: an organisation called "Parents &
    Teachers" must not arrive as "Parents &amp; Teachers"."""
    template = select_template(names).template
    rendered = template.render(Context(dict(ctx), autoescape=False))
    # Template.render marks its output safe. Text is not HTML: str's own
    # __str__ (SafeString's keeps the mark) gives a plain copy, which the
    # generic HTML part then escapes.
    return str.__str__(rendered)


def _links(ctx: Mapping[str, Any]) -> list[str]:
    """The links the code put in the context (``activate_url``...), never
    URLs that happen to be in someone's text."""
    return [
        value
        for key, value in ctx.items()
        if key.endswith("_url")
        and key != "site_url"
        and isinstance(value, str)
        and value.startswith(("https://", "http://"))
    ]


def text_paragraphs(text: str, *, links: Iterable[str]) -> list[list[tuple[str, bool]]]:
    """Plain text as paragraphs of ``(piece, is_link)`` for an HTML template to
    escape: only the exact ``links`` given become links."""
    wanted = sorted({link for link in links if link}, key=len, reverse=True)
    pattern = re.compile("|".join(map(re.escape, wanted))) if wanted else None
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        pieces: list[tuple[str, bool]] = []
        position = 0
        for match in pattern.finditer(block) if pattern else ():
            pieces.append((block[position : match.start()], False))
            pieces.append((match.group(), True))
            position = match.end()
        pieces.append((block[position:], False))
        paragraphs.append([piece for piece in pieces if piece[0]])
    return paragraphs
