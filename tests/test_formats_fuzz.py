"""Hypothesis fuzzes every importer: arbitrary bytes and arbitrary JSON never crash it, never
leave a partial import, and every error names a line.

`WORKBENCH_FUZZ_EXAMPLES` raises the number of examples (`make fuzz`); the default keeps the
whole module to a few seconds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.core.errors import UserInputError
from workbench.core.formats import registry
from workbench.core.formats.importer import import_file
from workbench.core.store.workspace import Workspace

settings.register_profile(
    "formats-fuzz",
    max_examples=int(os.environ.get("WORKBENCH_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FUZZ = settings.get_profile("formats-fuzz")

FILE_IMPORTERS = [
    n
    for n in registry.import_formats()
    if not registry.get(n).folder and registry.get(n).extensions
]
# One record a line (a bad line after good ones); a NI task file is one document, a table rows.
LINE_IMPORTERS = [n for n in FILE_IMPORTERS if n not in ("natural-instructions", "tabular")]
KEYS = [
    "instruction",
    "input",
    "output",
    "instances",
    "is_classification",
    "id",
    "name",
    "context",
    "response",
    "category",
    "system",
    "history",
    "conversations",
    "from",
    "value",
    "messages",
    "role",
    "content",
    "weight",
    "prompt",
    "completion",
    "most_similar",
    "avg_similarity_score",
    "request_idx",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(
        ["", " ", "human", "gpt", "user", "assistant", "system", "Yes", " No", "<|endoftext|>"]
    )
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=20,
)
records = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6)


def valid_record(fmt: str):
    """A valid record of a line format (a function of its number), text leaves naming it."""
    return {
        "selfinstruct-seed": lambda i: {
            "instruction": f"seed task {i} {fmt}",
            "instances": [{"input": "", "output": "o"}],
        },
        "selfinstruct-instances": lambda i: {
            "instruction": f"inst {i} {fmt}",
            "input": "",
            "output": "o",
        },
        "selfinstruct-generated": lambda i: {"instruction": f"gen {i} {fmt}", "request_idx": i},
        "selfinstruct-finetune": lambda i: {"prompt": f"ft {i} {fmt}\n\n", "completion": "o"},
        "alpaca": lambda i: {"instruction": f"alp {i} {fmt}", "input": "", "output": "o"},
        "dolly": lambda i: {"instruction": f"dolly {i} {fmt}", "response": "o"},
        "sharegpt": lambda i: {
            "conversations": [
                {"from": "human", "value": f"sg {i} {fmt}"},
                {"from": "gpt", "value": "o"},
            ]
        },
        "openai-chat": lambda i: {
            "messages": [
                {"role": "user", "content": f"oc {i} {fmt}"},
                {"role": "assistant", "content": "o"},
            ]
        },
        "trl": lambda i: {"prompt": f"trl {i}", "chosen": "a", "rejected": "b"},
        "hh-rlhf": lambda i: {
            "chosen": f"\n\nHuman: hh {i}\n\nAssistant: a",
            "rejected": f"\n\nHuman: hh {i}\n\nAssistant: b",
        },
        "shp": lambda i: {
            "history": f"shp {i}",
            "human_ref_A": "a",
            "human_ref_B": "b",
            "labels": 1,
        },
        "oig": lambda i: {"text": f"<human>: oig {i}\n<bot>: o"},
        "baize": lambda i: {"input": f"[|Human|] baize {i}\n[|AI|] o"},
        "hc3": lambda i: {"question": f"hc3 {i}", "human_answers": ["o"], "chatgpt_answers": []},
        "inputs-targets": lambda i: {"inputs": f"it {i}", "targets": "o"},
        "instruction-only": lambda i: {"instruction": f"only {i} {fmt}"},
        "ultrachat": lambda i: {"id": str(i), "data": [f"uc {i}", "o"]},
        "camel": lambda i: {
            "message_1": {"role_type": "USER", "content": f"camel {i}"},
            "message_2": {"role_type": "ASSISTANT", "content": "o"},
            "num_messages": 2,
        },
        "gpt4-comparison": lambda i: {
            "user_input": f"cmp {i}",
            "completion_a": "a",
            "completion_b": "b",
        },
        "se-preferences": lambda i: {
            "question": f"se {i}",
            "answers": [{"pm_score": 2, "text": "a"}, {"pm_score": 0, "text": "b"}],
        },
    }[fmt]


@pytest.fixture(scope="module")
def fuzz_ws(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "ws.sqlite"
    ws = Workspace.create(path)
    yield ws
    assert ws.integrity_check() == "ok"
    ws.close()


def counts(ws: Workspace) -> tuple[int, int]:
    return ws.scalar("SELECT count(*) FROM tasks"), ws.scalar("SELECT count(*) FROM instances")


def check_import(ws: Workspace, path: Path, fmt: str | None) -> None:
    before = counts(ws)
    try:
        res = import_file(ws, path, fmt)
    except UserInputError as exc:
        assert counts(ws) == before, "a failed import left rows behind"
        assert exc.line is not None and exc.line >= 1, str(exc)
        assert str(path) in str(exc)
        return
    tasks, instances = counts(ws)
    assert tasks == before[0] + res.imported
    assert instances == before[1] + res.instances


@pytest.mark.parametrize("fmt", FILE_IMPORTERS + [None])
@FUZZ
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes(fuzz_ws, tmp_path, fmt, data):
    f = tmp_path / "fuzz.jsonl"
    f.write_bytes(data)
    check_import(fuzz_ws, f, fmt)


@pytest.mark.parametrize("fmt", FILE_IMPORTERS + [None])
@FUZZ
@given(
    lines=st.lists(records | json_values, min_size=1, max_size=4),
    as_list=st.booleans(),
    blank=st.booleans(),
)
def test_arbitrary_json(fuzz_ws, tmp_path, fmt, lines, as_list, blank):
    f = tmp_path / ("fuzz.json" if as_list else "fuzz.jsonl")
    if as_list:
        text = json.dumps(lines, indent=1, ensure_ascii=False)
    else:
        text = ("\n\n" if blank else "\n").join(json.dumps(x, ensure_ascii=False) for x in lines)
    f.write_text(text, encoding="utf-8")
    check_import(fuzz_ws, f, fmt)


@pytest.mark.parametrize("fmt", LINE_IMPORTERS)
@FUZZ
@given(good=st.integers(min_value=0, max_value=3), data=st.data())
def test_a_bad_record_after_good_ones_imports_nothing_and_names_its_line(
    fuzz_ws, tmp_path, fmt, good, data
):
    valid = valid_record(fmt)
    salt = data.draw(st.integers(0, 10**9))
    lines = [
        json.dumps({**valid(i), "salt": salt})
        if fmt == "selfinstruct-seed"
        else json.dumps(valid(f"{salt}-{i}"))
        for i in range(good)
    ]
    bad = data.draw(st.sampled_from(['{"instruction": 7}', "[1]", "{", '"text"', "null"]))
    f = tmp_path / "mixed.jsonl"
    f.write_text("\n".join(lines + [bad]) + "\n", encoding="utf-8")
    before = counts(fuzz_ws)
    with pytest.raises(UserInputError) as exc:
        import_file(fuzz_ws, f, fmt)
    assert exc.value.line == good + 1
    assert counts(fuzz_ws) == before


def text_leaves(value, path=()):
    """The paths of every text value of a JSON value."""
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from text_leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from text_leaves(v, (*path, i))


@pytest.mark.parametrize("fmt", LINE_IMPORTERS)
@FUZZ
@given(good=st.integers(min_value=0, max_value=2), as_list=st.booleans(), data=st.data())
def test_a_lone_surrogate_in_any_text_is_a_listed_bad_record(
    fuzz_ws, tmp_path, fmt, good, as_list, data
):
    """Finding 1: JSON may spell half an emoji ("\\ud83d"); every reader lists that record
    as bad (line, field) in the one validation pass, never a traceback, and --skip-invalid
    imports the rest."""
    salt = data.draw(st.integers(0, 10**9))
    recs = [
        {**valid_record(fmt)(i), "salt": salt}
        if fmt == "selfinstruct-seed"
        else valid_record(fmt)(f"{salt}-{i}")
        for i in range(good + 1)
    ]
    bad_at = data.draw(st.integers(0, good))
    bad = recs[bad_at]
    leaf = data.draw(st.sampled_from(list(text_leaves(bad))))
    holder = bad
    for k in leaf[:-1]:
        holder = holder[k]
    text = holder[leaf[-1]]
    pos = data.draw(st.integers(0, len(text)))
    holder[leaf[-1]] = text[:pos] + data.draw(st.sampled_from(["\ud83d", "\ude00"])) + text[pos:]
    f = tmp_path / ("surr.json" if as_list else "surr.jsonl")
    if as_list:  # a JSON list, one record a line
        f.write_text("[\n" + ",\n".join(json.dumps(r) for r in recs) + "\n]\n", "utf-8")
    else:
        f.write_text("\n".join(json.dumps(r) for r in recs) + "\n", encoding="utf-8")
    line = bad_at + 2 if as_list else bad_at + 1
    before = counts(fuzz_ws)
    with pytest.raises(UserInputError) as exc:
        import_file(fuzz_ws, f, fmt)
    assert counts(fuzz_ws) == before
    assert exc.value.line == line, str(exc.value)
    assert "lone UTF-16 surrogate" in str(exc.value)
    res = import_file(fuzz_ws, f, fmt, skip_invalid=True, rejected_out=tmp_path / "rej.jsonl")
    assert res.rejected == 1
    (problem,) = res.problems
    assert problem["line"] == line and problem["field"], problem
    assert "broken character" in problem["error"]
    assert json.loads((tmp_path / "rej.jsonl").read_text("utf-8"))["record"] == bad
