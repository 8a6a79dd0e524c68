"""Test conditions really change the inputs as specified, on real images: JPEG quality tables,
down-sampled sizes, blur sigma, crop size, seeded noise, and format alignment of both classes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fakescope import imageops
from fakescope.data.decode import decode_image, read_file_bytes, sniff_format
from fakescope.errors import UserError
from fakescope.eval.conditions import PRESETS, parse_alignment, parse_condition, parse_conditions


@pytest.fixture(scope="module")
def real_jpeg(shared: Path) -> Image.Image:
    """A real photograph from the CNNDetection examples: 356x356 JPEG."""
    return decode_image(read_file_bytes(shared / "cnndetection_ranking" / "biggan" / "0_real" / "116_biggan_real.jpg"))


@pytest.fixture(scope="module")
def fake_png(shared: Path) -> tuple[bytes, Image.Image]:
    """A GenImage BigGAN image at native resolution: 128x128 PNG."""
    data = read_file_bytes(shared / "genimage_biggan_fixtures" / "tests" / "fixtures" / "006_biggan_00020.png")
    return data, decode_image(data)


def _pillow_tables(quality: int) -> dict[int, list[int]]:
    """The quantisation tables libjpeg writes for `quality`, from an encoding we make independently."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (120, 80, 40)).save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    return {k: list(v) for k, v in Image.open(buf).quantization.items()}


def test_genimage_preset_is_table_5() -> None:
    names = [c.name for c in parse_conditions(["genimage"])]
    assert names == ["clean", "resize:112", "resize:64", "jpeg:65", "jpeg:30", "blur:3", "blur:5"]
    assert PRESETS["genimage"] == tuple(names[1:])
    # comma lists, repeats and duplicates collapse to one ordered list with clean first
    assert [c.name for c in parse_conditions(["jpeg:30,blur:3", "jpeg:30", "noise:2.5", "crop:64"])] == \
        ["clean", "jpeg:30", "blur:3", "noise:2.5", "crop:64"]


@pytest.mark.parametrize("quality", [30, 65, 96])
def test_jpeg_condition_writes_that_quality_tables(real_jpeg: Image.Image, quality: int) -> None:
    cond = parse_condition(f"jpeg:{quality}")
    encoded = imageops.jpeg_bytes(real_jpeg, quality)
    with Image.open(io.BytesIO(encoded)) as im:
        assert im.format == "JPEG"
        assert {k: list(v) for k, v in im.quantization.items()} == _pillow_tables(quality)
        assert im.layer[1][1:3] == (1, 1) and im.layer[0][1:3] == (2, 2)  # 4:2:0: chroma at half resolution
    # the condition applies exactly this encoding (same pixels as decoding those bytes)
    out = cond.apply(real_jpeg, "any-key")
    assert np.array_equal(np.asarray(out), np.asarray(decode_image(encoded)))
    assert not np.array_equal(np.asarray(out), np.asarray(real_jpeg))
    assert cond.record()["operation"].startswith(f"re-encode as JPEG quality {quality}")


def test_jpeg_30_quantises_harder_than_65(real_jpeg: Image.Image) -> None:
    t30, t65 = _pillow_tables(30), _pillow_tables(65)
    assert sum(t30[0]) > sum(t65[0]) and t30 != t65


@pytest.mark.parametrize("size", [112, 64])
def test_resize_condition_gives_that_shorter_side(real_jpeg: Image.Image, fake_png: tuple[bytes, Image.Image], size: int) -> None:
    cond = parse_condition(f"resize:{size}")
    out = cond.apply(real_jpeg, "k")
    assert min(out.size) == size and out.size == (size, size)  # 356x356 -> size x size
    wide = real_jpeg.crop((0, 0, 356, 200))  # 356x200: aspect ratio kept, shorter side = size
    w, h = cond.apply(wide, "k").size
    assert h == size and abs(w / h - 356 / 200) < 0.02
    # never up-samples: a 128 px image under resize:112 shrinks, under resize:256 stays as it is
    assert min(cond.apply(fake_png[1], "k").size) == size
    assert parse_condition("resize:256").apply(fake_png[1], "k") is fake_png[1]


