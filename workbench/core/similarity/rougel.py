"""ROUGE-L between two texts, bit-exact with rouge-score, and one longest common subsequence.

rouge-score computes, for target tokens (m of them) and prediction tokens (n):
precision = lcs / n, recall = lcs / m, F = 2 * precision * recall / (precision + recall),
and 0 when either side has no tokens or nothing is shared. The same operations in the same
order give the same float, so decisions at a threshold never differ from the reference's.
F is symmetric in float arithmetic too (2 * p is exact; * and + commute), so the order of the
two texts never matters.
"""

from __future__ import annotations

import numpy as np
from rapidfuzz.distance import LCSseq

from .tokenizers import get_tokenizer

# Tokens become code points so rapidfuzz compares Python strings (converted almost for free)
# instead of lists (converted element by element on every call). Surrogates are skipped.
_SURROGATES = 0xD800
_SURROGATE_SPAN = 0x800
MAX_TOKEN_IDS = 0x110000 - _SURROGATE_SPAN - 1  # the last code point is kept as "unknown"
UNKNOWN_CHAR = chr(0x10FFFF)


def id_char(token_id: int) -> str:
    """The code point standing for token id `token_id` (never a surrogate, never UNKNOWN_CHAR)."""
    return chr(token_id if token_id < _SURROGATES else token_id + _SURROGATE_SPAN)


def f_measure(lcs: int, m: int, n: int) -> float:
    """rouge-score's F-measure from an LCS length and the two token counts, same float ops."""
    if not m or not n:
        return 0.0
    precision = lcs / n
    recall = lcs / m
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def f_measure_array(lcs: np.ndarray, m: np.ndarray | int, n: np.ndarray | int) -> np.ndarray:
    """`f_measure` elementwise (broadcasting), with identical IEEE results."""
    lcs = np.asarray(lcs)
    # In place where possible: on big score matrices, fresh temporaries cost more than the math.
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.divide(lcs, n, dtype=np.float64)  # precision
        recall = np.divide(lcs, m, dtype=np.float64)
        denom = f + recall
        np.multiply(f, 2, out=f)
        np.multiply(f, recall, out=f)
        np.divide(f, denom, out=f)
    np.copyto(f, 0.0, where=lcs == 0)  # nothing shared, or an empty side (0/0 above)
    return f


def _encode_pair(ta: list[str], tb: list[str]) -> tuple[str, str]:
    vocab = dict.fromkeys(ta)
    if len(vocab) < _SURROGATES:
        ids = dict(zip(vocab, map(chr, range(len(vocab)))))
    else:  # pragma: no cover - a text of over 55,000 distinct words
        ids = {t: id_char(i) for i, t in enumerate(vocab)}
    # Tokens only in b can match nothing in a; one shared "unknown" code point is enough.
    return "".join(map(ids.__getitem__, ta)), "".join([ids.get(t, UNKNOWN_CHAR) for t in tb])


def lcs_length(ta: list[str], tb: list[str]) -> int:
    """Length of the longest common subsequence of two token lists (bit-parallel)."""
    if not ta or not tb:
        return 0
    if len(set(ta)) > MAX_TOKEN_IDS:  # pragma: no cover - over a million distinct words
        return int(LCSseq.similarity(ta, tb))
    sa, sb = _encode_pair(ta, tb)
    return int(LCSseq.similarity(sa, sb))


def score(a: str, b: str, tokenizer: str = "rouge") -> float:
    """ROUGE-L F-measure of `a` (target) and `b` (prediction), as
    `RougeScorer(["rougeL"]).score(a, b)["rougeL"].fmeasure` computes it."""
    tok = get_tokenizer(tokenizer)
    ta, tb = tok(a), tok(b)
    return f_measure(lcs_length(ta, tb), len(ta), len(tb))


def lcs_alignment(
    a: str, b: str, tokenizer: str = "rouge"
) -> tuple[list[str], list[str], list[int], list[int]]:
    """Both token lists and the positions in each of one longest common subsequence.

    The i-th positions of the two index lists hold equal tokens, in increasing order; the
    inspector highlights them to show why two instructions scored as they did.
    """
    tok = get_tokenizer(tokenizer)
    ta, tb = tok(a), tok(b)
    ia: list[int] = []
    ib: list[int] = []
    if ta and tb:
        sa, sb = _encode_pair(ta, tb)
        for op in LCSseq.opcodes(sa, sb):
            if op.tag == "equal":
                ia.extend(range(op.src_start, op.src_end))
                ib.extend(range(op.dest_start, op.dest_end))
    return ta, tb, ia, ib
