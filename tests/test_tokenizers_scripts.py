"""The `unicode` tokenizer on scripts whose vowels are separate combining marks (issue 19.4):
words keep their marks (Hindi, Tamil, Bengali, vocalised Arabic, pointed Hebrew), scripts
without spaces keep one token per character or written part, and the CLI's dedup follows."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.similarity import score, tokenize

# "Write about water" / "An article about a pen": two different tasks whose words differ only in
# their vowel signs, which the old `\w` tokenizer dropped (both were प न क ब र म ल ख: ROUGE-L 1.0).
HINDI_A = "पानी के बारे में लिखो"
HINDI_B = "पेन के बारे में लेख"


@pytest.mark.parametrize(
    "text",
    [
        "पानी",
        "पेन",
        HINDI_A,
        "தமிழ் மொழியில் ஒரு கவிதை எழுது",  # Tamil
        "বাংলা ভাষায় একটি গল্প লেখো",  # Bengali
        "كَتَبَ الوَلَدُ رِسَالَةً",  # vocalised Arabic
        "שָׁלוֹם עוֹלָם",  # pointed Hebrew
    ],
)
def test_words_keep_their_combining_marks(text):
    words = text.split(" ")
    assert tokenize(text, "unicode") == [unicodedata.normalize("NFKC", w) for w in words]


def test_two_different_hindi_tasks_score_word_level():
    assert score(HINDI_A, HINDI_B, "unicode") == pytest.approx(0.6)  # 3 of 5 words in order
    assert tokenize("पानी", "unicode") != tokenize("पेन", "unicode")


@pytest.mark.parametrize(
    "a, b",
    [
        ("தண்ணீர் பற்றி எழுது", "தண்ணீர் பற்றி பேசு"),  # Tamil: write / talk about water
        ("পানি নিয়ে লেখো", "পেন নিয়ে লেখো"),  # Bengali
        ("اُكْتُبْ عَنِ المَاءِ", "اُكْتُبْ عَنِ القَلَمِ"),  # Arabic: about water / the pen
        ("כְּתֹב עַל מַיִם", "כְּתֹב עַל עֵט"),  # Hebrew
    ],
)
def test_one_changed_word_is_a_partial_match(a, b):
    s = score(a, b, "unicode")
    assert s == pytest.approx(2 / 3)


def test_scripts_without_spaces_keep_the_character_rule():
    assert tokenize("写一首诗。", "unicode") == ["写", "一", "首", "诗"]
    toks = tokenize("แปลประโยคนี้", "unicode")
    assert "".join(toks) == "แปลประโยคนี้" and len(toks) > 5


# ------------------------------------------------------------------ generated variations
def _syllables(consonants: range, marks: list[str]) -> st.SearchStrategy[str]:
    cons = st.sampled_from([chr(c) for c in consonants if unicodedata.category(chr(c)) == "Lo"])
    return st.tuples(cons, st.sampled_from(["", *marks])).map("".join)


_SCRIPTS = {
    "devanagari": _syllables(
        range(0x0915, 0x0939), ["ा", "ि", "ी", "ु", "ू", "े", "ै", "ो", "ौ", "्", "ं"]
    ),
    "tamil": _syllables(range(0x0B95, 0x0BB9), ["ா", "ி", "ீ", "ு", "ூ", "ெ", "ே", "ை", "்"]),
    "bengali": _syllables(range(0x0995, 0x09B9), ["া", "ি", "ী", "ু", "ূ", "ে", "ৈ", "্"]),
    "arabic": _syllables(range(0x0628, 0x064A), ["َ", "ُ", "ِ", "ْ", "ّ"]),
    "hebrew": _syllables(range(0x05D0, 0x05EA), ["ַ", "ָ", "ֶ", "ֵ", "ִ", "ֹ", "ּ"]),
}


@st.composite
def _sentence(draw) -> tuple[str, list[str]]:
    syl = _SCRIPTS[draw(st.sampled_from(sorted(_SCRIPTS)))]
    words = draw(
        st.lists(st.lists(syl, min_size=1, max_size=4).map("".join), min_size=1, max_size=6)
    )
    sep = draw(st.sampled_from([" ", "  ", ", ", "\n", " - ", "। "]))
    return sep.join(words), words


@settings(max_examples=200, deadline=None)
@given(_sentence())
def test_any_word_of_a_marked_script_is_one_token(sample):
    text, words = sample
    assert tokenize(text, "unicode") == [unicodedata.normalize("NFKC", w).casefold() for w in words]


@settings(max_examples=100, deadline=None)
@given(_sentence(), _sentence())
def test_different_words_never_score_one(x, y):
    (a, wa), (b, wb) = x, y
    norm = [unicodedata.normalize("NFKC", w) for w in wa] != [
        unicodedata.normalize("NFKC", w) for w in wb
    ]
    assert (score(a, b, "unicode") < 1.0) == norm


# ------------------------------------------------------------------ issue 19 through the CLI
def test_import_dedup_keeps_the_second_hindi_task(tmp_path, capsys):
    from workbench.cli import main
    from workbench.core.store.workspace import Workspace

    ws = str(tmp_path / "hi.sqlite")
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(
        json.dumps(
            [{"instruction": HINDI_A, "input": "", "output": "पानी जीवन है।"}], ensure_ascii=False
        ),
        encoding="utf-8",
    )
    second.write_text(
        json.dumps(
            [{"instruction": HINDI_B, "input": "", "output": "पेन लिखता है।"}], ensure_ascii=False
        ),
        encoding="utf-8",
    )
    assert main(["init", ws, "--empty", "--json"]) == 0
    assert main(["import", str(first), "-w", ws, "--json"]) == 0
    capsys.readouterr()
    assert main(["import", str(second), "-w", ws, "--dedup-rouge", "0.7", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["imported"] == 1 and out["skipped_similar"] == 0, out
    with Workspace.open(tmp_path / "hi.sqlite") as w:
        from workbench.core.similarity import index_from_workspace, workspace_tokenizer

        assert workspace_tokenizer(w) == "unicode"
        index = index_from_workspace(w)
    # What Inspect shows as the neighbour score: word-level, not 1.0.
    assert index.scores(HINDI_B)[0] == pytest.approx(0.6)
