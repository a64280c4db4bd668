"""Images as cameras and scanners make them: orientation, bit depth, colour modes, ICC profiles and
a pixel limit checked before decoding, at every point where an image enters (cards, panels, masks,
prompt references, faces, compare)."""

from __future__ import annotations

import io
import json
import os
import time
import zlib
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageCms
from skimage import data as skdata

from app import images, project_io
from app.cli import generation as cli_generation
from app.identity import conditions
from app.images import ImageError, decode_png, open_image
from app.project_io import load_project
from engine import imageops
from tests.image_files import grey16, huge_png, sideways_jpeg, swapped_primaries_icc
from tests.helpers_cli import run


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return Image.fromarray(skdata.astronaut())


def _close(a: Image.Image, b: Image.Image, tolerance: float = 12.0) -> bool:
    a_px, b_px = (np.asarray(x.convert("RGB"), dtype=np.float32) for x in (a, b))
    return a_px.shape == b_px.shape and float(np.abs(a_px - b_px).mean()) < tolerance


# --- 6. EXIF orientation ---------------------------------------------------------------------------------

def test_compare_scores_a_sideways_phone_photo_as_the_same_person(tmp_path, astronaut, capsys):
    upright = tmp_path / "upright.png"
    astronaut.save(upright)
    photo = sideways_jpeg(astronaut, tmp_path / "phone.jpg", 6)
    code, out, err = run(capsys, "compare", photo, upright)
    assert code == 0, err
    report = json.loads(out)
    assert report["matches"] is True and report["score"] > report["threshold"]


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_orientation_is_applied_where_images_enter(tmp_path, astronaut, orientation):
    small = astronaut.resize((96, 64))
    photo = sideways_jpeg(small, tmp_path / f"o{orientation}.jpg", orientation)
    with Image.open(photo) as raw:
        assert raw.size == (small.size if orientation == 3 else small.size[::-1])
    assert _close(open_image(photo), small)
    from widgets import mime  # panel image drop/import and the card library's reference files

    assert _close(mime.load_image(str(photo)), small)
    [(reference, _)] = conditions._read_reference_files([SimpleNamespace(ref=str(photo), weight=1.0)], None)
    assert _close(reference, small)
    mask = cli_generation._read_mask(str(photo))
    assert mask.mode == "L" and mask.size == small.size


def test_card_add_stores_the_reference_upright(tmp_path, astronaut, capsys):
    project = tmp_path / "p.comic"
    assert run(capsys, "new", project)[0] == 0
    small = astronaut.resize((96, 64))
    photo = sideways_jpeg(small, tmp_path / "phone.jpg", 8)
    code, _, err = run(capsys, "card", "add", project, "--character", "Mia", "--ref", photo)
    assert code == 0, err
    loaded = load_project(project)
    stored = decode_png(loaded.images[loaded.characters[0].references[0].image])
    assert _close(stored, small)


def test_faces_finds_the_face_of_a_sideways_photo_upright(tmp_path, astronaut, capsys):
    upright = tmp_path / "upright.png"
    astronaut.save(upright)
    photo = sideways_jpeg(astronaut, tmp_path / "phone.jpg", 6)
    faces = []
    for path in (upright, photo):
        code, out, err = run(capsys, "faces", path)
        assert code == 0, err
        faces.append(json.loads(out)["faces"][0])
    assert np.allclose(faces[0]["bbox"], faces[1]["bbox"], atol=12)


# --- 7. bit depths, colour modes, ICC profiles -----------------------------------------------------------

def _png(image: Image.Image, **params) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG", **params)
    return buf.getvalue()


def _tiff(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "TIFF")
    return buf.getvalue()


def _row(image: Image.Image) -> list[tuple[int, ...]]:
    return [image.getpixel((x, 0)) for x in range(image.width)]


def test_16_bit_greyscale_png_is_scaled_not_clipped():
    data = _png(grey16([0, 257 * 64, 32768, 65535]))
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    assert _row(open_image(data)) == [(0, 0, 0), (64, 64, 64), (128, 128, 128), (255, 255, 255)]


def test_16_bit_greyscale_tiff_is_scaled():
    assert _row(open_image(_tiff(grey16([0, 257 * 200, 65535])))) == [(0,) * 3, (200,) * 3, (255,) * 3]


def test_32_bit_integer_tiff_is_scaled():
    data = _tiff(Image.fromarray(np.array([[0, 2**30, 2**31 - 1]], dtype=np.int32)))
    assert Image.open(io.BytesIO(data)).mode == "I"
    assert _row(open_image(data)) == [(0,) * 3, (128,) * 3, (255,) * 3]


def test_32_bit_float_tiff_is_scaled_from_zero_to_one():
    data = _tiff(Image.fromarray(np.array([[0.0, 0.25, 1.0, 2.0]], dtype=np.float32)))
    assert Image.open(io.BytesIO(data)).mode == "F"
    assert _row(open_image(data)) == [(0,) * 3, (64,) * 3, (255,) * 3, (255,) * 3]