def test_blur_condition_has_that_sigma() -> None:
    """Blurring a black-to-white step gives the Gaussian's CDF: its derivative is the kernel, whose
    standard deviation must be the sigma asked for (in both directions)."""
    step = np.zeros((121, 121, 3), np.uint8)
    step[:, 60:] = 255
    for sigma in (3.0, 5.0):
        cond = parse_condition(f"blur:{sigma:g}")
        for image, axis in ((step, 1), (step.transpose(1, 0, 2), 0)):
            out = np.asarray(cond.apply(Image.fromarray(np.ascontiguousarray(image)), "k"), np.float64)[:, :, 0]
            profile = out[60, :] if axis == 1 else out[:, 60]
            kernel = np.diff(profile)
            kernel /= kernel.sum()
            x = np.arange(kernel.size)
            mean = (kernel * x).sum()
            assert np.sqrt((kernel * (x - mean) ** 2).sum()) == pytest.approx(sigma, rel=0.03)


def test_crop_condition_size(real_jpeg: Image.Image, fake_png: tuple[bytes, Image.Image]) -> None:
    out = parse_condition("crop:224").apply(real_jpeg, "k")
    assert out.size == (224, 224)
    left = (356 - 224) // 2
    assert np.array_equal(np.asarray(out), np.asarray(real_jpeg)[left:left + 224, left:left + 224])
    assert parse_condition("crop:160").apply(fake_png[1], "k").size == (160, 160)  # 128 px image padded, not resized


def test_noise_is_seeded_per_key_and_has_that_sigma(real_jpeg: Image.Image) -> None:
    cond = parse_condition("noise:8")
    a1, a2, b = (np.asarray(cond.apply(real_jpeg, k), np.float64) for k in ("img-a", "img-a", "img-b"))
    assert np.array_equal(a1, a2) and not np.array_equal(a1, b)
    base = np.asarray(real_jpeg, np.float64)
    mid = (base > 30) & (base < 225)  # away from clipping
    assert np.std((a1 - base)[mid]) == pytest.approx(8.0, rel=0.05)


def test_format_alignment_makes_both_classes_identical_jpeg(real_jpeg: Image.Image, fake_png: tuple[bytes, Image.Image], shared: Path) -> None:
    png_bytes, png_image = fake_png
    real_bytes = read_file_bytes(shared / "cnndetection_ranking" / "biggan" / "0_real" / "116_biggan_real.jpg")
    assert (sniff_format(real_bytes), sniff_format(png_bytes)) == ("JPEG", "PNG")  # the shortcut
    align = parse_alignment("jpeg:96")
    aligned = [align.encode(real_jpeg), align.encode(png_image)]
    assert [sniff_format(b) for b in aligned] == ["JPEG", "JPEG"]
    tables = []
    for data in aligned:
        with Image.open(io.BytesIO(data)) as im:
            tables.append({k: list(v) for k, v in im.quantization.items()})
            assert im.layer[0][1:3] == (2, 2)
    assert tables[0] == tables[1] == _pillow_tables(96)
    assert np.array_equal(np.asarray(align.apply(png_image)), np.asarray(decode_image(aligned[1])))
    png = parse_alignment("png")
    assert [sniff_format(png.encode(im)) for im in (real_jpeg, png_image)] == ["PNG", "PNG"]
    assert np.array_equal(np.asarray(png.apply(real_jpeg)), np.asarray(real_jpeg))  # lossless
    assert parse_alignment(None) is None and parse_alignment("none") is None


@pytest.mark.parametrize("bad", ["jpeg:0", "jpeg:abc", "blur:-1", "resize:2", "sharpen:3", "jpeg", "noise:x"])
def test_bad_conditions_are_user_errors(bad: str) -> None:
    with pytest.raises(UserError):
        parse_conditions([bad])


@pytest.mark.parametrize("bad", ["gif", "jpeg:101", "jpeg:q"])
def test_bad_alignment_is_a_user_error(bad: str) -> None:
    with pytest.raises(UserError):
        parse_alignment(bad)
