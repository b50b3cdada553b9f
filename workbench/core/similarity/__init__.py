"""Exact ROUGE-L (rouge-score's numbers), fast: tokenizers, pairwise score, the filter's index.

    from workbench.core.similarity import SimilarityIndex, score
    index = SimilarityIndex("rouge", threads=2)
    index.add_many(seed_instructions)
    decisions = index.add_incremental(candidates, threshold=0.7, k=10)
"""
from __future__ import annotations

from .index import Decision, SimilarityIndex
from .rougel import f_measure, lcs_alignment, lcs_length, score
from .tokenizers import TOKENIZERS, get_tokenizer, non_latin_fraction, tokenize
from .workspace import index_from_workspace, workspace_tokenizer

__all__ = [
    "TOKENIZERS",
    "Decision",
    "SimilarityIndex",
    "f_measure",
    "get_tokenizer",
    "index_from_workspace",
    "lcs_alignment",
    "lcs_length",
    "non_latin_fraction",
    "score",
    "tokenize",
    "workspace_tokenizer",
]
