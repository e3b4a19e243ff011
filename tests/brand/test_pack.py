"""Brand pack parsing and validation: colours, contrast, icons, zips, with hostile inputs from tests/data."""
import io
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from app.brand import icons
from app.brand.colors import contrast_ratio, parse_hex
from app.brand.pack import BrandInvalid, build_pack, read_folder, read_pack, read_zip
from app.brand.service import export_zip, render_css

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[1] / "data"
PACKS = ["default", "ocean", "sunrise", "monochrome", "sakura"]


def hostile_lines(name):
    return [line.rstrip("\n") for line in (DATA / name).read_text().splitlines()
            if line.strip() and not line.startswith("# ")]


@pytest.fixture
def pack_dir(tmp_path):
    target = tmp_path / "pack"
    shutil.copytree(ROOT / "branding" / "default", target)
    return target


def edit_toml(pack_dir, old, new):
    path = pack_dir / "brand.toml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def errors_of(pack_dir_or_files):
    files = read_folder(pack_dir_or_files) if isinstance(pack_dir_or_files, Path) else pack_dir_or_files
    with pytest.raises(BrandInvalid) as info:
        build_pack(files)
    return {field: str(message) for field, message in info.value.errors}


def png(width, height, colour=(200, 30, 90, 255)):
    out = io.BytesIO()
    Image.new("RGBA", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("name", PACKS)
def test_shipped_packs_are_valid_and_distinct(name):
    pack = build_pack(read_folder(ROOT / "branding" / name))
    assert {"logo", "app-icon", "favicon-32", "apple-touch-180", "icon-192", "icon-512"} <= set(pack.assets)
    assert pack.settings.dark, "every shipped pack has a dark variant"
    with Image.open(io.BytesIO(pack.assets["icon-512"][0])) as image:
        assert image.size == (512, 512)


def test_shipped_packs_differ():
    primaries = {build_pack(read_folder(ROOT / "branding" / n)).settings.colors["primary"] for n in PACKS}
    assert len(primaries) == len(PACKS)


@pytest.mark.parametrize("fg, bg, ratio", [("#000000", "#ffffff", 21.0), ("#ffffff", "#ffffff", 1.0),
                                           ("#777777", "#ffffff", 4.48), ("#1f6feb", "#ffffff", 4.63)])
def test_contrast_maths(fg, bg, ratio):
    assert round(contrast_ratio(fg, bg), 2) == ratio
    assert round(contrast_ratio(bg, fg), 2) == ratio


@pytest.mark.parametrize("value", hostile_lines("hostile_colours.txt"))
def test_hostile_colours_are_refused(pack_dir, value):
    assert parse_hex(value) is None
    edit_toml(pack_dir, 'accent = "#0b7a75"', f"accent = {value!r}".replace("'", '"') if '"' not in value
              else f"accent = '''{value}'''")
    assert "colors.accent" in errors_of(pack_dir)


def test_low_contrast_is_refused_with_its_ratio(pack_dir):
    edit_toml(pack_dir, 'text = "#1f2328"', 'text = "#aaaaaa"')
    errors = errors_of(pack_dir)
    assert "colors.text" in errors and "2.32:1" in errors["colors.text"]


def test_low_contrast_in_dark_set_is_refused(pack_dir):
    edit_toml(pack_dir, 'on_primary = "#0d1117"', 'on_primary = "#4493f8"')
    assert "colors.dark.on_primary" in errors_of(pack_dir)


@pytest.mark.parametrize("old, new, field", [
    ('product_name = "Atrium"', 'product_name = ""', "identity.product_name"),
    ('product_name = "Atrium"', f'product_name = "{"x" * 41}"', "identity.product_name"),
    ('product_name = "Atrium"', 'product_name = "Atrium\\u0000"', "identity.product_name"),
    ("radius = 6", "radius = 99", "buttons.radius"),
    ("radius = 6", 'radius = "6px"', "buttons.radius"),
    ('entries = [', 'entries = ["nonsense", ', "navigation.entries"),
    ('entries = [', 'entries = ["home", ', "navigation.entries"),
    ('logo = "icons/logo.svg"', 'logo = "../../etc/passwd"', "icons.logo"),
    ("[buttons]", "[buttons]\nshape = 1", "buttons.shape"),
    ("[identity]", "[identity]\ncolour = 1", "identity.colour"),
])
def test_field_errors_name_the_field(pack_dir, old, new, field):
    edit_toml(pack_dir, old, new)
    assert field in errors_of(pack_dir)


def test_unknown_button_label_and_bad_custom_button(pack_dir):
    (pack_dir / "brand.toml").write_text((pack_dir / "brand.toml").read_text() + """
[[navigation.custom]]
label = "Evil"
url = "javascript:alert(1)"
""")
    edit_toml(pack_dir, "[buttons.labels]", '[buttons.labels]\nlaunch = "Go"')
    errors = errors_of(pack_dir)
    assert "navigation.custom[0].url" in errors and "buttons.labels.launch" in errors


def test_invalid_toml_and_missing_file():
    assert "brand.toml" in errors_of({"brand.toml": b"[identity\nbroken"})
    assert "brand.toml" in errors_of({"icons/logo.svg": b"<svg/>"})


@pytest.mark.parametrize("name", sorted(p.name for p in (DATA / "hostile_svg").iterdir()))
def test_hostile_svgs_are_refused(pack_dir, name):
    shutil.copy(DATA / "hostile_svg" / name, pack_dir / "icons" / "logo.svg")
    assert "icons.logo" in errors_of(pack_dir)


def test_sanitiser_keeps_harmless_svg_and_drops_editor_bookkeeping():
    source = (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape"'
              b' inkscape:version="1.2" viewBox="0 0 10 10"><metadata>x</metadata><!-- c -->'
              b'<defs><linearGradient id="g"><stop offset="0" stop-color="#fff"/></linearGradient></defs>'
              b'<rect width="10" height="10" fill="url(#g)"/></svg>')
    clean = icons.sanitise_svg(source)
    assert b"metadata" not in clean and b"inkscape" not in clean and b"<!--" not in clean
    assert b'fill="url(#g)"' in clean


def test_type_is_judged_by_content_not_name(pack_dir):
    (pack_dir / "icons" / "logo.svg").write_bytes(png(300, 60))   # a PNG named .svg is a PNG
    pack = build_pack(read_folder(pack_dir))
    assert pack.assets["logo"][1] == "image/png"
    (pack_dir / "icons" / "logo.svg").write_bytes(b"GIF89a\x01\x00\x01\x00")
    assert "icons.logo" in errors_of(pack_dir)
    (pack_dir / "icons" / "logo.svg").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    assert "icons.logo" in errors_of(pack_dir)


def test_png_limits(pack_dir):
    (pack_dir / "icons" / "app-icon.png").write_bytes(png(300, 200))
    assert "icons.app_icon" in errors_of(pack_dir)            # not square
    (pack_dir / "icons" / "app-icon.png").write_bytes(png(64, 64))
    assert "icons.app_icon" in errors_of(pack_dir)            # too small
    (pack_dir / "icons" / "app-icon.png").write_bytes((pack_dir / "icons" / "logo.svg").read_bytes())
    assert "icons.app_icon" in errors_of(pack_dir)            # SVG app icon


def test_decompression_bomb_is_refused_before_decoding():
    # 20000 x 20000 pixels of one colour compress to a few hundred kilobytes.
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, format="PNG")
    with pytest.raises(icons.IconError):
        icons.check_png(out.getvalue())


