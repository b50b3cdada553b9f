"""Final-answer extraction and comparison for CoT: the shared answer module, re-exported.

The rules live in `workbench.core.answers` (one module for CoT and SELF-CHECK, built on
math-verify for LaTeX); this name stays for callers and saved scripts that import it.
"""

from __future__ import annotations

from ..answers import (
    ANSWER_KINDS,
    NUMBER,
    OPTION,
    TEXT,
    answers_equal,
    extract_answer,
    extract_number,
    extract_option,
    gsm8k_gold,
    has_marker,
    normalize_gold,
    normalize_number,
    normalize_text,
    stated_answer,
    strip_calculator,
)

__all__ = [
    "ANSWER_KINDS",
    "NUMBER",
    "OPTION",
    "TEXT",
    "answers_equal",
    "extract_answer",
    "extract_number",
    "extract_option",
    "gsm8k_gold",
    "has_marker",
    "normalize_gold",
    "normalize_number",
    "normalize_text",
    "stated_answer",
    "strip_calculator",
]
