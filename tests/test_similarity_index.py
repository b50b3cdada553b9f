"""SimilarityIndex against a naive loop over rouge-score's own LCS scoring."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer

from workbench.core.similarity import Decision, SimilarityIndex, tokenize
from workbench.core.similarity import index as index_module

WORDS = ["a", "the", "write", "list", "story", "poem", "x1", "2", "cat", "about"]
# Texts of 0 to 12 words from a small vocabulary: many near-duplicates, many tied scores and
# very different lengths, so thresholds, ties and the length bound all come into play.
texts = st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join)


def ref(a: str, b: str, tok: str = "rouge") -> float:
    return rouge_scorer._score_lcs(tokenize(a, tok), tokenize(b, tok)).fmeasure


def naive_filter(
    pool: list[str], candidates: list[str], threshold: float, k: int
) -> list[tuple[bool, float, list[tuple[str, float]], float]]:
    """The reference pipeline's loop: each candidate against everything kept before it."""
    pool = list(pool)
    out = []
    for c in candidates:
        s = [ref(p, c) for p in pool]
        best = max(s, default=0.0)
        order = sorted(range(len(s)), key=lambda i: (-s[i], i))[:k]
        avg = float(np.mean(s)) if s else 0.0
        kept = best <= threshold
        out.append((kept, best, [(pool[i], s[i]) for i in order], avg))
        if kept:
            pool.append(c)
    return out


def test_top_k_order_and_ties() -> None:
    index = SimilarityIndex()
    index.add_many(["b a", "a b", "a c", "A b!", "z"])
    top = index.top_k("a b", k=4)
    # Equal scores come in insertion order.
    assert top == [("a b", 1.0), ("A b!", 1.0), ("b a", 0.5), ("a c", 0.5)]
    assert index.top_k("a b", k=0) == []
    assert [t for t, _ in index.top_k("a b", k=99)] == ["a b", "A b!", "b a", "a c", "z"]
    assert index.max_score("a b") == 1.0
    assert index.scores("a b") == [0.5, 1.0, 0.5, 1.0, 0.0]
    assert index.avg_score("a b") == pytest.approx(3.0 / 5)


def test_empty_index_and_empty_texts() -> None:
    index = SimilarityIndex()
    assert len(index) == 0
    assert index.max_score("a") == 0.0 and index.avg_score("a") == 0.0
    assert index.top_k("a") == [] and index.scores("a") == []
    assert index.add("") == 0 and index.add("!!") == 1 and index.add("a") == 2
    assert len(index) == 3 and index[2] == "a"
    assert index.scores("a") == [0.0, 0.0, 1.0]
    assert index.top_k("", k=2) == [("", 0.0), ("!!", 0.0)]
    assert index.max_score("") == 0.0


def test_unseen_query_tokens_match_nothing() -> None:
    index = SimilarityIndex()
    index.add("alpha beta")
    # Two different unseen words share one placeholder; they must still not match the pool.
    assert index.scores("gamma delta alpha") == [ref("alpha beta", "gamma delta alpha")]
    assert len(index) == 1


