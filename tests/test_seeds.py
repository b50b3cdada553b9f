"""The bundled seed task sets (seeds/en.jsonl, seeds/zh.jsonl): valid, diverse, ours, usable by
`init`.

The checks follow the Self-Instruct filter: no two instructions of a set may have ROUGE-L >= 0.7,
no instruction may use the blacklisted words, and the English set must not echo the reference
Self-Instruct seeds (ROUGE-L >= 0.7 against any of them).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from rouge_score import rouge_scorer

from workbench.core.formats.selfinstruct_seed import read_seed_jsonl

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
THRESHOLD = 0.7
EN_TASKS = 175
EN_CLASSIFICATION = (24, 28)
ZH_MIN_TASKS = 60

BLACKLIST = [
    "image",
    "images",
    "graph",
    "graphs",
    "picture",
    "pictures",
    "file",
    "files",
    "map",
    "maps",
    "draw",
    "plot",
    "go to",
]
BLACKLIST_RE = re.compile(
    r"\b(" + "|".join(re.escape(w) for w in BLACKLIST) + r")\b", re.IGNORECASE
)


class CharTokenizer:
    """Chinese ROUGE-L is scored per character: every character is a token,
    whitespace and punctuation are dropped."""

    def tokenize(self, text: str) -> list[str]:
        return [
            ch for ch in text if not ch.isspace() and not unicodedata.category(ch).startswith("P")
        ]


def _scorer(lang: str) -> rouge_scorer.RougeScorer:
    if lang == "zh":
        return rouge_scorer.RougeScorer(["rougeL"], tokenizer=CharTokenizer())
    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def _tokenize(lang: str, texts: list[str]) -> list[list[str]]:
    tok = CharTokenizer() if lang == "zh" else _scorer(lang)._tokenizer
    return [tok.tokenize(t) for t in texts]


def _pairs_at_or_above(
    tokens_a: list[list[str]], tokens_b: list[list[str]] | None = None, threshold: float = THRESHOLD
) -> list[tuple[int, int, float]]:
    """All (i, j, f) with ROUGE-L F-measure >= threshold, computed with rouge_score's own LCS.

    Within one set (tokens_b None) each unordered pair is scored once. A pair whose bag-of-tokens
    overlap already caps the F-measure below the threshold is skipped: LCS <= that overlap, so the
    result is exactly what scoring every pair would give.
    """
    same = tokens_b is None
    if same:
        tokens_b = tokens_a
    bags_a = [Counter(t) for t in tokens_a]
    bags_b = bags_a if same else [Counter(t) for t in tokens_b]
    hits = []
    for i, ta in enumerate(tokens_a):
        for j in range(i + 1 if same else 0, len(tokens_b)):
            tb = tokens_b[j]
            total = len(ta) + len(tb)
            if not total:
                continue
            overlap = sum((bags_a[i] & bags_b[j]).values())
            if 2 * overlap / total < threshold:
                continue
            f = rouge_scorer._score_lcs(ta, tb).fmeasure
            if f >= threshold:
                hits.append((i, j, f))
    return hits


@cache
def _load(lang: str):
    path = SEEDS / f"{lang}.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    raw = [json.loads(line) for line in lines if line.strip()]
    tasks = read_seed_jsonl(path)
    return raw, tasks


@pytest.fixture(params=["en", "zh"])
def seed_set(request):
    lang = request.param
    if not (SEEDS / f"{lang}.jsonl").exists():
        if lang == "en":
            pytest.fail("seeds/en.jsonl is missing; it ships with the app")
        pytest.skip(f"seeds/{lang}.jsonl not written yet")
    raw, tasks = _load(lang)
    return lang, raw, tasks


def test_every_line_is_a_valid_task(seed_set):
    lang, raw, tasks = seed_set
    assert len(raw) == len(tasks)
    for obj, task in zip(raw, tasks):
        assert set(obj) >= {"id", "name", "instruction", "instances", "is_classification"}, obj
        assert isinstance(obj["is_classification"], bool), obj["id"]
        assert task.instruction.strip(), obj["id"]
        assert task.instances, f"{obj['id']}: no instance"
        for inst in task.instances:
            assert inst.output.strip(), f"{obj['id']}: an instance has an empty output"


def test_ids_and_names_unique(seed_set):
    lang, raw, _ = seed_set
    ids = [o["id"] for o in raw]
    names = [o["name"] for o in raw]
    assert [k for k, n in Counter(ids).items() if n > 1] == []
    assert [k for k, n in Counter(names).items() if n > 1] == []
    if lang == "en":
        assert ids == [f"seed_task_{i}" for i in range(len(ids))]


def test_sizes(seed_set):
    lang, raw, _ = seed_set
    n_clf = sum(o["is_classification"] for o in raw)
    if lang == "en":
        assert len(raw) == EN_TASKS
        lo, hi = EN_CLASSIFICATION
        assert lo <= n_clf <= hi, f"{n_clf} classification tasks"
    else:
        assert len(raw) >= ZH_MIN_TASKS
        assert n_clf >= 1


def test_utf8_not_escaped(seed_set):
    lang, _, _ = seed_set
    text = (SEEDS / f"{lang}.jsonl").read_text(encoding="utf-8")
    assert "\\u" not in text, "non-ASCII text should be written as is (ensure_ascii=False)"


def test_no_blacklisted_words_or_bad_starts(seed_set):
    _, raw, _ = seed_set
    bad = [(o["id"], m.group(0)) for o in raw if (m := BLACKLIST_RE.search(o["instruction"]))]
    assert bad == []
    starts = [
        o["id"]
        for o in raw
        if o["instruction"].lower().startswith("write a program")
        or unicodedata.category(o["instruction"][0]).startswith("P")
    ]
    assert starts == []


def test_no_similar_pairs_within_set(seed_set):
    lang, raw, _ = seed_set
    instructions = [o["instruction"] for o in raw]
    tokens = _tokenize(lang, instructions)
    hits = _pairs_at_or_above(tokens)
    assert [(raw[i]["id"], raw[j]["id"], round(f, 3)) for i, j, f in hits] == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_fast_rouge_matches_rouge_score(lang):
    """The pre-tokenised LCS path gives exactly the scorer's F-measure."""
    if not (SEEDS / f"{lang}.jsonl").exists():
        pytest.skip(f"seeds/{lang}.jsonl not written yet")
    raw, _ = _load(lang)
    instructions = [o["instruction"] for o in raw][:12]
    tokens = _tokenize(lang, instructions)
    scorer = _scorer(lang)
    for i in range(len(instructions)):
        for j in range(i + 1, len(instructions)):
            expected = scorer.score(instructions[i], instructions[j])["rougeL"].fmeasure
            assert rouge_scorer._score_lcs(tokens[i], tokens[j]).fmeasure == pytest.approx(expected)
    # and the pruned search finds the same pairs as scoring all of them, at a low threshold
    brute = {
        (i, j)
        for i in range(len(tokens))
        for j in range(i + 1, len(tokens))
        if rouge_scorer._score_lcs(tokens[i], tokens[j]).fmeasure >= 0.2
    }
    assert {(i, j) for i, j, _ in _pairs_at_or_above(tokens, threshold=0.2)} == brute


