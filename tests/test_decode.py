"""Awkward inputs: unreadable ones fail with a reason, readable ones become the same 8-bit RGB."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fakescope.data import ImageDecodeError, decode_image, open_source, summarize
from fakescope.data.decode import read_file_bytes
from fakescope.testing.badfiles import BAD_EXPECTED, ODD_EXPECTED_SIZE, make_awkward_files


@pytest.fixture(scope="module")
def awkward(tmp_path_factory, shared: Path) -> dict[str, Path]:
    base = Image.open(shared / "cnndetection_ranking" / "biggan" / "0_real" / "116_biggan_real.jpg")
    return make_awkward_files(tmp_path_factory.mktemp("awk"), base)


@pytest.mark.parametrize("name", sorted(BAD_EXPECTED))
def test_bad_files_raise_with_reason(awkward: dict[str, Path], name: str) -> None:
    with pytest.raises(ImageDecodeError) as info:
        decode_image(read_file_bytes(awkward[name]) if name != "empty.jpg" else b"")
    assert BAD_EXPECTED[name] in info.value.reason


def test_empty_file_read(awkward: dict[str, Path]) -> None:
    with pytest.raises(ImageDecodeError, match="empty file"):
        read_file_bytes(awkward["empty.jpg"])


@pytest.mark.parametrize("name", sorted(ODD_EXPECTED_SIZE))
def test_odd_modes_become_rgb(awkward: dict[str, Path], name: str) -> None:
    im = decode_image(awkward[name].read_bytes())
    assert im.mode == "RGB"
    assert im.size == ODD_EXPECTED_SIZE[name]


def test_conversions_keep_the_pixels(awkward: dict[str, Path]) -> None:
    gray8 = np.asarray(decode_image(awkward["gray.jpg"].read_bytes()), dtype=np.int16)
    gray16 = np.asarray(decode_image(awkward["gray16.png"].read_bytes()), dtype=np.int16)
    # 16-bit is rescaled (x/257), not clipped to white; equal to the 8-bit version up to JPEG error
    assert np.abs(gray16 - gray8).mean() < 3
    rgba = np.asarray(decode_image(awkward["rgba.png"].read_bytes()))
    assert (rgba[:, :32] == 255).all()  # fully transparent half composited onto white
    cmyk = np.asarray(decode_image(awkward["cmyk.jpg"].read_bytes()), dtype=np.int16)
    rgb = np.asarray(decode_image(awkward["palette.png"].read_bytes()), dtype=np.int16)
    assert np.abs(cmyk - rgb).mean() < 12


def test_exif_rotation_applied(tmp_path: Path) -> None:
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(arr).save(tmp_path / "r.jpg", quality=98, exif=exif)
    out = np.asarray(decode_image((tmp_path / "r.jpg").read_bytes()))
    assert out.shape == (40, 20, 3)
    assert out[:15].mean() > 200 and out[-15:].mean() < 50  # rotated 90 CW: white went to the top


def test_pixel_limit_is_configurable(awkward: dict[str, Path]) -> None:
    data = awkward["palette.png"].read_bytes()
    with pytest.raises(ImageDecodeError, match="image too large: 64x48"):
        decode_image(data, max_pixels=1000)


def test_awkward_folder_summary(awkward_folder: Path) -> None:
    result = summarize(open_source(awkward_folder), progress=False)
    skipped = {Path(s["path"]).name: s["reason"] for s in result["skipped"]}
    assert set(skipped) == set(BAD_EXPECTED)
    for name, fragment in BAD_EXPECTED.items():
        assert fragment in skipped[name]
    # 5 good reals + 7 readable awkward files; 5 good fakes
    assert result["splits"]["all"] == {"total": 17, "real": 12, "fake": 5, "generators": {"unknown": 5}}


def test_sample_image_is_rgb(shared: Path) -> None:
    for folder in ("cifake", "tiny-genimage-sample", "commfor-sample", "genimage_biggan_fixtures"):
        sample = next(iter(open_source(shared / folder)))
        im = sample.image()
        assert im.mode == "RGB" and min(im.size) >= 32