def test_threads_argument() -> None:
    assert SimilarityIndex(threads=None).threads is None
    assert SimilarityIndex(threads=2).threads == 2
    with pytest.raises(ValueError):
        SimilarityIndex(threads=0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(texts, max_size=25),
    st.lists(texts, max_size=25),
    st.integers(min_value=1, max_value=30),
    st.integers(min_value=1, max_value=6),
)
def test_queries_match_brute_force(
    pool: list[str], queries: list[str], qchunk: int, k: int
) -> None:
    # A tiny chunk size makes the pruned paths stop early between length groups; re-ranking
    # token ids from a pool of 4 renumbers tokens between the adds.
    with (
        mock.patch.object(index_module, "_QUERY_CHUNK", qchunk),
        mock.patch.object(index_module, "_RERANK_FROM", 4),
    ):
        index = SimilarityIndex(threads=2)
        index.add_many(pool)
        for q in queries:
            s = [ref(p, q) for p in pool]
            assert index.scores(q) == s
            assert index.max_score(q) == max(s, default=0.0)
            order = sorted(range(len(s)), key=lambda i: (-s[i], i))[:k]
            assert index.top_k(q, k) == [(pool[i], s[i]) for i in order]
            assert index.avg_score(q) == (float(np.mean(s)) if s else 0.0)
        if queries:
            matrix = index.scores_many(queries)
            assert matrix.shape == (len(queries), len(pool))
            assert matrix.tolist() == [index.scores(q) for q in queries]
        full = index.pairwise()
        assert full.tolist() == [index.scores(p) for p in pool]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(texts, max_size=20),
    st.lists(texts, max_size=30),
    st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]),
    st.integers(min_value=0, max_value=5),
    st.integers(min_value=1, max_value=8),
)
def test_add_incremental_matches_naive_loop(
    pool: list[str], candidates: list[str], threshold: float, k: int, chunk: int
) -> None:
    # Small internal chunks: candidates kept in an earlier chunk must be in the pool of the next;
    # token ids are re-ranked by frequency between chunks.
    with (
        mock.patch.object(index_module, "_CHUNK", chunk),
        mock.patch.object(index_module, "_RERANK_FROM", 3),
    ):
        index = SimilarityIndex(threads=2)
        index.add_many(pool)
        got = index.add_incremental(candidates, threshold=threshold, k=k)
    want = naive_filter(pool, candidates, threshold, k)
    assert len(got) == len(want)
    for d, (kept, best, top, avg) in zip(got, want):
        assert isinstance(d, Decision)
        assert d.kept == kept
        assert d.max_score == best
        assert d.top_k == top
        assert d.avg_score == pytest.approx(avg, rel=1e-12, abs=1e-15)
    kept_texts = [c for c, d in zip(candidates, got) if d.kept]
    assert len(index) == len(pool) + len(kept_texts)
    assert [index[i] for i in range(len(pool), len(index))] == kept_texts


def test_add_incremental_compares_candidates_within_one_call() -> None:
    index = SimilarityIndex()
    index.add("write a poem about the sea")
    out = index.add_incremental(
        ["list three cats", "list three cats", "write a poem about the sea", "list 3 dogs"],
        threshold=0.7,
        k=2,
    )
    assert [d.kept for d in out] == [True, False, False, True]
    assert out[1].max_score == 1.0
    assert out[1].top_k[0] == ("list three cats", 1.0)
    assert out[0].top_k == [("write a poem about the sea", 0.0)]
    assert len(index) == 3


def test_add_incremental_across_internal_chunks() -> None:
    # More candidates than one internal chunk, with duplicates far apart.
    base = [f"task number {i} about {WORDS[i % len(WORDS)]} {i * 7}" for i in range(90)]
    candidates = base + base[:20]
    index = SimilarityIndex(threads=2)
    out = index.add_incremental(candidates, threshold=0.7, k=3)
    want = naive_filter([], candidates, 0.7, 3)
    assert [d.kept for d in out] == [w[0] for w in want]
    assert [d.max_score for d in out] == [w[1] for w in want]
    assert [d.top_k for d in out] == [w[2] for w in want]
    assert not any(d.kept for d in out[90:])


def test_rerank_gives_frequent_tokens_small_ids_and_keeps_scores() -> None:
    texts = [f"list {i} of the {i % 7} cats in the house" for i in range(300)]
    with mock.patch.object(index_module, "_RERANK_FROM", 200):
        index = SimilarityIndex(threads=2)
        index.add_many(texts[:100])
        assert index._vocab["list"] == "\x00"  # first seen
        before = index.scores_many(texts[:5])
        index.add_many(texts[100:])
        index.add("one more")  # the pool has passed 200: all codes are renumbered first
    # "the" is the commonest token, so it now has the smallest id.
    assert index._vocab["the"] == "\x00"
    assert index.scores_many(texts[:5])[:, :100].tolist() == before.tolist()
    assert index.max_score("list 3 of the 3 cats in the house") == 1.0
    assert index.top_k("list 3 of the 3 cats in the house", k=1)[0] == (texts[3], 1.0)


def test_unicode_index_filters_chinese_duplicates() -> None:
    index = SimilarityIndex("unicode")
    index.add("写一首关于秋天的诗歌给我")
    out = index.add_incremental(["写一首关于春天的诗歌给我", "把这句话翻译成英文"], threshold=0.7)
    assert [d.kept for d in out] == [False, True]
    assert out[0].max_score == pytest.approx(11 / 12)
    # The reference tokenizer keeps everything: it sees no tokens at all.
    rouge_index = SimilarityIndex("rouge")
    rouge_index.add("写一首关于秋天的诗歌给我")
    assert rouge_index.add_incremental(["写一首关于秋天的诗歌给我"], threshold=0.7)[0].kept
