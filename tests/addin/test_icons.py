"""The icons in addin-manifest/assets are real PNGs of the sizes Outlook asks for, drawn by tools/make_icons.py."""

from __future__ import annotations

import importlib.util
import zlib

import pytest

from tests.addin import manifest_checks as checks
from tests.addin.conftest import ADDIN_DIR


@pytest.fixture(scope="module")
def make_icons():
    spec = importlib.util.spec_from_file_location("make_icons", ADDIN_DIR / "tools" / "make_icons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("size", [16, 32, 64, 80, 128])
def test_each_icon_is_a_square_rgba_png_of_its_size(size):
    data = (checks.ASSETS_DIR / f"icon-{size}.png").read_bytes()
    assert checks.png_size(checks.ASSETS_DIR / f"icon-{size}.png") == (size, size)
    assert data[24:26] == b"\x08\x06"  # 8 bits per channel, RGBA
    # Every chunk's CRC holds, so a client's decoder won't reject the file.
    offset = 8
    kinds = []
    while offset < len(data):
        length = int.from_bytes(data[offset:offset + 4], "big")
        kind, body = data[offset + 4:offset + 8], data[offset + 8:offset + 8 + length]
        assert zlib.crc32(kind + body) == int.from_bytes(data[offset + 8 + length:offset + 12 + length], "big")
        kinds.append(kind)
        offset += 12 + length
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds


def test_committed_icons_are_exactly_what_the_script_draws(make_icons, tmp_path):
    assert make_icons.main(["--check"]) == 0
    assert make_icons.main(["--assets-dir", str(tmp_path)]) == 0
    for size in make_icons.SIZES:
        assert (tmp_path / f"icon-{size}.png").read_bytes() == (checks.ASSETS_DIR / f"icon-{size}.png").read_bytes()


def test_check_mode_notices_a_changed_icon(make_icons, tmp_path):
    make_icons.main(["--assets-dir", str(tmp_path)])
    (tmp_path / "icon-32.png").write_bytes((tmp_path / "icon-16.png").read_bytes())
    assert make_icons.main(["--check", "--assets-dir", str(tmp_path)]) == 1


def test_icon_corners_are_transparent_and_the_middle_is_opaque(make_icons):
    rows = make_icons.render(32)
    assert rows[0][0][3] == 0 and rows[31][31][3] == 0
    assert rows[16][16][3] == 255
