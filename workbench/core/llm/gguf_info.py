"""Model metadata read from a GGUF header without loading the weights.

Every path is checked here before llama.cpp sees it: llama.cpp can abort the process or hang on
a truncated or mislabelled file, so a bad file must be refused by us, with a message that names
it. The sha256 (slow on big files) is cached by (path, size, mtime).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import platformdirs

from ..errors import ModelError
from .gguf_header import GGUFFormatError, read_header, tensor_nbytes

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)  # shared through the memo cache below
class ModelInfo:
    path: str
    architecture: str
    name: str | None
    parameters: int
    quantization: str
    context_length: int | None
    has_chat_template: bool
    chat_template: str | None
    file_size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def parameters_human(self) -> str:
        n = self.parameters
        for unit, div in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
            if n >= div:
                return f"{n / div:.1f}{unit}"
        return str(n)


def _known_architectures() -> set[str]:
    from gguf.constants import MODEL_ARCH_NAMES

    return set(MODEL_ARCH_NAMES.values())


def _cache_file() -> Path:
    return Path(platformdirs.user_cache_dir("instruction-workbench")) / "sha256.json"


def file_sha256(path: str | Path) -> str:
    """sha256 of a file, cached by absolute path, size and mtime."""
    p = Path(path).resolve()
    st = p.stat()
    key = f"{p}|{st.st_size}|{st.st_mtime_ns}"
    cache_path = _cache_file()
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    if key in cache:
        return cache[key]
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    cache[key] = digest
    try:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(cache))
        os.replace(tmp, cache_path)
    except OSError:  # a read-only cache dir only costs time
        pass
    return digest


def read_model_info(path: str | Path, *, with_hash: bool = True) -> ModelInfo:
    """Read and validate a GGUF file's metadata; ModelError names the file and the problem.

    Results are memoised by (path, size, mtime): the GUI asks again and again, and the header of a
    big-vocabulary model still takes tens of milliseconds to walk.
    """
    p = Path(path).expanduser()
    try:
        st = p.stat()
    except OSError:
        st = None
    if st is not None and p.is_file():
        key = (str(p.resolve()), st.st_size, st.st_mtime_ns, with_hash)
        if key not in _INFO_CACHE:
            _INFO_CACHE[key] = _read_model_info(p, with_hash)
        return _INFO_CACHE[key]
    return _read_model_info(p, with_hash)


_INFO_CACHE: dict[tuple, ModelInfo] = {}


def _read_model_info(p: Path, with_hash: bool) -> ModelInfo:
    if not p.exists():
        raise ModelError(
            f"{p}: no such model file.", hint="Check the path, or use --model default."
        )
    if p.is_dir():
        raise ModelError(f"{p}: is a folder; choose a .gguf model file.")
    size = p.stat().st_size
    try:
        with open(p, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ModelError(f"{p}: cannot be read ({exc.strerror or exc}).") from exc
    if magic != GGUF_MAGIC:
        raise ModelError(
            f"{p}: not a GGUF model file (it does not start with the GGUF signature).",
            hint="llama.cpp needs a .gguf file; convert other formats with llama.cpp's "
            "convert_hf_to_gguf.py.",
        )
    try:
        header = read_header(p)
    except (GGUFFormatError, OSError) as exc:
        raise ModelError(
            f"{p}: the GGUF file is damaged or truncated ({exc}).",
            hint="Download or copy the model again.",
        ) from exc
    meta = header.metadata
    try:
        # Tensor data must lie inside the file: a cut-off download fails here, not in llama.cpp.
        end = max(
            (header.data_offset + t.offset + tensor_nbytes(t) for t in header.tensors),
            default=header.data_offset,
        )
    except (KeyError, ValueError) as exc:
        raise ModelError(
            f"{p}: a tensor has a type this llama.cpp does not know ({exc}).",
            hint="Update llama-cpp-python, or choose another model.",
        ) from exc
    if end > size:
        raise ModelError(
            f"{p}: the GGUF file is truncated ({size:,} bytes; its tensors need {end:,}).",
            hint="Download or copy the model again.",
        )
    arch = meta.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise ModelError(f"{p}: the GGUF file names no architecture (general.architecture).")
    if arch not in _known_architectures():
        raise ModelError(
            f"{p}: unknown model architecture {arch!r}; this llama.cpp cannot run it.",
            hint="Update llama-cpp-python, or choose another model.",
        )
    ctx = meta.get(f"{arch}.context_length")
    if ctx is not None and (not isinstance(ctx, int) or isinstance(ctx, bool) or ctx <= 0):
        raise ModelError(f"{p}: invalid {arch}.context_length {ctx!r} in the GGUF metadata.")
    ftype = meta.get("general.file_type")
    try:
        from gguf.constants import LlamaFileType

        quant = (
            LlamaFileType(int(ftype)).name.removeprefix("MOSTLY_")
            if ftype is not None
            else "unknown"
        )
    except (ValueError, TypeError):
        quant = f"type {ftype}"
    template = meta.get("tokenizer.chat_template")
    template = template if isinstance(template, str) and template else None
    name = meta.get("general.name")
    params = sum(t.n_elements for t in header.tensors)
    return ModelInfo(
        path=str(p.resolve()),
        architecture=arch,
        name=name if isinstance(name, str) else None,
        parameters=params,
        quantization=quant,
        context_length=ctx,
        has_chat_template=template is not None,
        chat_template=template,
        file_size=size,
        sha256=file_sha256(p) if with_hash else "",
    )
