"""CoT job orchestration with the scripted backend: sources, judging, records, resume, cancel."""

from __future__ import annotations

import json

import pytest

from workbench.core.cot import job, sources
from workbench.core.cot.rationale import CotPrompts, judge
from workbench.core.errors import Cancelled, UserInputError
from workbench.core.jobs import CancelToken
from workbench.core.llm.scripted import ScriptedBackend
from workbench.core.store.tasks import get_task

GSM = [
    {
        "question": "Tom has 3 apples and buys 4 more. How many apples does he have?",
        "answer": "3 + 4 = <<3+4=7>>7\n#### 7",
    },
    {
        "question": "A book costs $1,200 and a pen $50. What do both cost?",
        "answer": "1200 + 50 = 1250\n#### 1,250",
    },
]


def _write(tmp_path, rows, name="data.jsonl"):
    p = tmp_path / name
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return p


def test_sources_detect_each_record_kind(tmp_path):
    p = _write(
        tmp_path,
        [
            GSM[1],
            {
                "context": "Cities with more parks report less stress.",
                "question": "Which option weakens the argument?",
                "options": [
                    "Parks are costly.",
                    "Stressed people move away from parks.",
                    "Parks have trees.",
                ],
                "answer": 1,
            },
            {
                "instruction": "Given the premises, state what follows.",
                "input": "All men are mortal. Socrates is a man.",
                "output": "Socrates is mortal.",
                "type": "infer",
            },
            {"instruction": "Add the numbers.", "input": "2 and 5", "output": "7"},
        ],
    )
    gsm, choice, infer, num = sources.load_file(p)
    assert (gsm.source, gsm.answer_kind, gsm.gold_answer, gsm.gold_output) == (
        "gsm8k",
        "number",
        "1250",
        "1,250",
    )
    assert gsm.source_ref == "data.jsonl:1"
    assert (choice.answer_kind, choice.gold_answer) == ("option", "B")
    assert "(B) Stressed people move away from parks." in choice.input
    assert choice.input.startswith("Cities with more parks")
    assert (infer.cot_type, infer.answer_kind, infer.gold_answer) == (
        "infer",
        "text",
        "socrates is mortal",
    )
    assert (num.answer_kind, num.gold_answer) == ("number", "7")
    assert len(sources.load_file(p, limit=2)) == 2


@pytest.mark.parametrize(
    "row, line_field",
    [
        ({"question": "q", "answer": "no marker and no number"}, "answer"),
        ({"question": "q", "options": ["a", "b"], "answer": "D"}, "answer"),
        ({"question": "q", "options": ["a", "b"], "answer": 5}, "answer"),
        ({"instruction": "x", "output": "y", "type": "poem"}, "type"),
        ({"something": "else"}, None),
    ],
)
def test_sources_errors_name_line_and_field(tmp_path, row, line_field):
    p = _write(tmp_path, [GSM[0], row])
    with pytest.raises(UserInputError) as err:
        sources.load_file(p)
    assert err.value.line == 2 and err.value.field == line_field
    assert "data.jsonl" in str(err.value)