def _zip(entries):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, *mode in entries:
            info = zipfile.ZipInfo(name)
            if mode:
                info.external_attr = mode[0] << 16
            archive.writestr(info, data)
    return out.getvalue()


@pytest.mark.parametrize("entries", [
    [("../brand.toml", b"x")],
    [("/etc/brand.toml", b"x")],
    [("icons/../../x", b"x")],
    [("C:\\brand.toml", b"x")],
    [("link", b"/etc/passwd", stat.S_IFLNK | 0o777)],
    [(f"f{i}", b"x") for i in range(100)],
    [("big", b"\0" * (9 * 1024 * 1024))],
])
def test_hostile_zips_are_refused(entries):
    with pytest.raises(BrandInvalid):
        read_zip(_zip(entries))


def test_not_a_zip():
    with pytest.raises(BrandInvalid):
        read_zip(b"PK\x03\x04 garbage")


def test_zip_round_trip_and_folder_prefix(pack_dir, tmp_path):
    pack = build_pack(read_folder(pack_dir))
    data = export_zip(pack)
    again = build_pack(read_zip(data))
    assert again.settings == pack.settings
    assert again.assets["logo"] == pack.assets["logo"]
    nested = _zip([(f"mypack/{n}", d) for n, d in read_zip(data).items()])
    assert build_pack(read_zip(nested)).settings == pack.settings
    path = tmp_path / "p.zip"
    path.write_bytes(data)
    assert build_pack(read_pack(path)).settings == pack.settings


def test_folder_with_a_link_is_refused(pack_dir):
    (pack_dir / "icons" / "evil.svg").symlink_to("/etc/passwd")
    with pytest.raises(BrandInvalid):
        read_folder(pack_dir)


def test_css_is_only_custom_properties(pack_dir):
    css = render_css(build_pack(read_folder(pack_dir)).settings)
    assert "--color-primary: #1f6feb;" in css and "--radius: 6px;" in css
    assert "prefers-color-scheme: dark" in css
    for bad in ("url(", "expression", "<", "@import", "}body"):
        assert bad not in css
