"""Work circle images: what is accepted, what is refused, and that nothing of the uploaded file survives
but its pixels (EXIF, GPS position, text chunks, appended bytes), upright and scaled."""
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from app.circle import images
from app.circle.images import prepare_image
from app.validation import ValidationError

DATA = Path(__file__).resolve().parents[1] / "data"


def jpeg_with_exif(size=(60, 40), orientation=6) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, size[0] // 2, size[1]))     # left half blue, so turning is visible
    exif = Image.Exif()
    exif[0x0112] = orientation                                       # Orientation: turn 90° clockwise to view
    exif[0x010F] = "SecretCam Maker"                                 # Make
    exif[0x0131] = "Firmware 1.2.3"                                  # Software
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (31.0, 14.0, 2.5), "E", (121.0, 28.0, 45.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"secret comment")
    return out.getvalue()


def png_bytes(mode="RGB", size=(50, 30), **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 120, 200, 128) if mode == "RGBA" else (10, 120, 200)).save(out, "PNG", **save)
    return out.getvalue()


def crafted_png(width: int, height: int) -> bytes:
    """A PNG header announcing a huge image, with almost no data: decoding it would take gigabytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


def refused(data: bytes) -> str:
    with pytest.raises(ValidationError) as info:
        prepare_image(data)
    assert info.value.field == "images"
    return str(info.value.message)


def test_exif_and_gps_are_gone_and_the_picture_is_upright():
    original = jpeg_with_exif()
    assert b"SecretCam" in original and Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    prepared = prepare_image(original)
    assert prepared.content_type == "image/jpeg" and (prepared.width, prepared.height) == (40, 60)
    for data in (prepared.data, prepared.thumb):
        assert b"Exif" not in data and b"SecretCam" not in data and b"Firmware" not in data
        assert b"secret comment" not in data
        with Image.open(io.BytesIO(data)) as result:
            assert result.format == "JPEG" and dict(result.getexif()) == {}
            assert "exif" not in result.info and "comment" not in result.info
            # Turned clockwise: the blue left half is now on top.
            top, bottom = result.convert("RGB").getpixel((20, 5)), result.convert("RGB").getpixel((20, 55))
            assert top[2] > 150 > top[0] and bottom[0] > 150 > bottom[2]


def test_png_text_chunks_and_appended_bytes_are_gone():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret text chunk")
    info.add_itxt("Author", "秘密的作者")
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = png_bytes(pnginfo=info, icc_profile=profile) + b"<script>alert(1)</script>"
    prepared = prepare_image(data)
    assert prepared.content_type == "image/png"
    assert b"secret text chunk" not in prepared.data and "秘密".encode() not in prepared.data
    assert b"<script>" not in prepared.data and b"iCCP" not in prepared.data
    with Image.open(io.BytesIO(prepared.data)) as result:
        assert result.info.get("Comment") is None and "icc_profile" not in result.info


def test_transparency_is_kept_as_png_and_webp_photos_become_jpeg():
    prepared = prepare_image(png_bytes("RGBA"))
    with Image.open(io.BytesIO(prepared.data)) as result:
        assert result.mode == "RGBA" and result.getpixel((1, 1))[3] == 128
    out = io.BytesIO()
    Image.new("RGB", (30, 30), (1, 2, 3)).save(out, "WEBP")
    assert prepare_image(out.getvalue()).content_type == "image/jpeg"
    out = io.BytesIO()
    Image.new("RGBA", (30, 30), (1, 2, 3, 0)).save(out, "WEBP", lossless=True)
    assert prepare_image(out.getvalue()).content_type == "image/png"
    out = io.BytesIO()
    Image.new("CMYK", (30, 30), (0, 255, 255, 0)).save(out, "JPEG")
    cmyk = prepare_image(out.getvalue())
    with Image.open(io.BytesIO(cmyk.data)) as result:
        assert result.mode == "RGB" and result.getpixel((5, 5))[0] > 150


def test_large_pictures_are_scaled_and_get_a_thumbnail():
    out = io.BytesIO()
    Image.new("RGB", (4000, 1000), (90, 90, 90)).save(out, "JPEG")
    prepared = prepare_image(out.getvalue())
    assert (prepared.width, prepared.height) == (images.DISPLAY_SIDE, 640)
    with Image.open(io.BytesIO(prepared.thumb)) as thumb:
        assert thumb.size == (images.THUMB_SIDE, 120)


@pytest.mark.parametrize("data, message", [
    (b"", "The file is empty."),
    (b"%PDF-1.7\n...", "Only JPEG, PNG and WebP images can be posted."),
    (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "Only JPEG, PNG and WebP images can be posted."),
    (b"<html><script>alert(1)</script></html>", "Only JPEG, PNG and WebP images can be posted."),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40, "This file is not a readable image."),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "This file is not a readable image."),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 20, "This file is not a readable image."),
])
def test_what_is_not_an_acceptable_image_is_refused(data, message):
    assert refused(data) == message


def test_truncated_and_oversized_images_are_refused():
    whole = jpeg_with_exif(size=(400, 300))
    assert refused(whole[: len(whole) // 2]) == "This file is not a readable image."
    assert refused(b"\xff\xd8\xff" + b"\x00" * images.MAX_IMAGE_BYTES) == "Images can be at most 10 MB each."


@pytest.mark.parametrize("width, height", [(20000, 20000), (images.MAX_SIDE + 1, 10), (8000, 7000)])
def test_huge_images_are_refused_before_they_are_decoded(width, height):
    assert refused(crafted_png(width, height)) == "Images can be at most 50 megapixels."


@pytest.mark.parametrize("path", sorted((DATA / "hostile_svg").glob("*.svg")), ids=lambda p: p.name)
def test_svg_files_are_never_images_here(path):
    assert refused(path.read_bytes()) == "Only JPEG, PNG and WebP images can be posted."
