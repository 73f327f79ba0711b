"""Dataset uploads, good and malformed: how to build each archive and what the API must answer.

Shared by tests/test_api_datasets.py (asserts every case on SQLite and PostgreSQL) and
bench/dataset_table.py (prints the acceptance table as measured). A case is refused as a whole
(`status` 4xx with `code`) or accepted with 201 and one rejected file (`file_reason`).
The decompression bomb is a real one: a 30000x30000 1-bit PNG whose zlib stream of zero rows
is ~110 KB on disk and 112 MB decoded.
"""

from __future__ import annotations

import io
import json
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image


def png(colour: tuple[int, int, int] = (200, 30, 30), size: int = 16) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((size, size, 3), colour, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg(size: int = 16) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((size, size, 3), 90, dtype=np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (8, 8)).save(buffer, format="GIF")
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(side: int = 30000) -> bytes:
    """A valid 1-bit grayscale PNG of side x side black pixels, compressed to ~0.1% of its size."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    packer, parts = zlib.compressobj(9), []
    for _ in range(side // 100):
        parts.append(packer.compress(row * 100))
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(parts))
            + _chunk(b"IEND", b""))


def captions(*pairs: tuple[str, str]) -> bytes:
    return "\n".join(json.dumps({"file": f, "caption": c}, ensure_ascii=False)
                     for f, c in pairs).encode("utf-8")


def make_zip(members: dict[str, bytes], *, special: dict[str, int] | None = None,
             declared: dict[str, int] | None = None) -> bytes:
    """A zip of `members`; `special` gives Unix file types (e.g. stat.S_IFLNK) by name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = (special or {}).get(name, stat.S_IFREG) | 0o644
            info.create_system, info.external_attr = 3, mode << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def good_zip(n: int = 3) -> bytes:
    files = {f"img{i}.png": png((20 * i, 100, 200)) for i in range(n)}
    files["captions.jsonl"] = captions(*((f"img{i}.png", f"a blue circle {i}") for i in range(n)))
    return make_zip(files)


def _with(extra: dict[str, bytes], lines: list[tuple[str, str]], **kw) -> bytes:
    files = {"ok.png": png(), **extra}
    files["captions.jsonl"] = captions(("ok.png", "a red square"), *lines)
    return make_zip(files, **kw)


def _tar_traversal() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = b"owned"
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _many_members(n: int) -> bytes:
    return make_zip({"captions.jsonl": b"", **{f"f{i}.txt": b"" for i in range(n)}})


def _ratio_bomb() -> bytes:
    return make_zip({"captions.jsonl": b"", "zeros.png": b"\x00" * (20 << 20)})


@dataclass(frozen=True)
class Case:
    name: str  # the malformed input, as the table shows it
    build: Callable[[], bytes]
    status: int  # 201: accepted as a dataset, with `file_reason` on one file
    code: str | None = None  # error code when refused as a whole
    file: str | None = None  # the rejected file, when accepted
    file_reason: str | None = None


CASES: tuple[Case, ...] = (
    Case("zip-slip member '../../evil.png'", lambda: _with({"../../evil.png": png()}, []),
         400, "unsafe_archive_member"),
    Case("absolute path '/tmp/evil.png'", lambda: _with({"/tmp/evil.png": png()}, []),
         400, "unsafe_archive_member"),
    Case("symlink member -> /etc/passwd",
         lambda: _with({"link.png": b"/etc/passwd"}, [("link.png", "x")],
                       special={"link.png": stat.S_IFLNK}), 400, "unsafe_archive_member"),
    Case("character-device member", lambda: _with({"dev.png": b""}, [],
                                                   special={"dev.png": stat.S_IFCHR}),
         400, "unsafe_archive_member"),
    Case("tar archive with '../' member", _tar_traversal, 400, "invalid_archive"),
    Case("not an archive (plain bytes)", lambda: b"hello, not a zip", 400, "invalid_archive"),
    Case("archive bomb: 20 MiB of zeros in one member", _ratio_bomb, 413, "archive_bomb"),
    Case("6000 members", lambda: _many_members(6000), 413, "archive_too_large"),
    Case("no captions.jsonl", lambda: make_zip({"a.png": png()}), 422, "missing_captions"),
    Case("captions.jsonl line is not JSON",
         lambda: make_zip({"a.png": png(), "captions.jsonl": b'{"file": "a.png", "capt'}),
         422, "invalid_captions"),
    Case("captions.jsonl not UTF-8",
         lambda: make_zip({"a.png": png(), "captions.jsonl": b'{"file": "a.png", "caption": "\xff"}'}),
         422, "invalid_captions"),
    Case("decompression bomb: 30000x30000 PNG (~110 KB)",
         lambda: _with({"bomb.png": bomb_png()}, [("bomb.png", "a huge black square")]),
         201, file="bomb.png", file_reason="image_too_large"),
    Case("GIF image", lambda: _with({"anim.gif": gif()}, [("anim.gif", "a gif")]),
         201, file="anim.gif", file_reason="unsupported_format"),
    Case("FITS file named .png",
         lambda: _with({"sky.png": b"SIMPLE  =                    T" + b" " * 50},
                       [("sky.png", "stars")]), 201, file="sky.png",
         file_reason="unsupported_format"),
    Case("EPS file named .jpg",
         lambda: _with({"logo.jpg": b"%!PS-Adobe-3.0 EPSF-3.0\n"}, [("logo.jpg", "a logo")]),
         201, file="logo.jpg", file_reason="unsupported_format"),
    Case("truncated PNG", lambda: _with({"cut.png": png()[:60]}, [("cut.png", "a cut")]),
         201, file="cut.png", file_reason="corrupt_image"),
    Case("empty caption", lambda: _with({"b.png": png()}, [("b.png", "   ")]),
         201, file="b.png", file_reason="empty_caption"),
    Case("image without a caption", lambda: _with({"c.png": png()}, []),
         201, file="c.png", file_reason="missing_caption"),
    Case("caption for a file not in the archive", lambda: _with({}, [("ghost.png", "a ghost")]),
         201, file="ghost.png", file_reason="missing_file"),
    Case("two captions for one file",
         lambda: _with({"d.png": png()}, [("d.png", "one"), ("d.png", "two")]),
         201, file="d.png", file_reason="duplicate_caption"),
)
