"""Tokenizers, pairwise ROUGE-L and LCS alignment against rouge-score itself."""

from __future__ import annotations

import string
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer
from rouge_score import tokenize as rouge_tokenize
from rouge_score.tokenizers import DefaultTokenizer

from workbench.core.errors import UserInputError
from workbench.core.similarity import (
    TOKENIZERS,
    lcs_alignment,
    lcs_length,
    non_latin_fraction,
    score,
    tokenize,
)

ROUGE_L = rouge_scorer.RougeScorer(["rougeL"])
ROUGE_L_STEM = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
STEM_TOKENIZER = DefaultTokenizer(use_stemmer=True)

# Few distinct words, so random texts share long subsequences; separators include punctuation,
# case changes and digits that rouge-score's tokenizer splits on or keeps.
WORDS = ["a", "the", "Write", "write", "list", "lists", "x1", "2", "cat", "cats", "running", "run"]
SEPS = [" ", "  ", ", ", ". ", "-", "_", "\n", "'", "!? "]
ascii_texts = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPS)), max_size=25).map(
    lambda parts: "".join(w + s for w, s in parts)
)
any_ascii = st.text(alphabet=string.printable, max_size=80)


def ref_f(a: str, b: str) -> float:
    return ROUGE_L.score(a, b)["rougeL"].fmeasure


# ------------------------------------------------------------------ tokenizers
@settings(max_examples=200, deadline=None)
@given(st.one_of(any_ascii, st.text(max_size=60)))
def test_rouge_tokenizer_is_rouge_scores(text: str) -> None:
    assert tokenize(text, "rouge") == rouge_tokenize.tokenize(text, None)


@settings(max_examples=100, deadline=None)
@given(st.one_of(ascii_texts, any_ascii))
def test_rouge_stem_tokenizer_is_rouge_scores(text: str) -> None:
    assert tokenize(text, "rouge-stem") == STEM_TOKENIZER.tokenize(text)


def test_rouge_stem_stems_only_long_tokens() -> None:
    # "cats" (4 letters) is stemmed, "was" (3) is left alone even though Porter would change it.
    assert tokenize("Cats was running", "rouge-stem") == ["cat", "was", "run"]


@settings(max_examples=150, deadline=None)
@given(any_ascii)
def test_unicode_tokenizer_agrees_with_rouge_on_ascii(text: str) -> None:
    assert tokenize(text, "unicode") == tokenize(text, "rouge")


def test_unicode_keeps_accented_words_whole() -> None:
    text = "Über den Frühling: Straßen, Äpfel und Öl."
    words = ["über", "den", "frühling", "strassen", "äpfel", "und", "öl"]
    assert tokenize(text, "unicode") == words
    # rouge-score cuts them apart, which is why the unicode tokenizer exists.
    assert tokenize(text, "rouge")[:4] == ["ber", "den", "fr", "hling"]
    # Decomposed accents (as some keyboards and macOS file names produce) give the same words.
    assert tokenize(unicodedata.normalize("NFD", text), "unicode") == tokenize(text, "unicode")


def test_unicode_splits_cjk_into_characters() -> None:
    assert tokenize("写一首诗。", "unicode") == ["写", "一", "首", "诗"]
    assert tokenize("東京タワーはとても高い", "unicode") == list("東京タワーはとても高い")
    assert tokenize("한국어 문장 GPT-4", "unicode") == ["한", "국", "어", "문", "장", "gpt", "4"]
    # Full-width Latin letters and digits are ordinary words after NFKC.
    assert tokenize("ＡＢＣ１２３的", "unicode") == ["abc123", "的"]


def test_unknown_tokenizer_is_a_clear_error() -> None:
    with pytest.raises(UserInputError, match="unknown similarity tokenizer 'bert'"):
        tokenize("x", "bert")
    with pytest.raises(UserInputError, match="rouge"):
        score("a", "a", tokenizer="nope")


def test_non_latin_fraction() -> None:
    assert non_latin_fraction("Write a poem") == 0.0
    assert non_latin_fraction("Schreibe über Frühling") == 0.0
    assert non_latin_fraction("写一首诗") == 1.0
    assert non_latin_fraction("Напиши стихотворение") == 1.0
    assert non_latin_fraction("写 ab") == pytest.approx(1 / 3)
    assert non_latin_fraction("1234 !!") == 0.0


# --------------------------------------------------------------------- score
@settings(max_examples=300, deadline=None)
@given(ascii_texts, ascii_texts)
def test_score_equals_rouge_score(a: str, b: str) -> None:
    ours = score(a, b)
    assert ours == ref_f(a, b)
    assert score(b, a) == ours


