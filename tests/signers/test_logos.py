"""Organisations' logos: what is accepted, how it is stored, where it is shown."""

import io
import os
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageFile

from coalition.tokens import make_token
from letters.models import AuditEvent, Membership
from letters.services.letters import letter_update_settings
from letters.services.lifecycle import letter_close
from signers import exports
from signers.logos import logo_process
from signers.models import ReissueOptIn, Signature
from signers.selectors.consent import consent_violations
from signers.services.logos import signature_logo_set
from signers.services.personal_data import signature_erase_personal_data
from signers.services.reissue import letter_reissue, reissue_opt_in_accept
from tests.factories import SignatureFactory, UserFactory, circulating_letter
from tests.letters.public_fixtures import (
    PAGE_QUERIES,
    published_letter,
    sign,
    sign_many,
)
from tests.signers.helpers import sign_form

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def image_bytes(fmt="PNG", size=(40, 20), exif=False, mode="RGB"):
    image = Image.new(mode, size, "#3366cc")
    out = io.BytesIO()
    options = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        data[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS
        options["exif"] = data.tobytes()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def upload(data, name="logo.png", content_type="image/png"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def process(data):
    return logo_process(io.BytesIO(data), size=len(data))


def refused_code(data):
    with pytest.raises(ValidationError) as caught:
        process(data)
    return caught.value.code


# --- What is accepted ---------------------------------------------------------------


@pytest.mark.parametrize("fmt,extension", [("PNG", "png"), ("JPEG", "jpg")])
def test_png_and_jpeg_are_reencoded_without_their_metadata(fmt, extension):
    original = image_bytes(fmt, exif=True)
    assert b"SecretCam" in original

    logo = process(original)

    assert logo.extension == extension
    assert b"SecretCam" not in logo.content
    decoded = Image.open(io.BytesIO(logo.content))
    decoded.load()
    assert decoded.format == fmt
    assert decoded.size == (40, 20)
    assert not decoded.getexif()


def test_a_wide_logo_is_scaled_down_to_the_width_kept(settings):
    logo = process(image_bytes(size=(1200, 300)))
    assert (logo.width, logo.height) == (settings.SIGNERS_LOGO_WIDTH, 150)


def test_a_transparent_png_keeps_its_transparency():
    logo = process(image_bytes(mode="RGBA"))
    assert Image.open(io.BytesIO(logo.content)).mode == "RGBA"


def test_what_follows_the_image_in_the_file_is_not_kept():
    polyglot = image_bytes() + b"<html><script>alert(1)</script></html>"
    assert b"<script>" not in process(polyglot).content


@pytest.mark.parametrize(
    "data",
    [
        b"<html><body><script>alert(1)</script></body></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"GIF89a" + image_bytes("GIF")[6:],
        image_bytes("PNG")[:60],  # cut short
        image_bytes("PNG")[:-12],  # its last chunk missing
    ],
    ids=["html-named-png", "svg", "gif", "truncated", "no-end"],
)
def test_anything_but_a_whole_png_or_jpeg_is_refused(data, monkeypatch):
    # As in a process that has rendered a PDF (WeasyPrint sets this).
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    assert refused_code(data) == "wrong_type"


def test_the_message_for_svg_says_what_to_upload_instead():
    data = b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'
    with pytest.raises(ValidationError) as caught:
        process(data)
    assert "Please upload PNG or JPEG" in caught.value.messages[0]


def test_too_many_bytes_are_refused_before_decoding(settings):
    settings.SIGNERS_LOGO_MAX_BYTES = 1000
    data = image_bytes(size=(400, 400), mode="RGBA")
    noisy = Image.frombytes("RGB", (200, 200), os.urandom(200 * 200 * 3))
    out = io.BytesIO()
    noisy.save(out, format="PNG")
    assert refused_code(out.getvalue()) == "too_large"
    with pytest.raises(ValidationError):
        logo_process(io.BytesIO(data), size=1001)


def test_too_many_pixels_are_refused_from_the_header(settings):
    # 5,000 by 10 pixels: small in bytes, over the side allowed.
    assert refused_code(image_bytes(size=(5000, 10))) == "too_many_pixels"


def test_a_decompression_bomb_is_refused(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    assert refused_code(image_bytes(size=(40, 20))) == "wrong_type"


# --- Stored, shown, served ------------------------------------------------------------


def logo_for(signature, data=None):
    signature_logo_set(
        signature_id=signature.pk, logo=process(data or image_bytes()), actor=None
    )
    signature.refresh_from_db()
    return signature


def public_html(client, letter):
    response = client.get(reverse("signers:public", kwargs={"slug": letter.slug}))
    assert response.status_code == 200
    return response.content.decode()


def logo_sources(html):
    return re.findall(r'<img class="signer__logo" src="([^"]+)"', html)


def test_a_logo_is_stored_under_an_unguessable_name():
    letter = published_letter()
    signature = logo_for(sign(letter, "Alpha", consent_logo=True))
    name = signature.logo.name
    assert re.fullmatch(r"signers/logos/[A-Za-z0-9_-]{32}\.png", name)
    assert default_storage.exists(name)
    Image.open(default_storage.open(name)).verify()


def test_the_logo_is_shown_only_with_consent_and_served_as_an_image(client):
    letter = published_letter()
    shown = logo_for(sign(letter, "Alpha", consent_logo=True))
    kept = logo_for(sign(letter, "Bravo", consent_logo=False))
    unlisted = logo_for(
        sign(letter, "Charlie", consent_logo=True, consent_listed=False)
    )

    sources = logo_sources(public_html(client, letter))

    assert len(sources) == 1
    assert sources[0].endswith(shown.logo.name.rsplit("/", 1)[-1])
    response = client.get(sources[0])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    Image.open(io.BytesIO(b"".join(response.streaming_content))).verify()
    for hidden in (kept, unlisted):
        url = reverse("signers:logo", args=[hidden.logo.name.rsplit("/", 1)[-1]])
        assert client.get(url).status_code == 404
    for name in ("..%2F..%2Fsettings.png", "x.png", "a" * 32 + ".svg"):
        prefix = reverse("signers:logo", args=["x"])[:-1]
        assert client.get(prefix + name).status_code == 404


def test_withdrawing_consent_takes_the_logo_off_the_cached_page(client):
    letter = published_letter()
    signature = logo_for(sign(letter, "Alpha", consent_logo=True))
    assert logo_sources(public_html(client, letter))

    edit = reverse("signers:edit", args=[make_token("edit", signature.pk)])
    response = client.post(
        edit, {"display_name": "Alpha", "consent_listed": "on", "country": "UK"}
    )

    assert response.status_code == 302
    assert logo_sources(public_html(client, letter)) == []


def test_the_public_page_costs_the_same_queries_with_logos(
    client, django_assert_num_queries
):
    letter = published_letter()
    sign_many(letter, 20)
    for name in ("Alpha", "Bravo"):
        logo_for(sign(letter, name, consent_logo=True))

    with django_assert_num_queries(PAGE_QUERIES):
        html = public_html(client, letter)
    assert len(logo_sources(html)) == 2


def test_erasure_deletes_the_logo_file(django_capture_on_commit_callbacks):
    letter = published_letter()
    signature = logo_for(sign(letter, "Alpha", consent_logo=True))
    name = signature.logo.name

    with django_capture_on_commit_callbacks(execute=True):
        signature_erase_personal_data(signature=signature, actor=UserFactory())

    signature.refresh_from_db()
    assert not signature.logo
    assert not default_storage.exists(name)


# --- The pages that take one ----------------------------------------------------------


def test_the_join_form_takes_a_logo(client, open_letter):
    url = reverse("signers:join", args=[open_letter.slug])
    data = sign_form(open_letter, consent_logo="on")
    data["logo"] = upload(image_bytes("JPEG", exif=True), "me.jpeg", "image/jpeg")

    response = client.post(url, data)

    assert response.status_code == 302
    signature = Signature.objects.get()
    assert signature.logo.name.endswith(".jpg")
    assert b"SecretCam" not in default_storage.open(signature.logo.name).read()


def test_the_join_form_refuses_html_named_png_and_saves_nothing(client, open_letter):
    url = reverse("signers:join", args=[open_letter.slug])
    data = sign_form(open_letter, consent_logo="on")
    data["logo"] = upload(b"<html><script>alert(1)</script></html>")

    response = client.post(url, data)

    assert response.status_code == 200
    assert "Please upload PNG or JPEG" in response.content.decode()
    assert not Signature.objects.exists()


def test_the_signer_replaces_and_removes_their_logo(client):
    letter = published_letter()
    signature = logo_for(sign(letter, "Alpha", consent_logo=True))
    first = signature.logo.name
    edit = reverse("signers:edit", args=[make_token("edit", signature.pk)])
    details = {"display_name": "Alpha", "consent_listed": "on", "consent_logo": "on"}

    client.post(edit, {**details, "logo": upload(image_bytes(size=(30, 30)))})
    signature.refresh_from_db()
    assert signature.logo.name not in ("", first)

    client.post(edit, {**details, "remove_logo": "on"})
    signature.refresh_from_db()
    assert not signature.logo
    assert AuditEvent.objects.filter(action="signature.logo_changed").count() == 3


def test_organisers_give_a_logo_and_viewers_cannot(client):
    letter = published_letter()
    owner, viewer = UserFactory(), UserFactory()
    Membership.objects.create(letter=letter, user=owner, role=Membership.Role.OWNER)
    Membership.objects.create(letter=letter, user=viewer, role=Membership.Role.VIEWER)
    signature = SignatureFactory(letter=letter, display_name="Alpha")
    url = reverse("signers:signature-logo", args=[letter.slug, signature.pk])

    client.force_login(viewer)
    assert client.post(url, {"logo": upload(image_bytes())}).status_code in (403, 404)
    client.force_login(owner)
    response = client.post(url, {"logo": upload(image_bytes())})

    assert response.status_code == 302
    signature.refresh_from_db()
    assert signature.logo
    preview = reverse("signers:signature-logo-file", args=[letter.slug, signature.pk])
    assert client.get(preview)["Content-Type"] == "image/png"
    client.force_login(viewer)
    assert client.get(preview).status_code == 200


# --- The PDF ------------------------------------------------------------------------


def pdf_images(letter):
    from pypdf import PdfReader

    stored = exports.letter_pdf_render(letter_id=letter.pk)
    reader = PdfReader(io.BytesIO(stored.file.read()))
    return sum(len(page.images) for page in reader.pages)


def test_logos_are_in_the_pdf_only_when_the_letter_says_so_and_with_consent():
    letter = published_letter()
    logo_for(sign(letter, "Alpha", consent_logo=True))
    logo_for(sign(letter, "Bravo", consent_logo=False))
    assert pdf_images(letter) == 0

    letter_update_settings(letter=letter, actor=UserFactory(), pdf_logos=True)
    letter.refresh_from_db()

    assert pdf_images(letter) == 1
    assert consent_violations(letter=letter) == []


def test_turning_pdf_logos_on_or_off_makes_a_new_pdf():
    letter = published_letter()
    before = letter.signers_version

    letter_update_settings(letter=letter, actor=UserFactory(), pdf_logos=True)

    letter.refresh_from_db()
    assert letter.signers_version == before + 1


def test_the_pdf_reads_only_the_logos_it_was_given(settings):
    from letters import pdf

    letter = published_letter()
    shown = logo_for(sign(letter, "Alpha", consent_logo=True)).logo.name
    other = logo_for(sign(letter, "Bravo", consent_logo=True)).logo.name
    prefix = settings.SITE_URL.rstrip("/") + settings.MEDIA_URL
    fetcher = pdf.StaticOnlyFetcher(frozenset({shown}))

    assert fetcher.fetch(prefix + shown).read() == default_storage.open(shown).read()
    for name in (other, "signers/logos/../../coalition/settings.py"):
        with pytest.raises(pdf.FetchRefused):
            fetcher.fetch(prefix + name)
    with pytest.raises(pdf.FetchRefused):
        pdf.StaticOnlyFetcher().fetch(prefix + shown)


def test_a_reissued_letter_gives_the_opted_in_signer_their_own_copy():
    owner = UserFactory()
    letter = circulating_letter(owner=owner)
    earlier = logo_for(SignatureFactory(letter=letter, consent_logo=True))
    letter_close(letter=letter, actor=owner)
    new = letter_reissue(letter=letter, actor=owner, title="Again", addressee="To")

    signature = reissue_opt_in_accept(opt_in_id=ReissueOptIn.objects.get().pk)

    assert signature.letter == new
    assert signature.consent_logo
    assert signature.logo.name not in ("", earlier.logo.name)
    assert (
        default_storage.open(signature.logo.name).read()
        == default_storage.open(earlier.logo.name).read()
    )
