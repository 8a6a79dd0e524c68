"""HEIC/HEIF and AVIF through the one decode boundary: decode, header, folder walk, evidence, CLI,
Python API and service.

The files are made here, by the same libraries that read them (pillow-heif, Pillow's AVIF plugin),
from a shared ImageNet photograph of native-pool and a CIFAKE image, with an EXIF orientation, an
EXIF Software / UserComment and an XMP packet declaring IPTC trainedAlgorithmicMedia, into tmp_path.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from conftest import SHARED, run_cli
from fakescope.data.decode import ImageDecodeError, decode_image, header_size
from fakescope.data.folders import walk_images
from fakescope.data.formats import IMAGE_EXTENSIONS, is_image_name
from fakescope.provenance import inspect_bytes
from fakescope.testing import evidence_files as E
from fakescope.testing.server import ServerProcess

PHOTO = SHARED / "native-pool" / "Real" / "00478137ef71.jpg"  # ImageNet, 256 x 256
# A landscape cut of it, so that the quarter turn shows in the size: stored 256 x 192, shown 192 x 256.
STORED, SHOWN = (256, 192), (192, 256)
CIFAKE = sorted((SHARED / "cifake" / "test" / "FAKE").glob("*.jpg"))[0]  # 32 x 32
FORMATS = {"heic": "HEIF", "avif": "AVIF"}
ROTATE_90_CW = 6  # EXIF Orientation: the shown picture is the stored one turned a quarter clockwise


def _xmp_iptc_generated() -> bytes:
    return (E.XMP_HEAD + E.IPTC_SYNTAXES["attribute"] + E.XMP_TAIL).encode("utf-8")


def _exif(orientation: int | None = None, software: str | None = None, user_comment: str | None = None) -> bytes:
    exif = Image.Exif()
    if user_comment is not None:
        exif.load(E.user_comment_exif(user_comment))
    if orientation is not None:
        exif[0x0112] = orientation
    if software is not None:
        exif[0x0131] = software
    return exif.tobytes()


@pytest.fixture(scope="module")
def modern(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """photo.<ext>: the photo, EXIF-rotated, with the IPTC XMP; cifake.<ext>: A1111 parameters in
    EXIF UserComment and a generator's Software; cut.<ext>: a photo cut in half (truncated)."""
    folder = tmp_path_factory.mktemp("modern") / "phone"
    folder.mkdir()
    photo = _photo()
    small = Image.open(CIFAKE).convert("RGB")
    files: dict[str, Path] = {}
    for ext, fmt in FORMATS.items():
        data = E.encode(photo, fmt, quality=90, exif=_exif(ROTATE_90_CW), xmp=_xmp_iptc_generated())
        files[f"photo.{ext}"] = folder / f"photo.{ext}"
        files[f"photo.{ext}"].write_bytes(data)
        files[f"cut.{ext}"] = folder / f"cut.{ext}"
        files[f"cut.{ext}"].write_bytes(data[: len(data) // 2])
        text = E.A1111_TEXT.format(w=small.width, h=small.height)
        files[f"cifake.{ext}"] = folder / f"cifake.{ext}"
        files[f"cifake.{ext}"].write_bytes(E.encode(small, fmt, quality=95,
                                                    exif=_exif(software="Midjourney", user_comment=text)))
    # an upper-case extension, as phones and cameras write them
    (folder / "PHOTO_UPPER.HEIC").write_bytes(files["photo.heic"].read_bytes())
    return files


def _photo() -> Image.Image:
    return Image.open(PHOTO).convert("RGB").crop((0, 0, *STORED))


def _turned(im: Image.Image) -> Image.Image:
    return im.transpose(Image.Transpose.ROTATE_270)  # Orientation 6 shown: a quarter turn clockwise


@pytest.mark.parametrize("ext", FORMATS)
def test_decode_orients_and_header_agrees(modern: dict[str, Path], ext: str) -> None:
    data = modern[f"photo.{ext}"].read_bytes()
    im = decode_image(data)
    expected = _turned(_photo())
    assert im.mode == "RGB" and im.size == expected.size == SHOWN
    assert header_size(data) == (*SHOWN, FORMATS[ext])
    # lossy, but the same picture the same way up: far closer to the turned original than to its mirror
    diff = np.abs(np.asarray(im, dtype=np.float64) - np.asarray(expected, dtype=np.float64)).mean()
    mirrored = np.abs(np.asarray(im, dtype=np.float64) - np.asarray(expected.transpose(Image.Transpose.ROTATE_180),
                                                                    dtype=np.float64)).mean()
    assert diff < 8 and mirrored > 4 * diff, (diff, mirrored)
    assert decode_image(modern[f"cifake.{ext}"].read_bytes()).size == (32, 32)


@pytest.mark.parametrize("ext", FORMATS)
def test_pixel_limit_and_damaged_files_are_per_file_errors(modern: dict[str, Path], ext: str) -> None:
    data = modern[f"photo.{ext}"].read_bytes()
    limit = SHOWN[0] * SHOWN[1] - 1
    with pytest.raises(ImageDecodeError, match=rf"^image too large: \d+x\d+ = {limit + 1} pixels > limit {limit}"):
        header_size(data, max_pixels=limit)
    with pytest.raises(ImageDecodeError, match=rf"^image too large: \d+x\d+ = {limit + 1} pixels > limit {limit}"):
        decode_image(data, max_pixels=limit)
    for cut in (len(data) // 2, 64):
        with pytest.raises(ImageDecodeError, match=r"^truncated or corrupt image data"):
            decode_image(data[:cut])
    with pytest.raises(ImageDecodeError, match=r"^not a recognised image format"):
        decode_image(data[:10])  # not even a whole ftyp box: nothing says it is an image


def test_one_extension_list_and_the_folder_walk(modern: dict[str, Path]) -> None:
    assert {".heic", ".heif", ".avif"} <= IMAGE_EXTENSIONS
    assert is_image_name("IMG_0001.HEIC") and is_image_name("x.heif") and is_image_name("y.AVIF")
    folder = modern["photo.heic"].parent
    assert sorted(p.name for p in walk_images(folder)) == sorted([*(p.name for p in modern.values()), "PHOTO_UPPER.HEIC"])


@pytest.mark.parametrize("ext", FORMATS)
def test_evidence_readers_see_exif_and_xmp(modern: dict[str, Path], ext: str) -> None:
    photo = inspect_bytes(modern[f"photo.{ext}"].read_bytes(), name="photo")
    assert photo.verdict == "ai-generated"
    assert [(i["source"], i["claim"]) for i in photo.items] == [("iptc", "generated")]
    small = inspect_bytes(modern[f"cifake.{ext}"].read_bytes(), name="cifake")
    by_source = {i["source"]: i for i in small.items}
    assert by_source["software"]["generator"] == "Midjourney" and by_source["software"]["software"] == "Midjourney"
    assert by_source["a1111"]["claim"] == "generated"  # the parameters in EXIF UserComment


def test_inspect_cli_reads_the_phone_folder(modern: dict[str, Path]) -> None:
    folder = modern["photo.heic"].parent
    proc = run_cli("inspect", str(folder), "-f", "jsonl", "--no-progress")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {Path(r["path"]).name: r for r in map(json.loads, proc.stdout.splitlines())}
    assert set(rows) == {*(p.name for p in modern.values()), "PHOTO_UPPER.HEIC"}
    for name in ("photo.heic", "photo.avif", "PHOTO_UPPER.HEIC"):
        assert rows[name]["verdict"] == "ai-generated" and rows[name]["evidence"][0]["source"] == "iptc", rows[name]
    for ext in FORMATS:
        cifake = rows[f"cifake.{ext}"]
        assert {(i["source"], i["generator"]) for i in cifake["evidence"]} == {("a1111", cifake["generator"]),
                                                                             ("software", "Midjourney")}
        # a damaged file declares nothing: no claim, and the readers say why, the same way every run
        cut = rows[f"cut.{ext}"]
        assert (cut["error"], cut["verdict"]) == (None, "no-claim")
        details = {i["source"]: i["detail"] for i in cut["evidence"]}
        assert details["watermark"]["error"].startswith("ImageDecodeError: truncated or corrupt image data")
        assert details["container"]["notes"] == ["container: UnidentifiedImageError: cannot identify image file <_io.BytesIO object>"]


def test_detect_cli_and_python_api(modern: dict[str, Path]) -> None:
    from fakescope import Detector

    folder = modern["photo.heic"].parent
    proc = run_cli("detect", str(folder), "-f", "jsonl", "--no-progress")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {Path(r["path"]).name: r for r in map(json.loads, proc.stdout.splitlines())}
    assert len(rows) == len(modern) + 1
    det = Detector.load()
    for ext in FORMATS:
        photo = rows[f"photo.{ext}"]
        assert (photo["width"], photo["height"]) == SHOWN and photo["error"] is None
        assert (photo["verdict"], photo["answered_by"]) == ("fake", "evidence:iptc")
        assert (rows[f"cifake.{ext}"]["width"], rows[f"cifake.{ext}"]["height"]) == (32, 32)
        assert rows[f"cut.{ext}"]["error"].startswith("truncated or corrupt image data")
        assert rows[f"cut.{ext}"]["verdict"] is None
        api = det.predict([str(modern[f"photo.{ext}"]), modern[f"cifake.{ext}"].read_bytes(), str(modern[f"cut.{ext}"])])
        assert (api[0]["width"], api[0]["height"], api[0]["verdict"]) == (*SHOWN, "fake")
        assert api[1]["score"] == pytest.approx(rows[f"cifake.{ext}"]["score"], abs=1e-6)
        assert api[2]["error"] == rows[f"cut.{ext}"]["error"]


def test_service_scores_a_heic_upload(modern: dict[str, Path]) -> None:
    with ServerProcess(["--no-access-log"]) as server:
        ok = httpx.post(server.url + "/v1/detect", timeout=120,
                        files=[("file", ("IMG_0001.HEIC", modern["photo.heic"].read_bytes(), "image/heic")),
                               ("file", ("pic.avif", modern["photo.avif"].read_bytes(), "image/avif"))])
        assert ok.status_code == 200, ok.text
        results = ok.json()["results"]
        assert [(r["width"], r["height"], r["verdict"]) for r in results] == [(*SHOWN, "fake")] * 2
        cut = httpx.post(server.url + "/v1/detect", timeout=120,
                         files=[("file", ("cut.heic", modern["cut.heic"].read_bytes(), "image/heic"))])
        assert cut.status_code == 422, cut.text
