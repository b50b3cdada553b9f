"""A workspace's similarity index, and which tokenizer its filter decisions use.

The tokenizer is recorded in the workspace the first time it is chosen, so every decision in
that workspace (and a later re-run of the filter) uses the same one, even if seeds change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

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
    choice = (
        "unicode" if _is_cjk_lang(lang) or non_latin_fraction(text) > NON_LATIN_SHARE else "rouge"
    )
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


def set_workspace_tokenizer(ws: Workspace, name: str) -> None:
    """Record `name` as the tokenizer of this workspace's ROUGE-L decisions from now on.

    Decisions already stored keep the scores they were made with (Inspect's re-filter and new
    runs use the new one). Raises UserInputError for an unknown name.
    """
    get_tokenizer(name)
    ws.set_setting(SETTING, name)


@dataclass(frozen=True)
class TokenizerCoverage:
    """How many task instructions ROUGE-L can see under a workspace's tokenizer.

    `unseen` tasks have text but no token at all (Chinese under rouge-score's tokenizer): they
    score 0.0 against everything, so dedup and the SELF-INSTRUCT filter pass them silently.
    `suggested` is a tokenizer that sees them ("unicode"), or None.
    """

    tokenizer: str
    tasks: int
    unseen: int
    suggested: str | None
    examples: tuple[str, ...] = ()  # up to 3 unseen instructions, for the message

    def message(self) -> str | None:
        """A warning for people (CLI stderr, the window's notice), or None when all are seen."""
        if not self.unseen:
            return None
        text = (
            f"ROUGE-L cannot see {self.unseen:,} of {self.tasks:,} tasks: they have no tokens "
            f"under this workspace's '{self.tokenizer}' tokenizer, so they score 0 against "
            "everything and near-duplicates among them are never dropped"
        )
        if self.suggested:
            text += (
                f". Switch the workspace to the '{self.suggested}' tokenizer "
                f"(`--tokenizer {self.suggested}` on `workbench import` or "
                "`workbench self-instruct`, or the button in Inspect)"
            )
        return text + "."

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "examples": list(self.examples), "message": self.message()}


def tokenizer_coverage(ws: Workspace, tokenizer: str | None = None) -> TokenizerCoverage:
    """Count the tasks whose instruction has no tokens under `tokenizer` (default: the
    workspace's, `workspace_tokenizer`). One pass over the task table, tokenizing each
    instruction once (about a second per 100,000 tasks)."""
    name = tokenizer or workspace_tokenizer(ws)
    tok = get_tokenizer(name)
    alt = get_tokenizer("unicode") if name != "unicode" else None
    tasks = unseen = seen_by_alt = 0
    examples: list[str] = []
    for (text,) in ws.execute("SELECT instruction FROM tasks ORDER BY id"):
        tasks += 1
        if not text or not text.strip() or tok(text):
            continue
        unseen += 1
        if len(examples) < 3:
            examples.append(" ".join(text.split())[:80])
        if alt is not None and alt(text):
            seen_by_alt += 1
    return TokenizerCoverage(
        name, tasks, unseen, "unicode" if seen_by_alt else None, tuple(examples)
    )


__all__ = [
    "SETTING",
    "TOKENIZERS",
    "TokenizerCoverage",
    "index_from_workspace",
    "set_workspace_tokenizer",
    "tokenizer_coverage",
    "workspace_tokenizer",
]
