"""Icon checks by content: PNG through Pillow with pixel limits, SVG through an allow-list sanitiser."""
from __future__ import annotations

import io
import re
import warnings
import xml.etree.ElementTree as ET

from flask_babel import lazy_gettext as _l
from PIL import Image

MAX_ICON_BYTES = 1024 * 1024
MAX_PIXELS = 4096 * 4096
MAX_SIDE = 4096
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"

ALLOWED_ELEMENTS = {
    "svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "tspan",
    "defs", "lineargradient", "radialgradient", "stop", "title", "desc", "clippath", "mask", "use", "symbol",
}
# Editors' bookkeeping that is safe to drop rather than refuse.
DROPPED_ELEMENTS = {"metadata", "namedview"}
ALLOWED_ATTRIBUTES = {
    "id", "class", "viewbox", "width", "height", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry",
    "d", "points", "fill", "fill-opacity", "fill-rule", "clip-rule", "stroke", "stroke-width", "stroke-linecap",
    "stroke-linejoin", "stroke-opacity", "stroke-dasharray", "stroke-miterlimit", "opacity", "transform",
    "offset", "stop-color", "stop-opacity", "gradientunits", "gradienttransform", "spreadmethod", "fx", "fy",
    "font-family", "font-size", "font-weight", "text-anchor", "dominant-baseline", "letter-spacing",
    "clip-path", "mask", "preserveaspectratio", "version", "href", "role", "aria-label", "xmlns", "style",
    "maskunits", "clippathunits", "patternunits", "dx", "dy",
}
_URL_RE = re.compile(r"url\s*\(\s*([^)]*)\)", re.IGNORECASE)
_SAFE_STYLE_RE = re.compile(r"^[\w\s#%.,:;()\-]*$")


class IconError(ValueError):
    """An icon is refused; the message says why."""


def sniff(data: bytes) -> str:
    """'png' or 'svg' judged from the bytes, never from the file name."""
    if data.startswith(PNG_MAGIC):
        return "png"
    head = data[:1024].lstrip().lower()
    if head.startswith(b"<?xml") or head.startswith(b"<svg") or head.startswith(b"<!--"):
        return "svg"
    raise IconError(_l("Only PNG and SVG images are accepted."))


def check_png(data: bytes) -> tuple[int, int]:
    """Width and height of a sound PNG within the limits; decompression bombs are refused before decoding."""
    if len(data) > MAX_ICON_BYTES:
        raise IconError(_l("Larger than %(n)d KiB.", n=MAX_ICON_BYTES // 1024))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _open_png(data)
    except IconError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise IconError(_l("Not a valid PNG image.")) from None


def _open_png(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        if image.format != "PNG":
            raise IconError(_l("Not a valid PNG image."))
        width, height = image.size
        if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
            raise IconError(_l("%(w)dx%(h)d pixels is more than allowed (%(max)dx%(max)d).", w=width, h=height, max=MAX_SIDE))
        image.verify()
    with Image.open(io.BytesIO(data)) as image:
        image.load()  # verify() checks the structure; decoding catches truncated data
    return width, height


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def _check_reference(value: str) -> None:
    if not value.startswith("#"):
        raise IconError(_l("An SVG may only refer to its own elements."))


def sanitise_svg(data: bytes) -> bytes:
    """A re-serialised SVG with only allow-listed elements and attributes; anything dangerous is refused."""
    if len(data) > MAX_ICON_BYTES:
        raise IconError(_l("Larger than %(n)d KiB.", n=MAX_ICON_BYTES // 1024))
    lowered = data.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise IconError(_l("SVG with a DOCTYPE or entities is refused."))
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        raise IconError(_l("Not a well-formed SVG document.")) from None
    if _local(root.tag) != "svg" or (root.tag.startswith("{") and not root.tag.startswith("{" + SVG_NS)):
        raise IconError(_l("The document is not an SVG image."))
    _clean(root)
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    return ET.tostring(root, encoding="utf-8", xml_declaration=False)


def _clean(element: ET.Element) -> None:
    for child in list(element):
        if not isinstance(child.tag, str):  # comments, processing instructions
            element.remove(child)
            continue
        name = _local(child.tag)
        if name in DROPPED_ELEMENTS or (child.tag.startswith("{") and not child.tag.startswith("{" + SVG_NS)):
            element.remove(child)
            continue
        if name not in ALLOWED_ELEMENTS:
            raise IconError(_l("SVG element <%(name)s> is not allowed.", name=name[:40]))
        _clean(child)
    for attr, value in list(element.attrib.items()):
        name = _local(attr)
        if attr.startswith("{") and not attr.startswith("{" + XLINK_NS):
            del element.attrib[attr]  # editor namespaces (inkscape:, sodipodi:)
            continue
        if name.startswith("on"):
            raise IconError(_l("SVG event handlers are not allowed."))
        if name not in ALLOWED_ATTRIBUTES:
            raise IconError(_l("SVG attribute %(name)s is not allowed.", name=name[:40]))
        if name == "href":
            _check_reference(value.strip())
        for match in _URL_RE.finditer(value):
            _check_reference(match.group(1).strip(" '\""))
        if name == "style" and (not _SAFE_STYLE_RE.match(value) or "@import" in value.lower()
                                or "expression" in value.lower()):
            raise IconError(_l("An SVG style attribute has something that is not allowed."))
        if "javascript:" in value.lower().replace(" ", "") or "data:" in value.lower():
            raise IconError(_l("SVG with javascript: or data: URLs is refused."))


def resize_png(data: bytes, size: int) -> bytes:
    """A square PNG of size x size from a checked PNG (centred on transparent, keeping proportions)."""
    with Image.open(io.BytesIO(data)) as source:
        image = source.convert("RGBA")
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
        canvas.paste(image, ((size - image.width) // 2, (size - image.height) // 2))
        out = io.BytesIO()
        canvas.save(out, format="PNG", optimize=True)
        return out.getvalue()
