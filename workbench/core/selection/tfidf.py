"""TF-IDF vectors: the cheap lexical embedding used when no model is loaded (and in tests).

Sublinear term frequency and smoothed idf, reduced to LSA_DIM dimensions by a truncated SVD
(latent semantic analysis), rows L2-normalised, so a dot product is the cosine similarity, as
with the model embeddings. Raw TF-IDF rows are nearly orthogonal (every distance close to 1),
which leaves coverage no room to differ; on the Self-Instruct seed + user-oriented tasks, LSA
turned k-center's edge over random from within noise into a clear one. Tokens come from the
CJK-aware tokenizer that the similarity package uses, so Chinese tasks get useful vectors too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..similarity.tokenizers import tokenize

MAX_FEATURES = 8192
# Above this many matrix cells the vectors are projected to PROJECTED_DIM dimensions with a
# seeded Gaussian matrix (distances are kept approximately; memory stays ~n x 512 floats).
DENSE_CELLS = 32_000_000
PROJECTED_DIM = 512
CHUNK = 2048
LSA_DIM = 64


def tfidf_matrix(
    texts: Sequence[str],
    *,
    extra: Sequence[str] = (),
    max_features: int = MAX_FEATURES,
    tokenizer: str = "unicode",
    lsa_dim: int | None = LSA_DIM,
) -> np.ndarray:
    """One L2-normalised row per text in `texts` + `extra` (extra texts share the vocabulary
    and idf of `texts`, e.g. a target task description)."""
    docs = [Counter(tokenize(t, tokenizer)) for t in texts]
    df: Counter[str] = Counter()
    for d in docs:
        df.update(d.keys())
    n = max(len(docs), 1)
    # Most frequent terms first (ties alphabetical, so the vocabulary is deterministic).
    vocab_terms = [t for t, _ in sorted(df.items(), key=lambda kv: (-kv[1], kv[0]))[:max_features]]
    vocab = {t: i for i, t in enumerate(vocab_terms)}
    idf = np.log((1 + n) / (1 + np.array([df[t] for t in vocab_terms], dtype=np.float64))) + 1.0
    all_docs = docs + [Counter(tokenize(t, tokenizer)) for t in extra]
    dim = len(vocab)
    project = len(all_docs) * max(dim, 1) > DENSE_CELLS
    rng = np.random.default_rng(0)
    proj = (
        rng.standard_normal((dim, PROJECTED_DIM)).astype(np.float32) / np.sqrt(PROJECTED_DIM)
        if project
        else None
    )
    out = np.zeros((len(all_docs), PROJECTED_DIM if project else max(dim, 1)), dtype=np.float32)
    for start in range(0, len(all_docs), CHUNK):
        block = np.zeros((min(CHUNK, len(all_docs) - start), max(dim, 1)), dtype=np.float32)
        for r, d in enumerate(all_docs[start : start + CHUNK]):
            for term, tf in d.items():
                j = vocab.get(term)
                if j is not None:
                    block[r, j] = (1.0 + np.log(tf)) * idf[j]
        out[start : start + len(block)] = block @ proj if proj is not None else block
    out = l2_normalize(out)
    if lsa_dim and min(out.shape) > lsa_dim:
        out = lsa(out, len(docs), lsa_dim)
    return out


def lsa(
    x: np.ndarray, n_fit: int, dim: int, *, oversample: int = 10, power_iters: int = 4
) -> np.ndarray:
    """Rows of `x` projected on the top `dim` right singular vectors of its first `n_fit` rows
    (randomised SVD, seeded: the same input gives the same vectors), L2-normalised."""
    fit = x[:n_fit].astype(np.float64)
    rng = np.random.default_rng(0)
    q = fit @ rng.standard_normal((fit.shape[1], dim + oversample))
    for _ in range(power_iters):
        q, _ = np.linalg.qr(fit @ (fit.T @ q))
    q, _ = np.linalg.qr(q)
    _, _, vt = np.linalg.svd(q.T @ fit, full_matrices=False)
    comps = vt[:dim]
    # Fix each component's sign (largest loading positive) so results do not flip between
    # LAPACK builds.
    signs = np.sign(comps[np.arange(dim), np.argmax(np.abs(comps), axis=1)])
    comps *= np.where(signs == 0, 1.0, signs)[:, None]
    return l2_normalize((x.astype(np.float64) @ comps.T).astype(np.float32))


def l2_normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    # An empty text (no known token) stays a zero row: distance 1 to everything.
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)
