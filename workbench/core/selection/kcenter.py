"""k-center greedy: repeatedly take the point farthest from everything chosen so far.

A 2-approximation of the minimax cover (the largest distance from any point to its nearest
chosen one), which is what "a small subset that covers the space" means. Distances are cosine
distances (1 - dot) over L2-normalised rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def distances_to(x: np.ndarray, center: np.ndarray) -> np.ndarray:
    return np.clip(1.0 - x @ center, 0.0, 2.0)


def kcenter_greedy(
    x: np.ndarray,
    k: int,
    *,
    first: int | None = None,
    rng: np.random.Generator | None = None,
    already: Sequence[int] = (),
) -> list[int]:
    """Indices of `k` rows of `x` in the order chosen. The first is `first`, else the row
    nearest the mean (deterministic), unless `already` chosen rows seed the cover."""
    n = len(x)
    k = min(k, n - len(already))
    if k <= 0:
        return []
    min_d = np.full(n, np.inf, dtype=np.float64)
    for i in already:
        min_d = np.minimum(min_d, distances_to(x, x[i]))
    chosen: list[int] = []
    if not len(already):
        if first is None:
            if rng is not None:
                first = int(rng.integers(n))
            else:
                mean = x.mean(axis=0)
                first = int(np.argmax(x @ mean))
        chosen.append(first)
        min_d = np.minimum(min_d, distances_to(x, x[first]))
    for i in list(already) + chosen:
        min_d[i] = -1.0  # never chosen twice
    while len(chosen) < k:
        nxt = int(np.argmax(min_d))  # ties: the lowest index, so runs are deterministic
        chosen.append(nxt)
        min_d = np.minimum(min_d, distances_to(x, x[nxt]))
        min_d[chosen] = -1.0
    return chosen
