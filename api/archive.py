"""Validating a fine-tune dataset upload: a zip of PNG/JPEG images plus `captions.jsonl`.

Everything is checked from the zip's central directory and the image headers *before* anything
is decoded or written, in this order:

1. the upload is a zip (else 400 `invalid_archive`);
2. the archive as a whole: at most `max_members` entries and `max_uncompressed_bytes` declared in
   all (413 `archive_too_large`), no member over `max_ratio` times its compressed size
   (413 `archive_bomb`), and no unsafe member -- `..` or absolute paths, NUL bytes, symlinks,
   devices, FIFOs, sockets, the same name twice -- (400 `unsafe_archive_member`, each listed);
3. `captions.jsonl` (at the root, or in the archive's single top folder): present (422
   `missing_captions`), UTF-8, one JSON object {"file": ..., "caption": ...} per line (422
   `invalid_captions`, with the line);
4. each file on its own, with a reason code when rejected: PNG or JPEG by magic bytes *and* by
   Pillow's detected format (`unsupported_format`), width and height read from the header within
   `max_image_side` and `max_image_pixels` before any pixel is decoded, and Pillow's own
   MAX_IMAGE_PIXELS guard as a second fence (`image_too_large`), decodable (`corrupt_image`), a
   caption (`missing_caption`, `duplicate_caption`) that is not blank (`empty_caption`), not too
   long (`caption_too_long`), no NUL (`invalid_caption`); a caption naming no file in the archive
   is `missing_file`.

Member names are never used as paths: accepted images are re-encoded as RGB PNG (dropping any
metadata or trailing bytes) and handed back with their SHA-256, so the caller stores them by
content hash. Reads are bounded by the declared sizes, so a lying header cannot inflate memory.
Knows zip files and Pillow; knows nothing of HTTP, the store or the model.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import stat
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import IO, Any

from PIL import Image, UnidentifiedImageError

CAPTIONS = "captions.jsonl"
RATIO_FLOOR_BYTES = 1 << 20  # a member smaller than this cannot be a dangerous bomb
UNIX = 3  # ZipInfo.create_system of archives made on Unix (mode bits in external_attr)
MAGIC = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}
KNOWN_OTHERS = {b"GIF8": "GIF", b"BM": "BMP", b"RIFF": "RIFF/WebP", b"II*\x00": "TIFF",
                b"MM\x00*": "TIFF", b"SIMPLE  =": "FITS", b"%!PS": "PostScript/EPS",
                b"\xc5\xd0\xd3\xc6": "EPS", b"%PDF": "PDF", b"<svg": "SVG", b"<?xml": "XML"}


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int = 5000
    max_uncompressed_bytes: int = 500_000_000
    max_ratio: float = 200.0
    max_image_bytes: int = 20_000_000
    max_image_pixels: int = 16_777_216
    max_image_side: int = 8192
    max_caption_chars: int = 500


class ArchiveError(Exception):
    """The upload as a whole is refused: an HTTP status, a stable code, a message, details."""

    def __init__(self, status: int, code: str, message: str,
                 details: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or []


@dataclass(frozen=True)
class CheckedImage:
    png: bytes  # the image re-encoded as RGB PNG
    sha256: str  # of `png`
    width: int
    height: int
    format: str  # as uploaded: PNG or JPEG


@dataclass(frozen=True)
class Verdict:
    """One file of the upload: accepted with its caption and image, or rejected with a reason."""

    name: str
    caption: str | None = None
    image: CheckedImage | None = None
    reason: str | None = None
    message: str | None = None

    @property
    def accepted(self) -> bool:
        return self.reason is None


@dataclass
class _Captions:
    by_file: dict[str, list[str]] = field(default_factory=dict)  # path in archive -> captions
    order: list[str] = field(default_factory=list)  # files in the order captions name them


def check_archive(upload: IO[bytes], limits: ArchiveLimits) -> list[Verdict]:
    """The verdict on every file of a zip upload, or ArchiveError for the archive as a whole."""
    _harden_pillow(limits.max_image_pixels)
    try:
        with zipfile.ZipFile(upload) as archive:
            members = _members(archive, limits)
            root, captions = _read_captions(archive, members, limits)
            images = [i for i in members if i.filename != root + CAPTIONS]
            verdicts = [_check_file(archive, info, captions, limits) for info in images]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise ArchiveError(400, "invalid_archive", f"not a readable zip archive: {exc}") from exc
    named = {i.filename for i in images}
    verdicts += [Verdict(name, reason="missing_file",
                         message=f"{CAPTIONS} names '{name}', which is not in the archive")
                 for name in captions.order if name not in named]
    return verdicts


def _harden_pillow(max_pixels: int) -> None:
    """Pillow's own decompression-bomb guard, never looser than ours (it is process-wide)."""
    current = Image.MAX_IMAGE_PIXELS
    if current is None or current > max_pixels:
        Image.MAX_IMAGE_PIXELS = max_pixels


