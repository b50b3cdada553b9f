"""Parity with rouge-score on every pair of real instructions (Self-Instruct seeds + user tasks).

rouge-score's reference numbers come from its own LCS code (`rouge_scorer._score_lcs`) on its own
tokenizer's output, which is what `RougeScorer.score` runs minus re-tokenizing each text per
pair; one test checks `RougeScorer.score` itself on a sample.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from rouge_score import rouge_scorer
from rouge_score import tokenize as rouge_tokenize
from rouge_score.tokenizers import DefaultTokenizer

from workbench.core.similarity import SimilarityIndex, score, tokenize

FILES = ("seed_tasks.jsonl", "user_oriented_instructions.jsonl")
THRESHOLD = 0.7


@pytest.fixture(scope="module")
def instructions(shared_data: Path) -> list[str]:
    out = []
    for name in FILES:
        with open(shared_data / "self_instruct" / name, encoding="utf-8") as fh:
            out.extend(json.loads(line)["instruction"] for line in fh if line.strip())
    assert len(out) > 400
    return out


@pytest.fixture(scope="module")
def reference(instructions: list[str]) -> np.ndarray:
    """rouge-score's F-measure for every pair (upper triangle; the diagonal is left at 0)."""
    toks = [rouge_tokenize.tokenize(t, None) for t in instructions]
    n = len(toks)
    ref = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            ref[i, j] = rouge_scorer._score_lcs(toks[i], toks[j]).fmeasure
    return ref


def test_tokens_are_rouge_scores(instructions: list[str]) -> None:
    stem = DefaultTokenizer(use_stemmer=True)
    for text in instructions:
        assert tokenize(text, "rouge") == rouge_tokenize.tokenize(text, None)
        assert tokenize(text, "rouge-stem") == stem.tokenize(text)


def test_score_every_pair(instructions: list[str], reference: np.ndarray) -> None:
    n = len(instructions)
    worst = 0.0
    decisions_differ = 0
    for i in range(n):
        a = instructions[i]
        for j in range(i + 1, n):
            ours = score(a, instructions[j])
            want = reference[i, j]
            worst = max(worst, abs(ours - want))
            decisions_differ += (ours > THRESHOLD) != (want > THRESHOLD)
    assert worst <= 1e-12
    assert decisions_differ == 0


def test_index_scores_every_pair(instructions: list[str], reference: np.ndarray) -> None:
    index = SimilarityIndex(threads=2)
    for i, text in enumerate(instructions):
        if i:
            got = np.array(index.scores(text))
            want = reference[:i, i]
            assert np.abs(got - want).max() <= 1e-12, text
            assert np.array_equal(got > THRESHOLD, want > THRESHOLD)
        index.add(text)


def test_pairwise_matrix(instructions: list[str], reference: np.ndarray) -> None:
    index = SimilarityIndex(threads=2)
    index.add_many(instructions)
    full = index.pairwise()
    upper = np.triu_indices(len(instructions), 1)
    assert np.abs(full[upper] - reference[upper]).max() <= 1e-12
    assert np.array_equal(full, full.T)
    assert np.all(np.diagonal(full) == 1.0)


def test_filter_decisions_over_the_real_pool(
    instructions: list[str], reference: np.ndarray
) -> None:
    """The filter kept exactly what the reference loop (rouge-score, threshold 0.7) keeps."""
    # The real tasks are mostly distinct; repeats make the filter drop something.
    rng = random.Random(7)
    stream = list(range(len(instructions))) + rng.sample(range(len(instructions)), 60)
    full = reference + reference.T + np.eye(len(instructions))
    kept: list[int] = []
    want = []
    for c in stream:
        best = max((full[p, c] for p in kept), default=0.0)
        want.append((best <= THRESHOLD, best))
        if best <= THRESHOLD:
            kept.append(c)
    index = SimilarityIndex(threads=2)
    got = index.add_incremental([instructions[c] for c in stream], threshold=THRESHOLD)
    assert [d.kept for d in got] == [bool(w[0]) for w in want]
    assert np.abs(np.array([d.max_score for d in got]) - [w[1] for w in want]).max() <= 1e-12
    assert sum(not d.kept for d in got) >= 60


def test_rouge_scorer_score_itself_on_a_sample(instructions: list[str]) -> None:
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    rng = random.Random(3)
    for _ in range(300):
        a, b = rng.sample(instructions, 2)
        assert abs(score(a, b) - scorer.score(a, b)["rougeL"].fmeasure) <= 1e-12


def test_stemmed_scores_on_a_sample(instructions: list[str]) -> None:
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    rng = random.Random(5)
    for _ in range(200):
        a, b = rng.sample(instructions, 2)
        assert abs(score(a, b, "rouge-stem") - scorer.score(a, b)["rougeL"].fmeasure) <= 1e-12
