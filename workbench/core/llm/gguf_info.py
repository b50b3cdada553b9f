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


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    if field is None:
        return None
    try:
        return field.contents()
    except Exception:  # a value of an unexpected type: treat as absent, validated by callers
        return None


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

    Parsing a header walks the whole vocabulary (seconds on a busy machine, holding the GIL), so
    results are memoised by (path, size, mtime): opening the same model again costs nothing.
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
        raise ModelError(f"{p}: no such model file.", hint="Check the path, or use --model default.")
    if p.is_dir():
        raise ModelError(f"{p}: is a folder; choose a .gguf model file.")
    size = p.stat().st_size
    with open(p, "rb") as fh:
        magic = fh.read(4)
    if magic != GGUF_MAGIC:
        raise ModelError(
            f"{p}: not a GGUF model file (it does not start with the GGUF signature).",
            hint="llama.cpp needs a .gguf file; convert other formats with llama.cpp's "
            "convert_hf_to_gguf.py.",
        )
    try:
        from gguf import GGUFReader

        reader = GGUFReader(str(p), "r")
    except Exception as exc:  # the reader raises many kinds of errors on damaged headers
        raise ModelError(
            f"{p}: the GGUF file is damaged or truncated ({type(exc).__name__}: {exc}).",
            hint="Download or copy the model again.",
        ) from exc
    try:
        # Tensor data must lie inside the file: a cut-off download fails here, not in llama.cpp.
        end = max((int(t.data_offset) + int(t.n_bytes) for t in reader.tensors), default=0)
        if end > size:
            raise ModelError(
                f"{p}: the GGUF file is truncated ({size:,} bytes; its tensors need {end:,}).",
                hint="Download or copy the model again.",
            )
        arch = _field(reader, "general.architecture")
        if not isinstance(arch, str) or not arch:
            raise ModelError(f"{p}: the GGUF file names no architecture (general.architecture).")
        if arch not in _known_architectures():
            raise ModelError(
                f"{p}: unknown model architecture {arch!r}; this llama.cpp cannot run it.",
                hint="Update llama-cpp-python, or choose another model.",
            )
        ctx = _field(reader, f"{arch}.context_length")
        if ctx is not None and (not isinstance(ctx, int) or ctx <= 0):
            raise ModelError(f"{p}: invalid {arch}.context_length {ctx!r} in the GGUF metadata.")
        ftype = _field(reader, "general.file_type")
        try:
            from gguf.constants import LlamaFileType

            quant = LlamaFileType(int(ftype)).name.removeprefix("MOSTLY_") if ftype is not None \
                else "unknown"
        except (ValueError, TypeError):
            quant = f"type {ftype}"
        template = _field(reader, "tokenizer.chat_template")
        template = template if isinstance(template, str) else None
        name = _field(reader, "general.name")
        params = sum(int(t.n_elements) for t in reader.tensors)
    finally:
        del reader  # drop the memory map promptly
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
