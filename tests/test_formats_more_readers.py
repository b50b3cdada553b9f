"""Issue 18: readers for UltraChat raw dialogues, CAMEL role-playing chats, GPT-4-LLM's ranked
comparison data and Stack Exchange preference rankings, each on a small sample written here in
the layout its dataset card / repository documents (none of them is in ../shared)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from workbench.core.errors import UserInputError
from workbench.core.formats import registry
from workbench.core.formats.exporter import export
from workbench.core.formats.importer import import_file, read_file
from workbench.core.formats.validation import InvalidRecords
from workbench.core.store.tasks import iter_tasks
from workbench.core.store.workspace import Workspace


def examples(tasks: list[Any]) -> list[tuple[str, Any]]:
    out = [(t.instruction, i) for t in tasks for i in t.instances]
    return sorted(out, key=lambda x: x[1].seq)


def jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ UltraChat
ULTRA = [
    {
        "id": "0",
        "data": [
            "How can cross training help runners?",
            "It builds strength and prevents injury.",
            "Any exercises you recommend?",
            "Squats, lunges and planks.",
        ],
    },
    {"id": "1", "data": ["Write a haiku.", "Autumn moon rises.", "Thanks!"]},
]


def test_ultrachat_dialogues(tmp_path):
    path = jsonl(tmp_path / "ultrachat_material_release_230412.json", ULTRA)
    assert registry.detect_format(path) == "ultrachat"
    fmt, tasks = read_file(path)
    first, second = examples(tasks)
    assert first[0] == "Any exercises you recommend?"
    assert (first[1].output, first[1].meta["id"]) == ("Squats, lunges and planks.", "0")
    assert [t["content"] for t in first[1].history] == ULTRA[0]["data"][:2]
    # an odd-length dialogue ends with an unanswered user turn: kept, not part of the example
    assert second[0] == "Write a haiku." and second[1].output == "Autumn moon rises."
    assert [t["content"] for t in second[1].meta["_dropped_turns"]] == ["Thanks!"]
    ws = Workspace.create(tmp_path / "w.sqlite")
    res = import_file(ws, path)
    assert (res.imported, res.instances, res.notes["dropped_turns"]) == (2, 2, 1)
    export(ws, "sharegpt", tmp_path / "out.json")
    out = json.loads((tmp_path / "out.json").read_text())
    assert [[t["value"] for t in r["conversations"]] for r in out] == [r["data"] for r in ULTRA]
    ws.close()


def test_ultrachat_bad_turn_is_named(tmp_path):
    path = jsonl(tmp_path / "u.jsonl", [ULTRA[0], {"id": "2", "data": ["Hi", 3]}])
    with pytest.raises(InvalidRecords) as err:
        import_file(Workspace.create(tmp_path / "w.sqlite"), path, "ultrachat")
    (problem,) = err.value.problems.items
    assert (problem.line, problem.field) == (2, "data[1]")


# ---------------------------------------------------------------------------------- CAMEL
def camel_chat() -> dict[str, Any]:
    turns = [
        ("USER", "Instruction: Define the budget.\nInput: None"),
        ("ASSISTANT", "Solution: The budget is 100 dollars. Next request."),
        ("USER", "Instruction: Split it in two.\nInput: None"),
        ("ASSISTANT", "Solution: 50 and 50. Next request."),
        ("USER", "<CAMEL_TASK_DONE>"),
    ]
    chat: dict[str, Any] = {
        "role_1": "Accountant",
        "role_2": "Student",
        "id": "001_002_003",
        "original_task": "Plan a budget.",
        "specified_task": "Plan a two-part budget for a school trip.",
    }
    for k, (role, text) in enumerate(turns, start=1):
        name = "Student" if role == "USER" else "Accountant"
        chat[f"message_{k}"] = {
            "role_name": name,
            "role_type": role,
            "meta_dict": None,
            "content": text,
        }
    chat["termination_reason"] = "<CAMEL_TASK_DONE>"
    chat["num_messages"] = len(turns)
    return chat


def test_camel_chat_file(tmp_path):
    path = tmp_path / "001_002_003.json"
    path.write_text(json.dumps(camel_chat(), indent=4), encoding="utf-8")
    assert registry.detect_format(path) == "camel"
    _, tasks = read_file(path)
    ((instruction, inst),) = examples(tasks)
    assert instruction == "Instruction: Split it in two.\nInput: None"
    assert inst.output == "Solution: 50 and 50. Next request."
    assert len(inst.history) == 2 and inst.history[0]["role_name"] == "Student"
    assert inst.meta["specified_task"].startswith("Plan a two-part")
    assert inst.meta["termination_reason"] == "<CAMEL_TASK_DONE>"
    assert inst.meta["_dropped_turns"][0]["content"] == "<CAMEL_TASK_DONE>"
    # a folder of such files (the unpacked ai_society_chat archive) imports file by file
    (tmp_path / "chats").mkdir()
    for n in (1, 2):
        chat = camel_chat()
        chat["id"] = f"00{n}_002_003"
        chat["message_4"]["content"] = f"Solution: {n}"
        (tmp_path / "chats" / f"00{n}_002_003.json").write_text(json.dumps(chat, indent=4))
    ws = Workspace.create(tmp_path / "w.sqlite")
    res = import_file(ws, tmp_path / "chats")
    assert [f["format"] for f in res.files] == ["camel", "camel"] and res.instances == 2
    ws.close()


def test_camel_message_count_and_gaps_are_checked(tmp_path):
    chat = camel_chat()
    chat["num_messages"] = 7
    path = tmp_path / "c.json"
    path.write_text(json.dumps(chat))
    with pytest.raises(UserInputError, match="says 7 messages, the record has 5") as err:
        read_file(path, "camel")
    assert err.value.field == "num_messages"
    del chat["message_3"]
    chat["num_messages"] = 4
    path.write_text(json.dumps(chat))
    with pytest.raises(UserInputError, match="without gaps"):
        read_file(path, "camel")


# ------------------------------------------------------------------- GPT-4-LLM comparisons
def test_gpt4_llm_comparison_data(tmp_path):
    rows = [
        {
            "user_input": "Give three tips for staying healthy.",
            "completion_a": "Eat well, sleep, exercise.",
            "completion_b": "Stay healthy.",
        },
        {"user_input": "Name a color.", "completion_a": "Blue.", "completion_b": ""},
    ]
    path = tmp_path / "comparision_data.json"
    path.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    assert registry.detect_format(path) == "gpt4-comparison"
    ws = Workspace.create(tmp_path / "w.sqlite")
    res = import_file(ws, path)
    assert (res.imported, res.notes["preference"]) == (2, 2)
    got = [(t, i.output, i.rejected) for t, i in examples(iter_tasks(ws))]
    assert got == [(r["user_input"], r["completion_a"], r["completion_b"]) for r in rows]
    export(ws, "trl", tmp_path / "pairs.jsonl", style="standard")
    lines = [json.loads(x) for x in (tmp_path / "pairs.jsonl").read_text().splitlines()]
    assert [(x["prompt"], x["chosen"], x["rejected"]) for x in lines] == [
        (r["user_input"], r["completion_a"], r["completion_b"]) for r in rows
    ]
    ws.close()


# ------------------------------------------------------------ Stack Exchange preferences
def answer(i: int, score: int, selected: bool = False) -> dict[str, Any]:
    return {
        "answer_id": i,
        "author": f"u{i}",
        "author_id": i,
        "author_profile": f"https://stackoverflow.com/users/{i}",
        "pm_score": score,
        "selected": selected,
        "text": f"<p>Answer {i}</p>",
    }


def test_stack_exchange_preference_rankings(tmp_path):
    rows = [
        {
            "qid": 1,
            "question": "<p>How do I reverse a list?</p>",
            "answers": [answer(10, 2), answer(11, 4, selected=True), answer(12, 4), answer(13, 0)],
            "date": "2010/01/01",
            "metadata": ["https://stackoverflow.com/questions/1"],
        },
        {"qid": 2, "question": "<p>Tie?</p>", "answers": [answer(20, 1), answer(21, 1)]},
        {"qid": 3, "question": "<p>Nobody answered.</p>", "answers": []},
    ]
    path = jsonl(tmp_path / "stackoverflow.jsonl", rows)
    assert registry.detect_format(path) == "se-preferences"
    _, tasks = read_file(path)
    ex = examples(tasks)
    pairs = [
        (i.meta["chosen_answer"]["answer_id"], i.meta["rejected_answer"]["answer_id"])
        for _, i in ex
        if i.kind == "preference"
    ]
    # the top score (4: the accepted answer first) against every lower one
    assert pairs == [(11, 10), (11, 13), (12, 10), (12, 13)]
    first = ex[0][1]
    assert (first.output, first.rejected) == ("<p>Answer 11</p>", "<p>Answer 10</p>")
    assert first.meta["qid"] == 1 and first.meta["chosen_answer"]["pm_score"] == 4
    # all answers tie: no pair, both kept as plain examples
    tie = [i for t, i in ex if t == "<p>Tie?</p>"]
    assert [(i.kind, i.output, i.meta["unpaired"]) for i in tie] == [
        ("sft", "<p>Answer 20</p>", True),
        ("sft", "<p>Answer 21</p>", True),
    ]
    bare = [t for t in tasks if t.instruction == "<p>Nobody answered.</p>"]
    assert bare and bare[0].instances == []
    # every answer of a question with differing scores is in some pair
    assert {a for p in pairs for a in p} == {10, 11, 12, 13}


def test_stack_exchange_bad_score_is_named(tmp_path):
    bad = {"qid": 1, "question": "Q", "answers": [answer(1, 1), {**answer(2, 0), "pm_score": "x"}]}
    with pytest.raises(UserInputError) as err:
        read_file(jsonl(tmp_path / "s.jsonl", [bad]), "se-preferences")
    assert err.value.field == "answers[1].pm_score"
