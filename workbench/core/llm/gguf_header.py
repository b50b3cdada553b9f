"""A small GGUF header parser: metadata and tensor table, never the weights.

Why not `gguf.GGUFReader`: it builds numpy views for every vocabulary entry, which takes seconds
for a 49k-token vocabulary on a busy laptop (and holds the GIL, freezing the GUI). This reader
walks the same bytes with `struct` and keeps only small values; arrays of strings (the
vocabulary, the merges) are stepped over, not decoded.

Format (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md): magic "GGUF", version (u32),
tensor count (u64), metadata count (u64), metadata entries, tensor infos, padding to
`general.alignment`, tensor data. Everything is little-endian.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 8
SMALL_ARRAY = 64  # arrays up to this many items are decoded; longer ones are only skipped

# value type -> struct format (fixed-size scalars); 8 = string, 9 = array
_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9


class GGUFFormatError(ValueError):
    """The bytes are not a well-formed GGUF header (damaged, truncated, or another format)."""


@dataclass
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int  # from the start of the data section

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass
class ArrayInfo:
    """A long array stepped over without decoding: its item type and length."""

    item_type: int
    count: int


@dataclass
class GGUFHeader:
    version: int
    metadata: dict[str, Any] = field(default_factory=dict)
    tensors: list[TensorInfo] = field(default_factory=list)
    data_offset: int = 0  # where tensor data starts in the file


class _Cursor:
    def __init__(self, buf: Any, size: int) -> None:
        self.buf = buf
        self.size = size
        self.pos = 0

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.size:
            raise GGUFFormatError(
                f"the header ends inside {what} (byte {self.pos:,} of {self.size:,})"
            )

    def unpack(self, fmt: str, what: str) -> Any:
        n = struct.calcsize(fmt)
        self.need(n, what)
        value = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += n
        return value

    def string(self, what: str) -> str:
        n = self.unpack("<Q", what)
        self.need(n, what)
        raw = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def skip_string(self, what: str) -> None:
        n = self.unpack("<Q", what)
        self.need(n, what)
        self.pos += n

    def value(self, vtype: int, what: str) -> Any:
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype], what)
        if vtype == _STRING:
            return self.string(what)
        if vtype == _ARRAY:
            item_type = self.unpack("<I", what)
            count = self.unpack("<Q", what)
            if item_type == _ARRAY:
                raise GGUFFormatError(f"nested arrays in {what} are not supported")
            if count <= SMALL_ARRAY:
                return [self.value(item_type, what) for _ in range(count)]
            if item_type in _SCALARS:
                self.need(count * struct.calcsize(_SCALARS[item_type]), what)
                self.pos += count * struct.calcsize(_SCALARS[item_type])
            elif item_type == _STRING:
                if count * 8 > self.size - self.pos:
                    raise GGUFFormatError(
                        f"{what} claims {count:,} strings, more than the file holds"
                    )
                for _ in range(count):
                    self.skip_string(what)
            else:
                raise GGUFFormatError(f"unknown value type {item_type} in {what}")
            return ArrayInfo(item_type, count)
        raise GGUFFormatError(f"unknown value type {vtype} in {what}")


def read_header(path: str | Path) -> GGUFHeader:
    """Parse the header of a GGUF file. Raises GGUFFormatError (or OSError) on bad files."""
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        if size < 24:
            raise GGUFFormatError(f"the file is only {size} bytes long")
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return _parse(mm, size)


def _parse(buf: Any, size: int) -> GGUFHeader:
    cur = _Cursor(buf, size)
    if bytes(buf[:4]) != MAGIC:
        raise GGUFFormatError("it does not start with the GGUF signature")
    cur.pos = 4
    version = cur.unpack("<I", "the version")
    if version == 1:
        raise GGUFFormatError("GGUF version 1 files are too old for this llama.cpp")
    if version not in (2, 3):
        raise GGUFFormatError(f"unsupported GGUF version {version}")
    n_tensors = cur.unpack("<Q", "the tensor count")
    n_kv = cur.unpack("<Q", "the metadata count")
    # Each entry takes at least a few bytes: absurd counts mean garbage, not a huge model.
    if n_tensors * 24 > size or n_kv * 12 > size:
        raise GGUFFormatError(
            f"implausible counts ({n_tensors:,} tensors, {n_kv:,} metadata "
            "entries) for the file size"
        )
    header = GGUFHeader(version=version)
    for i in range(n_kv):
        key = cur.string(f"metadata entry {i}")
        vtype = cur.unpack("<I", f"metadata {key!r}")
        header.metadata[key] = cur.value(vtype, f"metadata {key!r}")
    for i in range(n_tensors):
        name = cur.string(f"tensor info {i}")
        n_dims = cur.unpack("<I", f"tensor {name!r}")
        if n_dims > MAX_DIMS:
            raise GGUFFormatError(f"tensor {name!r} claims {n_dims} dimensions")
        shape = tuple(cur.unpack("<Q", f"tensor {name!r}") for _ in range(n_dims))
        ggml_type = cur.unpack("<I", f"tensor {name!r}")
        offset = cur.unpack("<Q", f"tensor {name!r}")
        header.tensors.append(TensorInfo(name, shape, ggml_type, offset))
    align = header.metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(align, int) or align <= 0 or align & (align - 1):
        raise GGUFFormatError(f"invalid general.alignment {align!r}")
    header.data_offset = (cur.pos + align - 1) // align * align
    return header


def tensor_nbytes(t: TensorInfo) -> int:
    """Bytes of a tensor's data, from ggml's block sizes (KeyError for an unknown type)."""
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(t.ggml_type)]
    return t.n_elements // block * type_size
