"""A workspace's similarity index, and which tokenizer its filter decisions use.

The tokenizer is recorded in the workspace the first time it is chosen, so every decision in
that workspace (and a later re-run of the filter) uses the same one, even if seeds change.
"""
from __future__ import annotations

from ..store.workspace import Workspace
from .index import SimilarityIndex
from .tokenizers import TOKENIZERS, get_tokenizer, non_latin_fraction

SETTING = "similarity_tokenizer"
# Languages written without spaces between words, or outside [a-z0-9] altogether.
CJK_LANGS = {"zh", "ja", "ko", "yue", "wuu", "lzh"}
# More non-Latin letters than this in the seed text: rouge-score's tokenizer would see too little.
NON_LATIN_SHARE = 0.5


def _is_cjk_lang(lang: object) -> bool:
    if not isinstance(lang, str) or not lang:
        return False
    return lang.replace("_", "-").split("-")[0].lower() in CJK_LANGS


def workspace_tokenizer(ws: Workspace) -> str:
    """The tokenizer this workspace's ROUGE-L decisions use, chosen and recorded on first use.

    An explicit setting wins; else `unicode` when the seed language is Chinese, Japanese or
    Korean or the seed tasks are mostly written in non-Latin letters, else `rouge` (the
    reference's). An empty workspace gets `rouge` without recording it, so seeds imported
    later can still decide.
    """
    chosen = ws.get_setting(SETTING)
    if chosen is not None:
        get_tokenizer(chosen)  # a clear error for a hand-edited, unknown name
        return chosen
    lang = ws.get_setting("seed_lang")
    rows = ws.execute("SELECT instruction FROM tasks WHERE source = 'seed' ORDER BY id").fetchall()
    if not rows:
        rows = ws.execute("SELECT instruction FROM tasks ORDER BY id LIMIT 1000").fetchall()
    if lang is None and not rows:
        return "rouge"
    text = "\n".join(r[0] for r in rows)
    choice = "unicode" if _is_cjk_lang(lang) or non_latin_fraction(text) > NON_LATIN_SHARE else "rouge"
    ws.set_setting(SETTING, choice)
    return choice


def index_from_workspace(
    ws: Workspace, tokenizer: str | None = None, threads: int | None = None
) -> SimilarityIndex:
    """An index of every task's instruction in the workspace, in task id order."""
    index = SimilarityIndex(tokenizer or workspace_tokenizer(ws), threads=threads)
    # Only the instruction column: iter_tasks would also load every instance, which the
    # index never reads.
    index.add_many(r[0] for r in ws.execute("SELECT instruction FROM tasks ORDER BY id"))
    return index


__all__ = ["SETTING", "TOKENIZERS", "index_from_workspace", "workspace_tokenizer"]
