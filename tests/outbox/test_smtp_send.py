"""The dispatcher's send of one message: the envelope and the bytes are what
Django's SMTP backend sends, with plain addresses not parsed again."""

import pytest
from aiosmtpd.controller import Controller
from django.core.mail import get_connection
from django.core.mail.message import sanitize_address
from hypothesis import given
from hypothesis import strategies as st

from coalition.outbox.mime import OutgoingEmail
from coalition.outbox.smtp import PLAIN_ADDRESS, envelope_address, send_one
from tests.conftest import free_port

ODD_ADDRESSES = [
    "Ada Lovelace <ada@example.org>",
    '"Smith, Jo" <jo@example.org>',
    "Zoë Müller <zoe@example.org>",
    "zoë@example.org",
    "info@bücher.example",
    "ADA@Example.ORG",
    "first.last+tag@sub.example.co.uk",
    '"quoted local"@example.org',
    ("Comité <b>", "comite@example.org"),
]


@given(st.from_regex(PLAIN_ADDRESS, fullmatch=True))
def test_a_plain_address_is_what_parsing_it_gives(address):
    assert envelope_address(address, "utf-8") == sanitize_address(address, "utf-8")


@pytest.mark.parametrize("address", ODD_ADDRESSES)
def test_other_addresses_are_parsed_as_the_backend_parses_them(address):
    assert envelope_address(address, "utf-8") == sanitize_address(address, "utf-8")
    assert envelope_address(address, "utf-8") == sanitize_address(address, "utf-8")


@pytest.mark.parametrize(
    "address", ["a@example.org\nBcc: x@example.org", "two@at@example.org", ""]
)
def test_a_bad_address_is_refused_as_the_backend_refuses_it(address):
    with pytest.raises(ValueError):
        sanitize_address(address, "utf-8")
    with pytest.raises(ValueError):
        envelope_address(address, "utf-8")


class Envelopes:
    def __init__(self):
        self.seen = []

    async def handle_DATA(self, server, session, envelope):
        self.seen.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


def test_the_envelope_and_bytes_match_the_backends_own_send(settings):
    handler = Envelopes()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = False
    try:
        backend = get_connection(fail_silently=False)
        backend.open()
        for to in ["plain@example.org", "Zoë <zoë@bücher.example>"]:
            message = OutgoingEmail(
                subject="Hello",
                body="Text",
                from_email="Organiser Name <site@example.org>",
                to=[to],
                headers={"Message-ID": "<1@example.org>", "Date": "today"},
            )
            message.attach_alternative("<p>Text</p>", "text/html")
            send_one(backend, message)
            backend.send_messages([message])
        backend.close()
    finally:
        controller.stop()

    assert len(handler.seen) == 4
    ours, theirs = handler.seen[0::2], handler.seen[1::2]
    for our, their in zip(ours, theirs, strict=True):
        assert our[:2] == their[:2]
        # The same message but its MIME boundary, which is random.
        assert our[2].count(b"\r\n") == their[2].count(b"\r\n")
    assert ours[0][:2] == ("site@example.org", ["plain@example.org"])
    assert ours[1][1][0].endswith("@xn--bcher-kva.example")  # parsed


@pytest.mark.django_db
def test_another_backend_sends_its_own_way(settings, mailoutbox):
    backend = get_connection()
    message = OutgoingEmail(subject="Hi", body="x", to=["a@example.org"])
    send_one(backend, message)
    assert [m.subject for m in mailoutbox] == ["Hi"]
