"""Task texts and their vectors: GGUF model embeddings (cached) or the TF-IDF fallback.

The runtime's backend is a generation context; an embedding context needs `embedding=True` at
load time, so this module loads its own (small) one, after validating the file the same way
the runtime does. Vectors are mean-pooled, L2-normalised, and cached in the workspace by
(model sha256, text sha256): re-selecting after adding tasks embeds only the new ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ModelError
from ..jobs import CancelToken, Progress, ProgressCallback, no_progress
from ..store.tasks import Task
from ..store.workspace import Workspace

if TYPE_CHECKING:
    from llama_cpp import Llama
from .tfidf import l2_normalize, tfidf_matrix

EMBEDDERS = ("tfidf", "model")
BATCH = 16  # texts per llama.cpp call and per cache transaction
MAX_CHARS = 2000  # long inputs add little to what a task is about, and cost context
N_CTX = 512


def task_text(task: Task) -> str:
    """What a task is about: its instruction and the input of its first instance."""
    first = task.instances[0].input.strip() if task.instances else ""
    text = task.instruction.strip() + ("\n" + first if first else "")
    return text[:MAX_CHARS]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class GGUFEmbedder:
    """A llama.cpp embedding context (mean pooling). One thread owns it, like any `Llama`."""

    def __init__(self, model: str | Path = "default", *, n_threads: int | None = None) -> None:
        from ..llm.factory import resolve_model
        from ..llm.gguf_info import read_model_info
        from ..llm.llamacpp import default_threads

        self.info = read_model_info(resolve_model(model))  # ModelError for bad files
        self.model_sha256 = self.info.sha256
        self._threads = n_threads or default_threads()
        self._llm: Llama | None = None  # loaded on the first text the cache does not hold

    def _load(self) -> Llama:
        import llama_cpp

        from ..llm.kernels import load_extra_bufts
        from ..llm.llamacpp import model_params, route_llama_logs

        route_llama_logs()
        try:
            # The kernel rule of the generation worker (no AMX repacking on AMX CPUs): this
            # context is loaded in-process, where a kernel fault would end the caller.
            with model_params(load_extra_bufts(self.info.path)):
                self._llm = llama_cpp.Llama(
                    model_path=self.info.path,
                    embedding=True,
                    pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
                    n_ctx=min(N_CTX, self.info.context_length or N_CTX),
                    n_batch=N_CTX,
                    n_ubatch=N_CTX,
                    n_threads=self._threads,
                    verbose=False,
                )
        except Exception as exc:
            raise ModelError(
                f"{self.info.path}: llama.cpp could not load the model for embeddings ({exc})."
            ) from exc
        return self._llm

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        llm = self._llm or self._load()
        out = []
        for t in texts:
            # truncate: llama.cpp refuses inputs longer than the context otherwise.
            vec = np.asarray(llm.embed(t or " ", normalize=False, truncate=True), dtype=np.float32)
            if vec.ndim == 2:  # a model without pooling support returns one row per token
                vec = vec.mean(axis=0)
            out.append(vec)
        return l2_normalize(np.vstack(out))

    def close(self) -> None:
        close = getattr(self._llm, "close", None) if self._llm is not None else None
        if close:
            close()


def model_vectors(
    ws: Workspace,
    texts: Sequence[str],
    embedder: GGUFEmbedder,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """Vectors for `texts` from the cache, embedding (and caching) the missing ones."""
    keys = [_sha(t) for t in texts]
    sha = embedder.model_sha256
    cached: dict[str, np.ndarray] = {}
    unique = sorted(set(keys))
    for start in range(0, len(unique), 500):
        part = unique[start : start + 500]
        for row in ws.execute(
            f"SELECT text_sha256, vector FROM embeddings WHERE model_sha256 = ? AND text_sha256 "
            f"IN ({','.join('?' * len(part))})",
            [sha, *part],
        ):
            cached[row[0]] = np.frombuffer(row[1], dtype="<f4")
    missing = [(k, t) for k, t in dict(zip(keys, texts)).items() if k not in cached]
    progress(Progress("embed", 0, len(missing), "model embeddings"))
    for start in range(0, len(missing), BATCH):
        if cancel is not None:
            cancel.check()
        batch = missing[start : start + BATCH]
        vecs = embedder.embed([t for _, t in batch])
        with ws.transaction():
            for (k, _), v in zip(batch, vecs):
                ws.execute(
                    "INSERT OR REPLACE INTO embeddings (model_sha256, text_sha256, dim, "
                    "vector) VALUES (?, ?, ?, ?)",
                    (sha, k, len(v), v.astype("<f4").tobytes()),
                )
                cached[k] = v
        progress(
            Progress("embed", min(start + BATCH, len(missing)), len(missing), "model embeddings")
        )
    return np.vstack([cached[k] for k in keys]).astype(np.float32)


@lru_cache(maxsize=4)
def _tfidf(texts: tuple[str, ...], extra: tuple[str, ...]) -> np.ndarray:
    # Pure in its inputs; re-selecting with another method or seed reuses the vectors.
    x = tfidf_matrix(list(texts), extra=list(extra))
    x.setflags(write=False)
    return x


Made = dict[str, str | None]  # what made the vectors: {"embed", "model", "model_sha256"}


def vectors(
    ws: Workspace,
    texts: Sequence[str],
    *,
    embed: str = "tfidf",
    model: str = "default",
    extra: Sequence[str] = (),
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> tuple[np.ndarray, np.ndarray, Made]:
    """(rows for `texts`, rows for `extra`, what made them: {"embed", "model", "model_sha256"})."""
    if embed == "tfidf":
        x = _tfidf(tuple(texts), tuple(extra))
        made: Made = {"embed": "tfidf", "model": None, "model_sha256": None}
        return x[: len(texts)], x[len(texts) :], made
    if embed != "model":
        from ..errors import UserInputError

        raise UserInputError(f"expected one of {', '.join(EMBEDDERS)}", field="embed")
    embedder = GGUFEmbedder(model)
    try:
        x = model_vectors(ws, list(texts), embedder, progress=progress, cancel=cancel)
        e = embedder.embed(list(extra)) if extra else np.zeros((0, x.shape[1]), np.float32)
    finally:
        embedder.close()
    return (
        x,
        e,
        {"embed": "model", "model": embedder.info.path, "model_sha256": embedder.model_sha256},
    )
