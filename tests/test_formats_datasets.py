"""Issue 18: real datasets as people have them import with the right counts and export back
with nothing lost; each example keeps its own conversation; the chat edge cases FastChat and
LLaMA-Factory meet (greetings, unanswered turns, tool calls, weights, KTO labels, preference
pairs, media); the v006 migration; CoT runs as preference pairs loaded with `datasets`.

Counts are computed here from the files themselves, not taken from the readers.
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from formats_helpers import example_view, unique

from workbench.core.formats import registry
from workbench.core.formats.exporter import export
from workbench.core.formats.importer import import_file
from workbench.core.store import examples as store_examples
from workbench.core.store.tasks import iter_tasks
from workbench.core.store.workspace import Workspace

LF = "llama-factory"


def norm(text: str) -> str:  # the task key, written out here to count independently
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def load(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def text_of(content: Any) -> str:
    if isinstance(content, list):
        return "".join(
            p.get("text", p.get("value", "")) for p in content if p.get("type", "text") == "text"
        )
    return content or ""


def last_user(rec: dict[str, Any]) -> str:
    """The instruction a chat record gives: its last user turn (before the answer)."""
    if "conversations" in rec:
        return [t["value"] for t in rec["conversations"] if t["from"] == "human"][-1]
    msgs = rec["messages"]
    return [text_of(m["content"]) for m in msgs if m["role"] == "user"][-1]


# file, format, the record's instruction, layout to export with
SAMPLES = [
    (f"{LF}/alpaca_en_demo.json", "alpaca", lambda r: r["instruction"]),
    (f"{LF}/dpo_en_demo.json", "sharegpt", last_user),
    (f"{LF}/glaive_toolcall_en_demo.json", "sharegpt", last_user),
    (f"{LF}/kto_en_demo.json", "openai-chat", last_user),
    (f"{LF}/mllm_demo.json", "openai-chat", last_user),
    (f"{LF}/v1_sft_demo.jsonl", "openai-chat", last_user),
    ("sharegpt-format-fastchat/dummy_conversation.json", "sharegpt", last_user),
]


def export_suffix(fmt: str, src: Path) -> str:
    return ".jsonl" if fmt == "openai-chat" else src.suffix


@pytest.mark.parametrize("rel, fmt, instruction", SAMPLES, ids=[s[0] for s in SAMPLES])
def test_real_sample_imports_with_its_counts_and_exports_back_whole(
    shared_data, tmp_path, rel, fmt, instruction
):
    src = shared_data / "datasets" / rel
    records = load(src)
    # identical records are one example (a duplicate is an identical example, skipped and
    # counted: glaive_toolcall_en_demo.json holds one twice)
    distinct = unique(records)
    ws = Workspace.create(tmp_path / "w.sqlite")
    assert registry.detect_format(src) == fmt
    res = import_file(ws, src)
    assert res.format == fmt
    assert res.imported == len({norm(instruction(r)) for r in records})
    assert res.instances == len(distinct) == ws.scalar("SELECT count(*) FROM instances")
    assert res.duplicate_examples == len(records) - len(distinct)
    out = tmp_path / ("out" + export_suffix(fmt, src))
    export(ws, fmt, out)
    assert load(out) == distinct  # same records, same order, every field
    ws.close()


# How a file laid an example out (key order, which preference layout, a system prompt as a
# turn or a key): each format writes its own layout.
LAYOUT_META = ("_record", "_instruction", "_layout", "_style", "_label_key", "_system_turn")


def examples_of(ws: Workspace) -> list[tuple[Any, ...]]:
    """Every example in file order with every field but the layout meta keys, the
    instruction and input joined (a chat format has no input field)."""
    from workbench.core.formats.common import instruction_of, iter_examples

    return [
        example_view(instruction_of(t, i), i, joined=True, keep_meta=lambda k: k not in LAYOUT_META)
        for t, _, i, _ in iter_examples(iter_tasks(ws))
    ]


@pytest.mark.parametrize("rel", [s[0] for s in SAMPLES])
def test_real_sample_through_openai_chat_comes_back_whole(shared_data, tmp_path, rel):
    """Each chat sample exported to openai-chat and imported again: the same examples (system
    prompts stay system prompts: dpo_en_demo.json's 9 examples with one and an empty input
    once came back with it as their instruction, 40 tasks becoming 38)."""
    src = shared_data / "datasets" / rel
    ws = Workspace.create(tmp_path / "w.sqlite")
    first = import_file(ws, src)
    export(ws, "openai-chat", tmp_path / "o.jsonl", lossy=True)
    back = Workspace.create(tmp_path / "back.sqlite")
    again = import_file(back, tmp_path / "o.jsonl")
    if rel.endswith("alpaca_en_demo.json"):  # an input is joined to its instruction
        assert again.instances == first.instances
    else:
        assert (again.imported, again.instances) == (first.imported, first.instances)
    assert examples_of(back) == examples_of(ws)
    ws.close()
    back.close()


def test_sample_kinds_media_tools_labels(shared_data, tmp_path):
    d = shared_data / "datasets" / LF
    ws = Workspace.create(tmp_path / "w.sqlite")
    kto = import_file(ws, d / "kto_en_demo.json")
    labels = [r["label"] for r in load(d / "kto_en_demo.json")]
    assert kto.notes["kto"] == len(labels)
    got = [i.label for t in iter_tasks(ws) for i in t.instances if i.kind == "kto"]
    assert sorted(got) == sorted(labels) and labels.count(False) > 0
    dpo = import_file(ws, d / "dpo_en_demo.json")
    assert dpo.notes["preference"] == len(load(d / "dpo_en_demo.json"))
    mllm = import_file(ws, d / "mllm_demo.json")
    assert mllm.notes["with_media"] == sum(
        bool(r.get("images")) for r in load(d / "mllm_demo.json")
    )
    assert "images" in mllm.summary()
    tools = import_file(ws, d / "glaive_toolcall_en_demo.json")
    assert tools.notes["with_tools"] == sum(
        "tools" in r for r in unique(load(d / "glaive_toolcall_en_demo.json"))
    )
    ws.close()


def test_sharegpt_in_two_halves_gives_the_same_workspace_as_whole(shared_data, tmp_path):
    src = shared_data / "datasets" / "sharegpt-format-fastchat" / "dummy_conversation.json"
    records = load(src)
    half = len(records) // 2
    (tmp_path / "a.json").write_text(json.dumps(records[:half]), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(records[half:]), encoding="utf-8")
    whole = Workspace.create(tmp_path / "whole.sqlite")
    import_file(whole, src)
    parts = Workspace.create(tmp_path / "parts.sqlite")
    first = import_file(parts, tmp_path / "a.json")
    second = import_file(parts, tmp_path / "b.json")
    # nothing of the second half is dropped: every conversation is a new example
    assert first.instances + second.instances == len(records)
    assert second.duplicate_examples == 0

    def state(ws: Workspace) -> list[Any]:
        return [
            (t.instruction, [store_examples.example_key(i) for i in t.instances])
            for t in iter_tasks(ws)
        ]

    assert state(parts) == state(whole)
    export(whole, "sharegpt", tmp_path / "whole-out.json")
    export(parts, "sharegpt", tmp_path / "parts-out.json")
    assert load(tmp_path / "parts-out.json") == load(tmp_path / "whole-out.json") == records
    # 14 conversations end with "Have a nice day!": one task, 14 different examples
    bye = [t for t in iter_tasks(whole) if t.instruction == "Have a nice day!"][0]
    assert len(bye.instances) == sum(last_user(r) == "Have a nice day!" for r in records)
    assert len({store_examples.example_key(i) for i in bye.instances}) == len(bye.instances)
    again = import_file(whole, src)
    assert (again.imported, again.instances, again.duplicate_examples) == (0, 0, len(records))
    for ws in (whole, parts):
        ws.close()


# ----------------------------------------------------------------------------- chat edge cases
def write_json(path: Path, records: list[Any]) -> Path:
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path


def test_greeting_and_unanswered_turn_are_left_out_kept_and_reported(tmp_path):
    conv = {
        "id": "x1",
        "conversations": [
            {"from": "gpt", "value": "Hello! How can I help?"},
            {"from": "human", "value": "What is 2+2?"},
            {"from": "gpt", "value": "4"},
            {"from": "human", "value": "Thanks, and 3+3?"},
        ],
    }
    src = write_json(tmp_path / "s.json", [conv])
    ws = Workspace.create(tmp_path / "w.sqlite")
    res = import_file(ws, src)
    assert res.imported == 1 and res.notes["dropped_turns"] == 2
    assert "2 turns outside any example" in res.summary()
    (task,) = iter_tasks(ws)
    inst = task.instances[0]
    assert (task.instruction, inst.output, inst.history) == ("What is 2+2?", "4", [])
    assert [t["content"] for t in inst.meta["_dropped_turns"]] == [
        "Hello! How can I help?",
        "Thanks, and 3+3?",
    ]
    export(ws, "sharegpt", tmp_path / "out.json")
    assert load(tmp_path / "out.json") == [conv]
    ws.close()


def test_openai_tool_calls_null_content_tool_turns_and_weights(tmp_path):
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "add", "arguments": '{"a": 2, "b": 2}'},
    }
    recs = [
        {
            "messages": [
                {"role": "system", "content": "You add."},
                {"role": "user", "content": "2+2?"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c1", "content": "4"},
                {"role": "assistant", "content": "It is 4.", "weight": 1},
            ],
            "tools": [{"type": "function", "function": {"name": "add", "parameters": {}}}],
        },
        {
            "messages": [
                {"role": "user", "content": "Call it."},
                {"role": "assistant", "content": None, "tool_calls": [call]},
            ]
        },
        {
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Bad answer", "weight": 0},
                {"role": "user", "content": "Again"},
                {"role": "assistant", "content": "Good answer", "weight": 0},
            ]
        },
        {
            "messages": [
                {"role": "system", "content": "Write a poem about rain."},
                {"role": "assistant", "content": "Drops on the roof."},
            ]
        },
    ]
    src = tmp_path / "o.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in recs) + "\n", encoding="utf-8")
    ws = Workspace.create(tmp_path / "w.sqlite")
    res = import_file(ws, src)
    assert res.instances == 4
    by = {t.instruction: t.instances[0] for t in iter_tasks(ws)}
    assert by["2+2?"].tools == recs[0]["tools"] and by["2+2?"].weight == 1
    assert by["2+2?"].meta["_pending"][0]["tool_calls"] == [call]
    assert by["Call it."].output == "" and by["Call it."].meta["_assistant"]["tool_calls"] == [call]
    assert by["Again"].weight == 0 and by["Again"].history[1]["weight"] == 0
    assert by["Write a poem about rain."].output == "Drops on the roof."
    export(ws, "openai-chat", tmp_path / "out.jsonl")
    assert load(tmp_path / "out.jsonl") == recs
    ws.close()


def test_preference_pairs_in_every_layout_round_trip_and_cross(tmp_path):
    sharegpt = {
        "conversations": [{"from": "human", "value": "Pick one."}],
        "chosen": {"from": "gpt", "value": "A"},
        "rejected": {"from": "gpt", "value": "B"},
    }
    openai_pref = {
        "input": {"messages": [{"role": "user", "content": "Pick two."}]},
        "preferred_output": [{"role": "assistant", "content": "C"}],
        "non_preferred_output": [{"role": "assistant", "content": "D"}],
    }
    messages_pref = {
        "messages": [{"role": "user", "content": "Pick three."}],
        "chosen": {"role": "assistant", "content": "E"},
        "rejected": {"role": "assistant", "content": "F"},
    }
    trl = {
        "prompt": [{"role": "user", "content": "Pick four."}],
        "chosen": [{"role": "assistant", "content": "G"}],
        "rejected": [{"role": "assistant", "content": "H"}],
    }
    cases = [
        (write_json(tmp_path / "p1.json", [sharegpt]), "sharegpt", ".json"),
        (tmp_path / "p2.jsonl", "openai-chat", ".jsonl"),
        (tmp_path / "p3.jsonl", "openai-chat", ".jsonl"),
        (tmp_path / "p4.jsonl", "trl", ".jsonl"),
    ]
    cases[1][0].write_text(json.dumps(openai_pref) + "\n", encoding="utf-8")
    cases[2][0].write_text(json.dumps(messages_pref) + "\n", encoding="utf-8")
    cases[3][0].write_text(json.dumps(trl) + "\n", encoding="utf-8")
    for src, fmt, suffix in cases:
        ws = Workspace.create(tmp_path / f"{src.stem}.sqlite")
        res = import_file(ws, src)
        assert res.format == fmt and res.notes["preference"] == 1
        export(ws, fmt, tmp_path / f"{src.stem}-out{suffix}")
        assert load(tmp_path / f"{src.stem}-out{suffix}") == load(src)
        # and to every other preference layout, and back: the pair survives
        for other, osuf in (
            ("sharegpt", ".json"),
            ("openai-chat", ".jsonl"),
            ("trl", ".jsonl"),
            ("alpaca", ".json"),
        ):
            out = tmp_path / f"{src.stem}-{other}{osuf}"
            export(ws, other, out)
            ws2 = Workspace.create(tmp_path / f"{src.stem}-{other}.sqlite")
            import_file(ws2, out, other)
            (a,) = [i for t in iter_tasks(ws) for i in t.instances]
            (b,) = [i for t in iter_tasks(ws2) for i in t.instances]
            assert (b.kind, b.output, b.rejected) == (a.kind, a.output, a.rejected), other
            ws2.close()
        ws.close()


def test_alpaca_llama_factory_fields_and_kto_round_trip(tmp_path):
    recs = [
        {
            "instruction": "Describe.",
            "input": "",
            "output": "It is red.",
            "system": "Be brief.",
            "history": [["Hi", "Hello"]],
            "images": ["a.jpg"],
            "source": "mine",
        },
        {"instruction": "Describe.", "input": "x", "output": "No.", "kto_tag": False},
        {"instruction": "Rank.", "input": "", "chosen": "good", "rejected": "bad"},
    ]
    src = write_json(tmp_path / "a.json", recs)
    ws = Workspace.create(tmp_path / "w.sqlite")
    res = import_file(ws, src)
    assert (res.imported, res.instances) == (2, 3)
    assert res.notes["with_media"] == 1 and res.notes["kto"] == 1
    export(ws, "alpaca", tmp_path / "out.json")
    assert load(tmp_path / "out.json") == recs
    ws.close()


def test_seed_export_keeps_extra_fields_and_invents_no_classification(tmp_path):
    lines = [
        {
            "id": "w1",
            "instruction": "Name a colour.",
            "instruction_type": "open",
            "instances": [{"input": "", "output": "Blue"}],
        },
        {
            "id": "w2",
            "name": "w2",
            "instruction": "Is it wet?",
            "is_classification": True,
            "instances": [{"input": "Rain", "output": "Yes"}],
        },
    ]
    src = tmp_path / "s.jsonl"
    src.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    ws = Workspace.create(tmp_path / "w.sqlite")
    import_file(ws, src, "selfinstruct-seed")
    export(ws, "selfinstruct-seed", tmp_path / "out.jsonl")
    assert load(tmp_path / "out.jsonl") == lines
    ws.close()


def test_errors_still_name_line_and_field(tmp_path):
    from workbench.core.errors import UserInputError

    src = write_json(
        tmp_path / "s.json",
        [
            {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]},
            {"conversations": [{"from": "gpt", "value": "only a greeting"}]},
        ],
    )
    ws = Workspace.create(tmp_path / "w.sqlite")
    with pytest.raises(UserInputError) as exc:
        import_file(ws, src, "sharegpt")
    assert exc.value.line is not None and "conversations" in (exc.value.field or "")
    ws.close()


# ------------------------------------------------------------------------------- migration
def test_v006_moves_task_level_system_history_and_extras_to_examples(tmp_path):
    from workbench.core.store.migrations import MIGRATIONS

    path = tmp_path / "old.sqlite"
    Workspace.create(path).close()
    path.unlink()
    conn = sqlite3.connect(path)
    for steps in MIGRATIONS[:5]:
        for step in steps:
            conn.execute(step) if isinstance(step, str) else step(conn)
    conn.execute("PRAGMA user_version = 5")
    conn.execute(f"PRAGMA application_id = {0x49575242}")

    def task(instr: str, meta: dict[str, Any], outs: list[str]) -> None:
        cur = conn.execute(
            "INSERT INTO tasks (instruction, norm, source, meta) VALUES (?, ?, 'imported', ?)",
            (instr, norm(instr), json.dumps(meta)),
        )
        for pos, out in enumerate(outs):
            conn.execute(
                "INSERT INTO instances (task_id, position, output) VALUES (?, ?, ?)",
                (cur.lastrowid, pos, out),
            )

    task("t1", {"format": "sharegpt", "system": "S", "history": [["u", "a"]]}, ["o"])
    task("t2", {"format": "sharegpt", "instance_extras": [{"system": "X"}, {}]}, ["o1", "o2"])
    task("t3", {"format": "dolly", "category": "qa", "x": 1}, ["r"])
    conn.commit()
    conn.close()
    ws = Workspace.open(path)
    got = {t.instruction: t for t in iter_tasks(ws)}
    assert got["t1"].meta == {"format": "sharegpt"}
    assert got["t1"].instances[0].system == "S"
    assert got["t1"].instances[0].history == [
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": "a"},
    ]
    assert [i.system for i in got["t2"].instances] == ["X", None]
    assert got["t3"].meta == {"format": "dolly", "x": 1}
    assert got["t3"].instances[0].meta == {"category": "qa"}
    ws.close()


# ----------------------------------------------------------------------- CoT preference pairs
def test_cot_run_exports_as_preference_pairs_that_datasets_loads(tmp_path):
    datasets = pytest.importorskip("datasets")
    from workbench.core.formats.cot_pairs import cot_preference_tasks, export_cot_pairs
    from workbench.core.store.runs import create_run

    ws = Workspace.create(tmp_path / "w.sqlite")
    run_id = create_run(ws, "cot", {"mode": "sample"})
    with ws.transaction():
        item = ws.insert(
            "cot_items",
            {
                "run_id": run_id,
                "position": 0,
                "source": "gsm8k",
                "cot_type": "math",
                "instruction": "Solve.",
                "input": "2+3?",
                "gold_output": "5",
                "gold_answer": "5",
                "answer_kind": "number",
            },
        )
        for k, (text, answer, correct, conf) in enumerate(
            [
                ("2+3 = 5. The answer is 5.", "5", 1, 0.9),
                ("2+3 = 6. The answer is 6.", "6", 0, 0.2),
                ("2 and 3 make 5. The answer is 5.", "5", 1, 0.7),
                ("I am not sure.", None, None, None),
            ]
        ):
            ws.insert(
                "cot_paths",
                {
                    "item_id": item,
                    "sample_index": k,
                    "rationale": text,
                    "answer": answer,
                    "correct": correct,
                    "confidence": conf,
                },
            )
        other = ws.insert(
            "cot_items",
            {
                "run_id": run_id,
                "position": 1,
                "source": "gsm8k",
                "cot_type": "math",
                "instruction": "Solve.",
                "input": "1+1?",
                "gold_output": "2",
                "gold_answer": "2",
                "answer_kind": "number",
            },
        )
        ws.insert(
            "cot_paths",
            {"item_id": other, "sample_index": 0, "rationale": "2.", "answer": "2", "correct": 1},
        )
    (task,) = cot_preference_tasks(ws, run_id)  # the all-correct question gives no pair
    assert [(i.output[:5], i.rejected[:5]) for i in task.instances] == [
        ("2+3 =", "2+3 ="),
        ("2 and", "2+3 ="),
    ]
    out = tmp_path / "pairs.jsonl"
    res = export_cot_pairs(ws, run_id, "trl", out)
    assert (res["count"], res["questions"]) == (2, 1)
    ds = datasets.load_dataset("json", data_files=str(out), split="train")
    assert ds.num_rows == 2
    row = ds[0]
    assert row["chosen"][0]["content"] == "2+3 = 5. The answer is 5."
    assert row["rejected"][0]["content"] == "2+3 = 6. The answer is 6."
    assert row["prompt"][-1]["content"] == "Solve.\n\n2+3?"
    assert (row["chosen_confidence"], row["rejected_confidence"]) == (0.9, 0.2)
    assert ds[1]["chosen_confidence"] == 0.7 and ds[1]["chosen_answer"] == "5"
    # the LLaMA-Factory DPO layout carries both paths as well
    export_cot_pairs(ws, run_id, "sharegpt", tmp_path / "pairs.json")
    lf = load(tmp_path / "pairs.json")
    assert lf[0]["chosen"]["value"].startswith("2+3 = 5") and lf[0]["rejected"]["value"]
    ws.close()
    # and so does the CLI
    from workbench.cli import main

    code = main(
        [
            "export",
            "--cot-pairs",
            str(run_id),
            "--format",
            "openai-chat",
            "--out",
            str(tmp_path / "pairs-openai.jsonl"),
            "--workspace",
            str(tmp_path / "w.sqlite"),
            "--json",
        ]
    )
    assert code == 0
    (first, _) = load(tmp_path / "pairs-openai.jsonl")
    assert first["preferred_output"][0]["content"].startswith("2+3 = 5")
    assert first["non_preferred_output"][0]["content"].startswith("2+3 = 6")
    assert first["chosen_confidence"] == 0.9


def test_hf_folder_carries_each_examples_conversation_and_kind(shared_data, tmp_path):
    datasets = pytest.importorskip("datasets")
    src = shared_data / "datasets" / LF / "dpo_en_demo.json"
    ws = Workspace.create(tmp_path / "w.sqlite")
    import_file(ws, src)
    export(ws, "hf", tmp_path / "ds")
    ds = datasets.load_dataset(str(tmp_path / "ds"), split="train")
    records = load(src)
    assert ds.num_rows == len(records)
    assert ds[0]["kind"] == "preference"
    assert (ds[0]["output"], ds[0]["rejected"]) == (
        records[0]["chosen"]["value"],
        records[0]["rejected"]["value"],
    )
    ws2 = Workspace.create(tmp_path / "w2.sqlite")
    import_file(ws2, tmp_path / "ds")
    export(ws2, "sharegpt", tmp_path / "back.json")
    assert load(tmp_path / "back.json") == records
    for w in (ws, ws2):
        w.close()


def test_an_instruction_reworded_in_a_later_file_keeps_its_wording(tmp_path):
    a = write_json(tmp_path / "a.json", [{"instruction": "Say hi.", "input": "", "output": "hi"}])
    b = write_json(tmp_path / "b.json", [{"instruction": "say  HI.", "input": "", "output": "yo"}])
    ws = Workspace.create(tmp_path / "w.sqlite")
    import_file(ws, a)
    res = import_file(ws, b)
    assert (res.imported, res.merged, res.instances) == (0, 1, 1)
    export(ws, "alpaca", tmp_path / "out.json")
    assert [r["instruction"] for r in load(tmp_path / "out.json")] == ["Say hi.", "say  HI."]
    ws.close()


def test_chats_through_the_seed_format_lose_nothing(shared_data, tmp_path):
    src = shared_data / "datasets" / LF / "glaive_toolcall_en_demo.json"
    ws = Workspace.create(tmp_path / "w.sqlite")
    import_file(ws, src)
    export(ws, "selfinstruct-seed", tmp_path / "seed.jsonl")
    ws2 = Workspace.create(tmp_path / "w2.sqlite")
    import_file(ws2, tmp_path / "seed.jsonl", "selfinstruct-seed")
    export(ws2, "sharegpt", tmp_path / "back.json")
    # a task-level format lists examples task by task: the same records, in task order
    assert sorted(map(json.dumps, load(tmp_path / "back.json"))) == sorted(
        map(json.dumps, unique(load(src)))
    )
    for w in (ws, ws2):
        w.close()


@pytest.mark.parametrize(
    "rel, fmt, via, suffix",
    [
        (f"{LF}/glaive_toolcall_en_demo.json", "sharegpt", "dolly", ".jsonl"),
        (f"{LF}/dpo_en_demo.json", "sharegpt", "dolly", ".jsonl"),
        (f"{LF}/dpo_en_demo.json", "sharegpt", "alpaca", ".json"),
        (f"{LF}/kto_en_demo.json", "openai-chat", "alpaca", ".json"),
        (f"{LF}/mllm_demo.json", "openai-chat", "dolly", ".jsonl"),
        ("sharegpt-format-fastchat/dummy_conversation.json", "sharegpt", "alpaca", ".json"),
    ],
)
def test_chats_through_instruction_formats_lose_nothing(
    shared_data, tmp_path, rel, fmt, via, suffix
):
    src = shared_data / "datasets" / rel
    ws = Workspace.create(tmp_path / "w.sqlite")
    import_file(ws, src)
    export(ws, via, tmp_path / f"via{suffix}")
    ws2 = Workspace.create(tmp_path / "w2.sqlite")
    import_file(ws2, tmp_path / f"via{suffix}", via)
    out = tmp_path / ("back" + export_suffix(fmt, src))
    export(ws2, fmt, out)
    assert load(out) == unique(load(src))
    for w in (ws, ws2):
        w.close()


def test_alpaca_refuses_tool_turns_it_cannot_hold(shared_data, tmp_path):
    from workbench.core.errors import UserInputError

    ws = Workspace.create(tmp_path / "w.sqlite")
    import_file(ws, shared_data / "datasets" / LF / "glaive_toolcall_en_demo.json")
    with pytest.raises(UserInputError) as exc:
        export(ws, "alpaca", tmp_path / "a.json")
    assert "alpaca cannot hold everything in 10 of 39 examples" in str(exc.value)
    assert "earlier turns with tool calls or other roles in 10" in str(exc.value)
    assert "sharegpt" in (exc.value.hint or "")
    assert not (tmp_path / "a.json").exists()
    ws.close()
