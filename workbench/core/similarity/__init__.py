"""Exact ROUGE-L (rouge-score's numbers), fast: tokenizers, pairwise score, the pool's index.

    from workbench.core.similarity import SimilarityIndex, score
    index = SimilarityIndex("rouge", threads=2)
    index.add_many(seed_instructions)
    best = index.scores(candidate).max()       # the highest score against the pool

The SELF-INSTRUCT filter's rule (pool + earlier passing siblings of one step-1 call, a threshold)
is `selfinstruct.candidates.decide_call`, which scores through this index;
`SimilarityIndex.add_incremental` is a batch model of it for tests and benchmarks.
"""

from __future__ import annotations

from .index import Decision, SimilarityIndex
from .rougel import f_measure, lcs_alignment, lcs_length, score
from .tokenizers import TOKENIZERS, get_tokenizer, non_latin_fraction, tokenize
from .workspace import (
    TokenizerCoverage,
    index_from_workspace,
    set_workspace_tokenizer,
    tokenizer_coverage,
    workspace_tokenizer,
)

__all__ = [
    "TOKENIZERS",
    "Decision",
    "TokenizerCoverage",
    "SimilarityIndex",
    "f_measure",
    "get_tokenizer",
    "index_from_workspace",
    "lcs_alignment",
    "lcs_length",
    "non_latin_fraction",
    "score",
    "set_workspace_tokenizer",
    "tokenize",
    "tokenizer_coverage",
    "workspace_tokenizer",
]
