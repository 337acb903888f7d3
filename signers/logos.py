"""Organisations' logos: a stranger's upload made into an image the site may show.

A logo is decoded with Pillow and encoded again from its pixels alone, so what
is stored is a plain PNG or JPEG: no metadata (EXIF, with its GPS position and
camera serial, comments, colour profiles), nothing appended after the image
(an HTML page, a ZIP archive) and nothing that is not an image at all. Its type
is what the decoder found, never the file's name or the type the browser sent.
SVG is refused rather than cleaned: it is a document that can carry scripts.

The limits stop an upload from costing the server much: the bytes are checked
before anything is decoded, the width and height (from the header) before the
pixels are, and Pillow's decompression-bomb guard stays on underneath.
"""

import io
import warnings
from dataclasses import dataclass
from typing import IO, Final

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image, ImageOps, UnidentifiedImageError

# Decoded format -> (stored format, file extension, content type).
FORMATS: Final = {
    "PNG": ("PNG", "png", "image/png"),
    "JPEG": ("JPEG", "jpg", "image/jpeg"),
}
CONTENT_TYPES: Final = {extension: kind for _f, extension, kind in FORMATS.values()}


@dataclass(frozen=True)
class Logo:
    """A logo ready to store: re-encoded bytes and the extension they go by."""

    content: bytes
    extension: str
    width: int
    height: int

    @property
    def filename(self) -> str:
        return f"logo.{self.extension}"


def wrong_type_message() -> str:
    return _(
        "Please upload PNG or JPEG. Other formats, SVG included, are not "
        "accepted: save the logo as PNG first."
    )


def _refuse(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def logo_process(upload: IO[bytes], *, size: int | None) -> Logo:
    """The upload decoded and encoded again, at most ``SIGNERS_LOGO_WIDTH``
    pixels wide; ValidationError (codes ``too_large``, ``too_many_pixels``,
    ``wrong_type``) for anything else."""
    max_bytes = settings.SIGNERS_LOGO_MAX_BYTES
    if size is None or size > max_bytes:
        raise _refuse(
            _("The logo is larger than %(size)s.")
            % {"size": filesizeformat(max_bytes)},
            "too_large",
        )
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _refuse(
            _("The logo is larger than %(size)s.")
            % {"size": filesizeformat(max_bytes)},
            "too_large",
        )
    with warnings.catch_warnings():
        # Past Image.MAX_IMAGE_PIXELS Pillow only warns; make it refuse.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            # verify() reads the whole file (a PNG to its last chunk, every
            # checksum right): a cut file is refused even where WeasyPrint,
            # once imported, has told Pillow to load truncated images.
            Image.open(io.BytesIO(data), formats=list(FORMATS)).verify()
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
            _check_side(image)
            image.load()
        except ValidationError:
            raise
        except (
            UnidentifiedImageError,
            Image.DecompressionBombError,
            Image.DecompressionBombWarning,
            OSError,
            SyntaxError,
            ValueError,
        ) as exc:
            raise _refuse(wrong_type_message(), "wrong_type") from exc
        stored_format, extension, _type = FORMATS[str(image.format)]
        return _encode(image, stored_format, extension)


def _check_side(image: Image.Image) -> None:
    side = settings.SIGNERS_LOGO_MAX_SIDE
    if image.width > side or image.height > side:
        raise _refuse(
            ngettext(
                "The logo is larger than %(side)d by %(side)d pixel.",
                "The logo is larger than %(side)d by %(side)d pixels.",
                side,
            )
            % {"side": side},
            "too_many_pixels",
        )


def _encode(image: Image.Image, stored_format: str, extension: str) -> Logo:
    # Turned as the camera meant, then rebuilt from its pixels alone: the new
    # image carries no info, EXIF, profile or text chunk of the upload.
    image = ImageOps.exif_transpose(image) or image
    transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    mode = "RGBA" if transparent and stored_format == "PNG" else "RGB"
    pixels = image.convert(mode)
    clean = Image.frombytes(mode, pixels.size, pixels.tobytes())
    width = settings.SIGNERS_LOGO_WIDTH
    if clean.width > width:
        height = max(1, round(clean.height * width / clean.width))
        clean = clean.resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if stored_format == "PNG":
        clean.save(out, format="PNG", optimize=True)
    else:
        clean.save(out, format="JPEG", quality=88, optimize=True)
    return Logo(
        content=out.getvalue(),
        extension=extension,
        width=clean.width,
        height=clean.height,
    )
