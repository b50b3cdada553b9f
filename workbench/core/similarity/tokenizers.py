"""Tokenizers for ROUGE-L: rouge-score's own (bit-exact) and a CJK-aware Unicode one.

rouge-score keeps only `[a-z0-9]`, so Chinese or Japanese text has no tokens at all (every pair
scores 0.0 and the Self-Instruct filter does nothing) and "über" becomes "ber". The `unicode`
tokenizer treats each Han, Hiragana, Katakana and Hangul character as a word (these scripts do
not separate words with spaces), each Thai, Lao, Khmer or Myanmar base letter with its marks as
one, and keeps other scripts' words whole, combining marks included (Hindi, Tamil, Bengali,
vocalised Arabic and Hebrew write vowels as separate mark code points).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

import regex  # type: ignore[import-untyped]  # no stubs in the lock (types-regex)

from ..errors import UserInputError

# rouge_score.tokenize.tokenize lowercases, turns every run of non-[a-z0-9] into a space, splits
# on whitespace and drops empty tokens: exactly the runs of [a-z0-9] in the lowercased text.
_ROUGE_TOKEN = re.compile(r"[a-z0-9]+")
_ROUGE_VALID = re.compile(r"^[a-z0-9]+$")

# Scripts written without spaces between words, as code point ranges (ideographs with their
# extensions, radicals and iteration marks; kana with their supplements; Hangul syllables and jamo).
_CJK_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x2FDF),  # CJK radicals supplement, Kangxi radicals
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3021, 0x3029),  # Hangzhou numerals
    (0x3038, 0x303B),
    (0x3041, 0x30FF),  # Hiragana, Katakana
    (0x3131, 0x318F),  # Hangul compatibility jamo
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul jamo extended-A
    (0xAC00, 0xD7FF),  # Hangul syllables, jamo extended-B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # halfwidth Katakana (NFKC maps most away; kept for safety)
    (0xFFA0, 0xFFDC),  # halfwidth Hangul
    (0x1B000, 0x1B16F),  # Kana supplement and extensions
    (0x20000, 0x3134F),  # CJK extensions B to G
)
_CJK_CLASS = "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in _CJK_RANGES)
# Southeast Asian scripts, also written without spaces between words but with combining vowel
# and tone marks: one token per written syllable-part (a base letter with the marks on it), the
# way CJK gets one per character. Without this a whole Thai sentence was a single token.
_SEGMENTED_RANGES = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer symbols
)
_SEG_MARKS = "".join(
    re.escape(chr(c))
    for lo, hi in _SEGMENTED_RANGES
    for c in range(lo, hi + 1)
    if unicodedata.category(chr(c)).startswith("M")
)
_SEG_CLASS = "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in _SEGMENTED_RANGES)
# One CJK character; one base letter of those scripts with its marks; or a run of letters,
# digits and combining marks (\p{M}) of any other script. Python's `\w` excludes combining
# marks, so Devanagari "पानी" (प + ा + न + ी) and "पेन" (प + े + न) both became "प", "न" and two
# different Hindi tasks scored ROUGE-L 1.0; Tamil, Bengali, vocalised Arabic and pointed Hebrew
# broke the same way. "_" is not part of a word (rouge-score splits on it too, so ASCII text
# tokenizes the same). A mark of a script without spaces belongs to the base letter before it.
_UNICODE_TOKEN = regex.compile(
    f"[{_CJK_CLASS}]|[{_SEG_CLASS}][{_SEG_MARKS}]*|"
    f"[[\\p{{L}}\\p{{N}}\\p{{M}}]--[{_CJK_CLASS}{_SEG_CLASS}]]+",
    regex.VERSION1,
)


def _rouge(text: str) -> list[str]:
    return _ROUGE_TOKEN.findall(text.lower())


@lru_cache(maxsize=1)
def _porter() -> Callable[[str], str]:
    # The same stemmer object rouge-score builds for use_stemmer=True (NLTK's Porter, default mode).
    from nltk.stem import porter

    return porter.PorterStemmer().stem


@lru_cache(maxsize=200_000)
def _stem(token: str) -> str:
    # Stemming dominates tokenizing time; a vocabulary is small, so memoise per word.
    return _porter()(token) if len(token) > 3 else token


def _rouge_stem(text: str) -> list[str]:
    # rouge-score stems only tokens longer than 3 characters, then drops any stem that is not
    # [a-z0-9]+ (the final filter in rouge_score.tokenize.tokenize).
    return [s for s in map(_stem, _ROUGE_TOKEN.findall(text.lower())) if _ROUGE_VALID.match(s)]


def _unicode(text: str) -> list[str]:
    # NFKC first: full-width Latin and digits become ASCII, and decomposed accents ("u" + U+0308)
    # compose, so "über" is one word however it was typed.
    return _UNICODE_TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "rouge": _rouge,
    "rouge-stem": _rouge_stem,
    "unicode": _unicode,
}


def get_tokenizer(name: str) -> Callable[[str], list[str]]:
    """The tokenizer function called `name`; a clear error for an unknown name."""
    try:
        return TOKENIZERS[name]
    except KeyError:
        raise UserInputError(
            f"unknown similarity tokenizer {name!r}",
            field="similarity_tokenizer",
            hint=f"Use one of: {', '.join(TOKENIZERS)}.",
        ) from None


def tokenize(text: str, tokenizer: str = "rouge") -> list[str]:
    """Split `text` into the tokens ROUGE-L compares (see `TOKENIZERS`)."""
    return get_tokenizer(tokenizer)(text)


def non_latin_fraction(text: str) -> float:
    """Share of the letters in `text` outside the Latin script (0.0 when it has no letters).

    rouge-score's tokenizer sees nothing but ASCII letters and digits, so text that is mostly
    Cyrillic, Greek, Arabic or CJK needs the `unicode` tokenizer.
    """
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    latin = sum(1 for ch in letters if ch.isascii() or unicodedata.name(ch, "").startswith("LATIN"))
    return 1.0 - latin / len(letters)
