"""Work circle images: judged by their bytes, decoded by Pillow within limits, re-encoded without metadata.

Nothing of an uploaded file is kept as sent: the pixels are decoded, turned
upright by the EXIF orientation, converted to sRGB, scaled to at most
DISPLAY_SIDE (and THUMB_SIDE for the thumbnail) and written into a fresh image,
so EXIF (camera, GPS position, time), comments and any bytes appended to the
file are gone.
"""
from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageCms, ImageOps

from app.validation import ValidationError

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGES = 9
MAX_SIDE = 12000
MAX_PIXELS = 50_000_000
DISPLAY_SIDE = 2560
THUMB_SIDE = 480
_MAGIC = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"))
# What a hostile or broken file makes Pillow's decoders raise; each becomes "not a readable image".
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, TypeError, KeyError, IndexError, EOFError, ZeroDivisionError,
                  struct.error, ImageCms.PyCMSError)


@dataclass(frozen=True)
class PreparedImage:
    """An image ready to store: the picture and its thumbnail, re-encoded, with the picture's size."""

    data: bytes
    thumb: bytes
    content_type: str
    width: int
    height: int


def _format(data: bytes) -> str | None:
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _too_large():
    return ValidationError("images", _l("Images can be at most %(n)d megapixels.", n=MAX_PIXELS // 1_000_000))


def _to_srgb(image: Image.Image) -> Image.Image:
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image   # a broken profile: the pixels as they are


def _encode(image: Image.Image, image_format: str) -> bytes:
    # A fresh image holds the pixels only: no EXIF, no text chunks, no profile, nothing the file carried.
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    if image_format == "PNG":
        clean.save(out, "PNG")
    else:
        clean.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def prepare_image(data: bytes) -> PreparedImage:
    """A JPEG, PNG or WebP within the limits, upright, without metadata, scaled; ValidationError otherwise."""
    if not data:
        raise ValidationError("images", _l("The file is empty."))
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationError("images", _l("Images can be at most %(n)d MB each.", n=MAX_IMAGE_BYTES // (1024 * 1024)))
    image_format = _format(data)
    if image_format is None:
        raise ValidationError("images", _l("Only JPEG, PNG and WebP images can be posted."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = _decode(data, image_format)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large() from None
    except _DECODE_ERRORS:
        raise ValidationError("images", _l("This file is not a readable image.")) from None
    keep_lossless = image_format == "PNG" or picture.mode == "RGBA"
    out_format = "PNG" if keep_lossless else "JPEG"
    picture.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE), Image.Resampling.LANCZOS)
    thumb = picture.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return PreparedImage(_encode(picture, out_format), _encode(thumb, out_format),
                         "image/png" if out_format == "PNG" else "image/jpeg", picture.width, picture.height)


def _decode(data: bytes, image_format: str) -> Image.Image:
    # Only the decoder the magic bytes named may parse the data; the size comes from the header, before decoding.
    with Image.open(io.BytesIO(data), formats=[image_format]) as probe:
        width, height = probe.size
        if width < 1 or height < 1 or width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
            raise _too_large()
        probe.verify()
    image = Image.open(io.BytesIO(data), formats=[image_format])
    if image_format == "JPEG":
        image.draft("RGB", (DISPLAY_SIDE, DISPLAY_SIDE))   # decode at a reduced scale when that is enough
    image.load()
    image = ImageOps.exif_transpose(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    image = _to_srgb(image.convert("RGBA") if has_alpha else image)
    return image.convert("RGBA" if has_alpha else "RGB")
