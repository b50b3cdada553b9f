"""Compressed input files: `.gz` (gzip), `.bz2` (bzip2) and `.zst` (Zstandard) are opened
transparently by every reader (the hook is `common.read_bytes`).

A file is decompressed when its content starts with the format's magic bytes (gzip `1f 8b`,
bzip2 `BZh`, Zstandard `28 b5 2f fd`), whatever its name; a file *named* `.gz`/`.bz2`/`.zst`
that does not start with them is refused, so a renamed or half-downloaded file is never read as
text. `inner_name` gives the name without the compression suffix (`x.jsonl.gz` → `x.jsonl`),
which format detection uses for its extension hints.

Errors: `UserInputError` naming the file and what is wrong (not compressed data, cut short,
corrupt), with what to do.
"""

from __future__ import annotations

import bz2
import gzip
import zlib
from pathlib import Path

from ..errors import UserInputError

SUFFIXES = {
    ".gz": "gzip",
    ".gzip": "gzip",
    ".bz2": "bzip2",
    ".zst": "zstandard",
    ".zstd": "zstandard",
}
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\x28\xb5\x2f\xfd", "zstandard"))
_BZ2_BLOCKS = (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90")
_HINT = "Check the download (it may be cut short), or decompress it yourself and import the result."


def compression_of(path: Path, data: bytes) -> str | None:
    """ "gzip", "bzip2", "zstandard" or None (plain), from the content's magic bytes."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            # "BZh" could open a text file: bzip2 also has a level digit and a block magic.
            if kind == "bzip2" and not (data[3:4].isdigit() and data[4:10] in _BZ2_BLOCKS):
                continue
            return kind
    return None


def inner_name(path: Path) -> str:
    """The file name without a compression suffix (`data.jsonl.zst` → `data.jsonl`)."""
    name = path.name
    suffix = Path(name).suffix.lower()
    return name[: -len(suffix)] if suffix in SUFFIXES else name


def inner_suffix(path: Path) -> str:
    """The extension that tells the format (`.jsonl` for `data.jsonl.gz`), lower case."""
    return Path(inner_name(path)).suffix.lower()


def decompress(path: Path, data: bytes) -> bytes:
    """`data` (the bytes of `path`) decompressed when compressed; unchanged otherwise.

    Raises UserInputError when the name promises compression that the content lacks, or when
    the compressed stream is cut short or corrupt."""
    kind = compression_of(path, data)
    named = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        if named is not None:
            raise UserInputError(
                f"named {path.suffix} but not {named}-compressed data",
                path=path,
                line=1,
                hint=_HINT,
            )
        return data
    try:
        if kind == "gzip":
            return gzip.decompress(data)
        if kind == "bzip2":
            return bz2.decompress(data)
        return _zstd(path, data)
    except EOFError as exc:
        raise UserInputError(
            f"the {kind} data is cut short (the file ends mid-stream)",
            path=path,
            line=1,
            hint=_HINT,
        ) from exc
    except (OSError, ValueError, zlib.error) as exc:
        if "ended before" in str(exc):  # bz2's way of saying the stream is cut short
            raise UserInputError(
                f"the {kind} data is cut short (the file ends mid-stream)",
                path=path,
                line=1,
                hint=_HINT,
            ) from exc
        raise UserInputError(f"corrupt {kind} data ({exc})", path=path, line=1, hint=_HINT) from exc


def _zstd(path: Path, data: bytes) -> bytes:
    try:
        import zstandard
    except ImportError as exc:  # pragma: no cover - zstandard is a dependency
        raise UserInputError(
            "a Zstandard file, but the zstandard package is not installed",
            path=path,
            line=1,
            hint="Install zstandard, or decompress it with `zstd -d`.",
        ) from exc
    out = bytearray()
    try:
        dctx = zstandard.ZstdDecompressor()
        pos = 0
        # Frame by frame: files written in several frames (pzstd, appended) hold them all.
        while pos < len(data):
            obj = dctx.decompressobj()
            out += obj.decompress(data[pos:])
            if not obj.eof:
                raise EOFError
            rest = obj.unused_data
            pos = len(data) - len(rest)
            if not rest.strip(b"\x00"):
                break
    except zstandard.ZstdError as exc:
        raise ValueError(str(exc)) from exc
    return bytes(out)
