"""GGUF embeddings from the default model: mean-pooled, unit length, cached by model hash."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core.selection import select as sel
from workbench.core.store.tasks import Instance, Task, add_task

pytestmark = pytest.mark.model

TEXTS = [
    "Translate the sentence into French.",
    "Translate this sentence to French, please.",
    "Write a haiku about the autumn moon.",
]


def test_model_embeddings_are_cached_and_used_for_selection(tmp_workspace):
    pytest.importorskip("llama_cpp")
    from workbench.core.errors import ModelError
    from workbench.core.selection.embed import GGUFEmbedder, model_vectors

    try:
        embedder = GGUFEmbedder("default")
    except ModelError as exc:
        pytest.skip(str(exc))
    ws = tmp_workspace
    try:
        x = model_vectors(ws, TEXTS, embedder)
        assert x.shape[0] == 3 and np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-4)
        # paraphrases are closer than unrelated tasks
        assert x[0] @ x[1] > x[0] @ x[2]
        rows = ws.query("SELECT model_sha256, dim FROM embeddings")
        assert len(rows) == 3 and {r["model_sha256"] for r in rows} == {embedder.model_sha256}
        assert rows[0]["dim"] == x.shape[1]

        calls = []
        real = embedder.embed
        embedder.embed = lambda texts: (calls.append(list(texts)), real(texts))[1]
        again = model_vectors(ws, TEXTS[::-1], embedder)
        assert calls == []  # all cached: nothing embedded again, the order follows the input
        assert np.allclose(again, x[::-1], atol=1e-6)
    finally:
        embedder.close()

    for text in TEXTS:
        add_task(ws, Task(text, [Instance("", "x")], source="seed"))
    # every task text is cached now: selecting needs no model load and no new vector
    res = sel.select(ws, budget=2, embed="model", seed=0, name="emb")
    assert len(res.ids) == 2 and res.embed["embed"] == "model"
    assert res.embed["model_sha256"] == rows[0]["model_sha256"]
    assert ws.scalar("SELECT count(*) FROM embeddings") == 3