def test_char_tokenizer_drops_space_and_punctuation():
    assert CharTokenizer().tokenize("你好， 世界！“ok”") == ["你", "好", "世", "界", "o", "k"]


def test_english_seeds_are_our_own_wording(shared_data):
    ref_path = shared_data / "self_instruct" / "seed_tasks.jsonl"
    if not ref_path.exists():
        pytest.skip(f"reference seeds not found at {ref_path}")
    ref = [
        json.loads(line)["instruction"]
        for line in ref_path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    raw, _ = _load("en")
    ours = [o["instruction"] for o in raw]
    hits = _pairs_at_or_above(_tokenize("en", ours), _tokenize("en", ref))
    assert [(raw[i]["id"], ref[j], round(f, 3)) for i, j, f in hits] == []


def test_init_workspace_holds_the_english_seeds(tmp_path):
    from workbench.core.seeds import init_workspace
    from workbench.core.store.tasks import count_tasks

    raw, _ = _load("en")
    ws = init_workspace(tmp_path / "w.sqlite")
    try:
        assert count_tasks(ws, source="seed") == EN_TASKS
        assert count_tasks(ws) == EN_TASKS
        n_clf = ws.scalar(
            "SELECT count(*) FROM tasks WHERE source = 'seed' AND is_classification = 1"
        )
        assert n_clf == sum(o["is_classification"] for o in raw)
        assert ws.integrity_check() == "ok"
    finally:
        ws.close()