def test_sources_bad_json_line(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text(json.dumps(GSM[0]) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(UserInputError) as err:
        sources.load_file(p)
    assert err.value.line == 2


def test_judge_modes():
    prompts = CotPrompts.load()
    item = sources.CotItem("gsm8k", "math", "q", "7", "7", "number")
    ok = judge("3 + 4 = 7 apples in all.", item, "sample", prompts)
    assert ok.kept and ok.output.endswith("The answer is 7.")
    assert (
        judge("3 + 4 = 8 apples. The answer is 8.", item, "sample", prompts).reason
        == "wrong-answer"
    )
    assert judge("I cannot tell how many apples.", item, "sample", prompts).reason == "no-answer"
    assert judge("7", item, "sample", prompts).reason == "empty"
    # rationalize: kept only when its own reasoning reaches the gold answer (STaR) ...
    kept = judge("He starts with 3 and adds the 4 he buys: 7.", item, "rationalize", prompts)
    assert kept.kept and kept.output == (
        "He starts with 3 and adds the 4 he buys: 7.\nThe answer is 7."
    )
    # ... not when it reaches none (the gold answer is never appended to make it one) ...
    none = judge("He starts with some apples and buys more.", item, "rationalize", prompts)
    assert (none.kept, none.reason) == (False, "no-answer")
    # ... nor when it argues for another answer
    bad = judge("He has 3 and buys 4, so the answer is 12.", item, "rationalize", prompts)
    assert (bad.kept, bad.reason) == (False, "wrong-answer")
    # the answer line is not doubled
    assert (
        judge("3 + 4 = 7.\nThe answer is 7.", item, "rationalize", prompts).output.count(
            "answer is"
        )
        == 1
    )


def _run(ws, items, backend, **cfg):
    run_id = job.start_cot_run(ws, items, job.CotConfig(**cfg), backend=backend)
    return run_id, job.cot_run(ws, backend, run_id)


def test_sample_mode_keeps_only_correct_paths(tmp_workspace, tmp_path):
    ws = tmp_workspace
    items = sources.load_file(_write(tmp_path, GSM))
    replies = {
        "Tom": [
            "3 + 4 = 7. The answer is 7.",
            "3 + 4 = 8. The answer is 8.",
            "No idea at all, sorry.",
        ],
        "book": ["1200 + 50 = 1,250 dollars. The answer is $1,250."],
    }
    counters = {"Tom": 0, "book": 0}

    def respond(prompt):
        key = "Tom" if "Tom" in prompt else "book"
        out = replies[key][counters[key] % len(replies[key])]
        counters[key] += 1
        return out

    backend = ScriptedBackend(respond)
    run_id, stats = _run(ws, items, backend, mode="sample", samples=3)
    assert (stats["items"], stats["samples"], stats["kept"]) == (2, 6, 4)
    assert stats["dropped"] == {"no-answer": 1, "wrong-answer": 1}
    per_item = job.item_stats(ws, run_id)
    assert [(r["samples"], r["kept"]) for r in per_item] == [(3, 1), (3, 3)]
    assert per_item[0]["agreement"] == pytest.approx(1 / 3)
    assert per_item[1]["agreement"] == 1.0
    # every kept path became a record carrying the question, pointing at its call
    assert len(stats["task_ids"]) == 4
    for tid in stats["task_ids"]:
        task = get_task(ws, tid)
        assert task.meta["cot"]["run"] == run_id and "cot" in task.meta["tags"]
        assert task.instances[0].input in (items[0].input, items[1].input)
        call = ws.query(
            "SELECT purpose, messages FROM model_calls WHERE id = ?", (task.meta["cot"]["call"],)
        )[0]
        assert call["purpose"] == "cot-sample" and task.instances[0].input in call["messages"]
    # every call recorded, with the run
    assert ws.scalar("SELECT count(*) FROM model_calls WHERE run_id = ?", (run_id,)) == 6
    assert ws.query("SELECT status FROM runs WHERE id = ?", (run_id,))[0]["status"] == "finished"


def test_rationalize_prompt_shows_gold_and_sample_does_not(tmp_workspace, tmp_path):
    items = sources.load_file(_write(tmp_path, GSM[:1]))
    backend = ScriptedBackend(["He starts with three apples and buys four more: 3 + 4 = 7."])
    _, stats = _run(tmp_workspace, items, backend, mode="rationalize", samples=1)
    assert stats["kept"] == 1 and "correct final answer is 7" in backend.prompts[0]
    backend2 = ScriptedBackend(["x y z w"])
    _run(tmp_workspace, items, backend2, mode="sample", samples=1)
    assert "7" not in backend2.prompts[0].split("Problem:")[1].split("Think")[0].replace(
        "Tom has 3 apples and buys 4 more", ""
    )


def test_resume_after_cancel_samples_only_what_is_missing(tmp_workspace, tmp_path):
    ws = tmp_workspace
    items = sources.load_file(_write(tmp_path, GSM))
    token = CancelToken()
    calls = []

    def respond(prompt):
        calls.append(prompt)
        if len(calls) == 3:
            token.cancel()
        return "so the answer is 7 apples"

    backend = ScriptedBackend(respond)
    run_id = job.start_cot_run(ws, items, job.CotConfig(mode="sample", samples=2), backend=backend)
    with pytest.raises(Cancelled):
        job.cot_run(ws, backend, run_id, cancel=token)
    assert ws.query("SELECT status FROM runs WHERE id = ?", (run_id,))[0]["status"] == "cancelled"
    # the call cancelled mid-generation is discarded, not stored half-done
    assert job.cot_stats(ws, run_id)["samples"] == 2
    stats = job.cot_run(ws, backend, run_id)
    assert len(calls) == 5 and stats["samples"] == 4
    # item 1 (gold 7) kept both, item 2 (gold 1250) none
    assert [(r["samples"], r["kept"]) for r in job.item_stats(ws, run_id)] == [(2, 2), (2, 0)]
    assert (
        ws.scalar(
            "SELECT count(*) FROM cot_paths p JOIN cot_items i ON i.id = p.item_id "
            "WHERE i.run_id = ? GROUP BY p.item_id, p.sample_index HAVING count(*) > 1",
            (run_id,),
        )
        is None
    )


def test_records_from_workspace_tasks_export(tmp_workspace, tmp_path):
    from workbench.core.store.tasks import Instance, Task, add_task

    ws = tmp_workspace
    tid = add_task(
        ws,
        Task(
            "Multiply the two numbers.",
            [Instance("6 and 7", "42"), Instance("2 and 2", "")],
            source="seed",
        ),
    )
    items = sources.from_workspace(ws, [tid])
    assert len(items) == 1 and items[0].instruction == "Multiply the two numbers."
    backend = ScriptedBackend(["Six times seven is 42, so the answer is 42."])
    _, stats = _run(ws, items, backend, mode="sample", samples=1)
    assert stats["kept"] == 1
    from workbench.core.formats import exporter

    out = tmp_path / "cot.json"
    exporter.export(ws, "alpaca", out, task_ids=stats["task_ids"])
    records = json.loads(out.read_text(encoding="utf-8"))
    assert records == [
        {
            "instruction": "Multiply the two numbers.",
            "input": "6 and 7",
            "output": "Six times seven is 42, so the answer is 42.",  # no second answer line
        }
    ]


def test_bad_config():
    with pytest.raises(UserInputError):
        job.CotConfig(mode="dream")
    with pytest.raises(UserInputError):
        job.CotConfig(samples=0)
