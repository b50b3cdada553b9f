"""k-means (k-means++ seeding, Lloyd iterations) on L2-normalised rows, seeded and deterministic."""

from __future__ import annotations

import numpy as np

MAX_ITER = 100


def kmeans(
    x: np.ndarray, n_clusters: int, *, rng: np.random.Generator, max_iter: int = MAX_ITER
) -> tuple[np.ndarray, np.ndarray]:
    """(labels, centers). Squared Euclidean distance, which on unit rows orders like cosine."""
    n = len(x)
    n_clusters = max(1, min(n_clusters, n))
    sq = (x * x).sum(axis=1)
    centers = np.empty((n_clusters, x.shape[1]), dtype=np.float64)
    centers[0] = x[int(rng.integers(n))]
    d2 = np.maximum(sq - 2 * x @ centers[0] + centers[0] @ centers[0], 0)
    for c in range(1, n_clusters):
        total = d2.sum()
        idx = int(rng.choice(n, p=d2 / total)) if total > 0 else int(rng.integers(n))
        centers[c] = x[idx]
        d2 = np.minimum(d2, np.maximum(sq - 2 * x @ centers[c] + centers[c] @ centers[c], 0))
    labels = np.full(n, -1)
    for _ in range(max_iter):
        dist = sq[:, None] - 2 * x @ centers.T + (centers * centers).sum(axis=1)[None, :]
        new = np.argmin(dist, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        for c in range(n_clusters):
            members = x[labels == c]
            if len(members):
                centers[c] = members.mean(axis=0)
            else:  # an empty cluster takes the point farthest from its center
                far = int(np.argmax(dist[np.arange(n), labels]))
                centers[c] = x[far]
                labels[far] = c
    return labels, centers