def test_cmyk_becomes_rgb():
    cmyk = Image.new("CMYK", (3, 1))
    for x, value in enumerate([(0, 0, 0, 0), (0, 255, 255, 0), (0, 0, 0, 255)]):
        cmyk.putpixel((x, 0), value)
    assert _row(open_image(_tiff(cmyk))) == [(255, 255, 255), (255, 0, 0), (0, 0, 0)]


def test_palette_transparency_is_kept_as_alpha_or_composited_on_white():
    pal = Image.new("P", (2, 1))
    pal.putpalette([0, 0, 0, 200, 10, 10] + [0] * 762)
    pal.putpixel((0, 0), 0)
    pal.putpixel((1, 0), 1)
    data = _png(pal, transparency=0)
    assert _row(open_image(data, alpha=True)) == [(0, 0, 0, 0), (200, 10, 10, 255)]
    assert _row(open_image(data)) == [(255, 255, 255), (200, 10, 10)]


def test_grey_with_alpha():
    la = Image.new("LA", (2, 1))
    la.putpixel((0, 0), (100, 255))
    la.putpixel((1, 0), (0, 0))
    assert _row(open_image(_png(la), alpha=True)) == [(100, 100, 100, 255), (0, 0, 0, 0)]
    assert _row(open_image(_png(la))) == [(100, 100, 100), (255, 255, 255)]


def test_card_add_keeps_palette_transparency(tmp_path, capsys):
    pal = Image.new("P", (4, 4))
    pal.putpalette([0, 0, 0, 30, 160, 40] + [0] * 762)
    pal.putpixel((1, 1), 1)
    ref = tmp_path / "sprite.png"
    pal.save(ref, transparency=0)
    project = tmp_path / "p.comic"
    assert run(capsys, "new", project)[0] == 0
    assert run(capsys, "card", "add", project, "--style", "Sprites", "--ref", ref)[0] == 0
    loaded = load_project(project)
    stored = decode_png(loaded.images[loaded.styles[0].references[0].image])
    assert stored.mode == "RGBA" and stored.getpixel((0, 0))[3] == 0 and stored.getpixel((1, 1)) == (30, 160, 40, 255)


def test_icc_profile_is_converted_to_srgb(tmp_path):
    tagged = Image.new("RGB", (2, 1), (255, 0, 0))
    tagged.putpixel((1, 0), (255, 255, 255))
    data = _png(tagged, icc_profile=swapped_primaries_icc())
    red_in_that_profile, white = _row(open_image(data))
    assert red_in_that_profile[1] > 240 and red_in_that_profile[0] < 15 and red_in_that_profile[2] < 15
    assert min(white) >= 250
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert _row(open_image(_png(tagged, icc_profile=srgb)))[0] == (255, 0, 0)


def test_engine_arrays_share_the_conversion():
    assert imageops.to_rgb_array(grey16([0, 65535]))[0].tolist() == [[0, 0, 0], [255, 255, 255]]


# --- 8. a pixel limit, checked before decoding -----------------------------------------------------------

@pytest.fixture(scope="module")
def huge(tmp_path_factory):
    path = huge_png(tmp_path_factory.mktemp("huge") / "huge.png", 16_500)
    assert path.stat().st_size < 40_000
    return path


def test_huge_image_is_refused_before_decoding(huge):
    start = time.perf_counter()
    with pytest.raises(ImageError) as err:
        open_image(huge)
    assert time.perf_counter() - start < 2.0
    message = str(err.value)
    assert str(huge) in message and "16500" in message and "\n" not in message and len(message) < 300


@pytest.mark.parametrize("command", ["card", "faces", "compare"])
def test_huge_image_is_refused_with_one_line_on_the_command_line(tmp_path, huge, capsys, command):
    project = tmp_path / "p.comic"
    assert run(capsys, "new", project)[0] == 0
    argv = {"card": ["card", "add", project, "--character", "X", "--ref", huge],
            "faces": ["faces", huge], "compare": ["compare", huge, huge]}[command]
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and str(huge) in err and "16500" in err and "pixels" in err
    assert len(err) < 300


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_intake_and_loader_share_one_pixel_limit():
    """What the intake accepts the loader opens, and what the loader refuses the intake refuses."""
    assert images.MAX_IMAGE_PIXELS == imageops.MAX_IMAGE_PIXELS == project_io.MAX_IMAGE_PIXELS
    side = int(images.MAX_IMAGE_PIXELS ** 0.5)
    for size, accepted in [((side, side), True), ((side + 1, side), False), ((side * 4, side // 4), True),
                           ((side * 4, side // 4 + 1), False)]:
        assert (images.pixel_problem(size) is None) is accepted
        assert (project_io.png_problem(_png_header_only(*size)) is None) is accepted


def test_special_files_are_not_opened(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="not a regular file"):
        open_image(fifo)