def _members(archive: zipfile.ZipFile, limits: ArchiveLimits) -> list[zipfile.ZipInfo]:
    """The archive's file entries (folders dropped), after the whole-archive checks."""
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise ArchiveError(413, "archive_too_large", f"the archive has {len(infos)} entries; "
                           f"the limit is {limits.max_members}")
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed_bytes:
        raise ArchiveError(413, "archive_too_large",
                           f"the archive unpacks to {total} bytes; the limit is "
                           f"{limits.max_uncompressed_bytes}")
    for info in infos:
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > RATIO_FLOOR_BYTES and ratio > limits.max_ratio:
            raise ArchiveError(413, "archive_bomb",
                               f"'{_shown(info.filename)}' expands {ratio:.0f} times; the limit "
                               f"is {limits.max_ratio:.0f}")
    unsafe = _unsafe_members(infos)
    if unsafe:
        listing = "; ".join(f"{d['file']}: {d['message']}" for d in unsafe[:5])
        raise ArchiveError(400, "unsafe_archive_member",
                           f"the archive has {len(unsafe)} unsafe member(s), nothing was stored: "
                           f"{listing}", unsafe)
    return [i for i in infos if not i.is_dir()]


def _unsafe_members(infos: list[zipfile.ZipInfo]) -> list[dict[str, str]]:
    seen: set[str] = set()
    found = []
    for info in infos:
        why = unsafe_reason(info)
        if why is None and info.filename in seen:
            why = "the same name appears twice in the archive"
        seen.add(info.filename)
        if why is not None:
            found.append({"file": _shown(info.orig_filename), "reason": "unsafe_archive_member",
                          "message": why})
    return found


def unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    """Why extracting this member could write outside its folder or create a special file."""
    name = info.orig_filename
    if "\x00" in name:
        return "the name contains a NUL byte"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if ".." in re.split(r"[\\/]", name):
        return "the path escapes the dataset folder ('..')"
    mode = info.external_attr >> 16
    if info.create_system == UNIX and mode:
        for test, what in ((stat.S_ISLNK, "symbolic link"), (stat.S_ISCHR, "character device"),
                           (stat.S_ISBLK, "block device"), (stat.S_ISFIFO, "FIFO"),
                           (stat.S_ISSOCK, "socket")):
            if test(mode):
                return f"{what}, not a regular file"
    return None