@settings(max_examples=100, deadline=None)
@given(any_ascii, any_ascii)
def test_score_equals_rouge_score_on_any_ascii(a: str, b: str) -> None:
    assert score(a, b) == ref_f(a, b)


@settings(max_examples=100, deadline=None)
@given(ascii_texts, ascii_texts)
def test_stemmed_score_equals_rouge_score(a: str, b: str) -> None:
    assert score(a, b, "rouge-stem") == ROUGE_L_STEM.score(a, b)["rougeL"].fmeasure


def test_score_zero_cases_match_rouge_score() -> None:
    for a, b in [("", ""), ("", "write"), ("write", ""), ("abc", "xyz"), ("!!", "?")]:
        assert score(a, b) == ref_f(a, b) == 0.0
    assert score("Write a poem.", "write A POEM") == 1.0


def test_identical_chinese_scores_one_only_with_unicode() -> None:
    text = "写一段描写江南春天早晨的短文，不超过一百字。"
    assert score(text, text, "unicode") == 1.0
    # rouge-score sees no tokens at all in Chinese: the reference filter passes duplicates.
    assert score(text, text, "rouge") == ref_f(text, text) == 0.0


def test_one_character_change_of_a_12_character_chinese_instruction() -> None:
    a = "写一首关于秋天的诗歌给我"
    b = "写一首关于春天的诗歌给我"
    assert len(a) == len(b) == 12
    s = score(a, b, "unicode")
    assert s > 0.7
    assert s == pytest.approx(11 / 12)  # LCS 11 of 12 and 12 tokens: 2*11/24


def test_german_umlaut_words_count_as_shared_words() -> None:
    a = "Beschreibe den Frühling in drei Sätzen."
    b = "Beschreibe den Frühling in vier Sätzen."
    assert score(a, b, "unicode") == pytest.approx(5 / 6)
    # "frühling" and "sätzen" must not match "fr" + "hling"-style fragments of other words.
    assert score("Frühling", "Fr hling", "unicode") == 0.0
    assert score("Frühling", "Fr hling", "rouge") == 1.0


# ------------------------------------------------------------- LCS alignment
def _ref_lcs(ta: list[str], tb: list[str]) -> int:
    if not ta or not tb:
        return 0
    return rouge_scorer._lcs_table(ta, tb)[-1][-1]


@settings(max_examples=200, deadline=None)
@given(ascii_texts, ascii_texts, st.sampled_from(sorted(TOKENIZERS)))
def test_lcs_alignment_is_a_longest_common_subsequence(a: str, b: str, tok: str) -> None:
    ta, tb, ia, ib = lcs_alignment(a, b, tok)
    assert ta == tokenize(a, tok) and tb == tokenize(b, tok)
    assert len(ia) == len(ib) == _ref_lcs(ta, tb) == lcs_length(ta, tb)
    assert all(x < y for x, y in zip(ia, ia[1:]))
    assert all(x < y for x, y in zip(ib, ib[1:]))
    assert [ta[i] for i in ia] == [tb[j] for j in ib]


def test_lcs_alignment_on_chinese() -> None:
    ta, tb, ia, ib = lcs_alignment("写一首关于秋天的诗", "请写一首春天的诗", "unicode")
    assert "".join(ta[i] for i in ia) == "写一首天的诗"
    assert [tb[j] for j in ib] == [ta[i] for i in ia]


@pytest.mark.parametrize(
    "a, b",
    [
        ("แปลประโยคนี้เป็นภาษาอังกฤษ", "แปลประโยคนี้เป็นภาษาจีน"),  # Thai: to English / to Chinese
        ("ແປປະໂຫຍກນີ້ເປັນພາສາອັງກິດ", "ແປປະໂຫຍກນີ້ເປັນພາສາຈີນ"),  # Lao
        ("បកប្រែប្រយោគនេះជាភាសាអង់គ្លេស", "បកប្រែប្រយោគនេះជាភាសាចិន"),  # Khmer
    ],
)
def test_scripts_without_spaces_compare_by_written_parts(a, b):
    """Thai, Lao, Khmer (and Myanmar) sentences have no spaces: one token per base letter with
    its marks, as CJK gets one per character, so one changed word is a partial match, not 0."""
    toks = tokenize(a, "unicode")
    assert len(toks) > 10 and "".join(toks) == a  # nothing lost, marks stay on their letter
    assert all(not unicodedata.category(t[0]).startswith("M") for t in toks)
    s = score(a, b, "unicode")
    assert 0.6 < s < 1.0
    assert score(a, a, "unicode") == 1.0
