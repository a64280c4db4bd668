"""Image files as cameras and scanners make them, for intake tests: rotated JPEGs with an EXIF
orientation, deep greyscale, palette transparency, an ICC profile that is not sRGB, huge headers."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

ORIENTATION = 0x0112
# What each orientation does to the upright picture when the camera stores it (PIL rotates counter-clockwise).
STORED = {3: lambda im: im.rotate(180), 6: lambda im: im.rotate(90, expand=True),
          8: lambda im: im.rotate(-90, expand=True)}


def sideways_jpeg(upright: Image.Image, path: Path, orientation: int) -> Path:
    """A JPEG whose pixels are stored turned, with the EXIF tag that turns them upright again."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    STORED[orientation](upright.convert("RGB")).save(path, "JPEG", quality=95, exif=exif.tobytes())
    return path


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + b"\0" * 4 + _s15(x) + _s15(y) + _s15(z)


def swapped_primaries_icc() -> bytes:
    """An RGB display profile (linear) whose red and green primaries are sRGB's green and red."""
    desc_text = b"red-green swapped\0"
    tags = {
        b"desc": b"desc" + b"\0" * 4 + struct.pack(">I", len(desc_text)) + desc_text
                 + b"\0" * 8 + b"\0" * 3 + b"\0" * 67,
        b"wtpt": _xyz(0.9642, 1.0, 0.8249),
        b"rXYZ": _xyz(0.3851, 0.7169, 0.0971),  # sRGB's green
        b"gXYZ": _xyz(0.4361, 0.2225, 0.0139),  # sRGB's red
        b"bXYZ": _xyz(0.1431, 0.0606, 0.7141),
        b"rTRC": b"curv" + b"\0" * 4 + struct.pack(">I", 0),
        b"gTRC": b"curv" + b"\0" * 4 + struct.pack(">I", 0),
        b"bTRC": b"curv" + b"\0" * 4 + struct.pack(">I", 0),
        b"cprt": b"text" + b"\0" * 4 + b"none\0",
    }
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags.items():
        data += b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntr" + b"RGB " + b"XYZ "
              + b"\0" * 12 + b"acsp" + b"\0" * 24 + struct.pack(">I", 0) + _xyz(0.9642, 1.0, 0.8249)[8:]
              + b"\0" * 4 + b"\0" * 44)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def huge_png(path: Path, side: int) -> Path:
    """A valid 1-bit black PNG of side × side pixels that is only a few KB on disk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" * (1 + (side + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def grey16(values: list[int]) -> Image.Image:
    return Image.fromarray(np.array([values], dtype=np.uint16))


def solid_rgb_png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    """A solid RGB PNG of any size, written fast (every row after the first repeats it: filter Up)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    width, height = size
    packer = zlib.compressobj(6)
    first = b"\0" + bytes(colour) * width
    same = b"\2" + b"\0" * (3 * width)
    idat = packer.compress(first) + b"".join(packer.compress(same) for _ in range(height - 1)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