def _shown(name: str) -> str:
    """A member name safe to echo back: printable, at most 200 characters."""
    return "".join(c if c.isprintable() else "?" for c in name)[:200]


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes, reading at most min(declared size, limit) + 1 bytes."""
    cap = min(info.file_size, limit)
    with archive.open(info) as handle:
        data = handle.read(cap + 1)
    if len(data) > info.file_size:
        raise ArchiveError(413, "archive_bomb",
                           f"'{_shown(info.filename)}' holds more than its declared size")
    return data


def _captions_root(members: list[zipfile.ZipInfo]) -> str:
    names = {i.filename for i in members}
    if CAPTIONS in names:
        return ""
    nested = [n for n in names if n.endswith("/" + CAPTIONS) and n.count("/") == 1]
    if len(nested) == 1:
        return nested[0][: -len(CAPTIONS)]
    raise ArchiveError(422, "missing_captions",
                       f"the archive has no {CAPTIONS}: put one JSON line "
                       '{"file": "<image path>", "caption": "<text>"} per image at its root')


def _read_captions(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo],
                   limits: ArchiveLimits) -> tuple[str, _Captions]:
    root = _captions_root(members)
    info = next(i for i in members if i.filename == root + CAPTIONS)
    data = _read_member(archive, info, limits.max_uncompressed_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ArchiveError(422, "invalid_captions",
                           f"{CAPTIONS} is not valid UTF-8 (line {line}, byte 0x"
                           f"{data[exc.start]:02x})") from exc
    captions = _Captions()
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if line.strip():
            file, caption = _caption_line(line, number)
            path = root + (file[2:] if file.startswith("./") else file)
            captions.by_file.setdefault(path, []).append(caption)
            if len(captions.by_file[path]) == 1:
                captions.order.append(path)
    return root, captions


def _caption_line(line: str, number: int) -> tuple[str, str]:
    try:
        entry: Any = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ArchiveError(422, "invalid_captions",
                           f"{CAPTIONS} line {number} is not valid JSON: {exc}") from exc
    if (not isinstance(entry, dict) or not isinstance(entry.get("file"), str)
            or not isinstance(entry.get("caption"), str)):
        raise ArchiveError(422, "invalid_captions",
                           f'{CAPTIONS} line {number} must be an object with string "file" and '
                           '"caption" fields')
    return entry["file"], entry["caption"]


def _check_file(archive: zipfile.ZipFile, info: zipfile.ZipInfo, captions: _Captions,
                limits: ArchiveLimits) -> Verdict:
    name = _shown(info.filename)
    texts = captions.by_file.get(info.filename, [])
    problem = _caption_problem(texts, limits.max_caption_chars)
    if problem is None and info.flag_bits & 0x1:
        problem = ("unsupported_format", "encrypted members are not supported")
    if problem is None and info.file_size > limits.max_image_bytes:
        problem = ("image_too_large", f"{info.file_size} bytes; the limit is "
                   f"{limits.max_image_bytes}")
    if problem is not None:
        return Verdict(name, caption=texts[0] if texts else None, reason=problem[0],
                       message=problem[1])
    try:
        data = _read_member(archive, info, limits.max_image_bytes)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        return Verdict(name, caption=texts[0], reason="corrupt_image",
                       message=f"the member cannot be read from the archive: {exc}")
    checked = check_image(data, limits)
    if isinstance(checked, tuple):
        return Verdict(name, caption=texts[0].strip(), reason=checked[0], message=checked[1])
    return Verdict(name, caption=texts[0].strip(), image=checked)


def _caption_problem(texts: list[str], max_chars: int) -> tuple[str, str] | None:
    if not texts:
        return "missing_caption", f"no line of {CAPTIONS} names this file"
    if len(texts) > 1:
        return "duplicate_caption", f"{len(texts)} lines of {CAPTIONS} name this file"
    caption = texts[0].strip()
    if not caption:
        return "empty_caption", "the caption is empty or only whitespace"
    if "\x00" in caption:
        return "invalid_caption", "the caption contains a NUL character"
    if len(caption) > max_chars:
        return "caption_too_long", (f"the caption is {len(caption)} characters; the limit is "
                                    f"{max_chars}")
    return None


def sniff(data: bytes) -> str | None:
    """PNG or JPEG from the magic bytes, else None."""
    return next((fmt for magic, fmt in MAGIC.items() if data.startswith(magic)), None)


def _describe(data: bytes) -> str:
    other = next((fmt for magic, fmt in KNOWN_OTHERS.items() if data.startswith(magic)), None)
    return f"a {other} file" if other else f"an unknown format (starts with {data[:8]!r})"


def check_image(data: bytes, limits: ArchiveLimits) -> CheckedImage | tuple[str, str]:
    """The image re-encoded as RGB PNG, or (reason code, message); size checked before decoding."""
    fmt = sniff(data)
    if fmt is None:
        return "unsupported_format", f"only PNG and JPEG are accepted; this is {_describe(data)}"
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[fmt]) as image:
                return _decode(image, fmt, limits)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            return "image_too_large", f"Pillow refused it as a decompression bomb: {exc}"
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            return "corrupt_image", f"the {fmt} data cannot be decoded: {exc}"


def _decode(image: Image.Image, fmt: str, limits: ArchiveLimits) -> CheckedImage | tuple[str, str]:
    if image.format != fmt:
        return "unsupported_format", f"the bytes say {fmt} but Pillow reads {image.format}"
    width, height = image.size  # from the header; nothing is decoded yet
    if max(width, height) > limits.max_image_side or width * height > limits.max_image_pixels:
        return "image_too_large", (f"{width}x{height} pixels; the limits are "
                                   f"{limits.max_image_side} a side and "
                                   f"{limits.max_image_pixels} in all")
    image.load()
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG")
    png = out.getvalue()
    return CheckedImage(png, hashlib.sha256(png).hexdigest(), width, height, fmt)
