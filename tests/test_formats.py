"""Instruction files in and out: round trips for every format, the OpenAI chat checker,
selections, atomic writes, the hf dataset folder, the CLI, and the real Self-Instruct files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.core.errors import Cancelled, UserInputError
from workbench.core.formats import registry
from workbench.core.formats.common import join_instruction_input
from workbench.core.formats.exporter import export
from workbench.core.formats.importer import import_file, preview_file, read_file
from workbench.core.formats.openai_chat import validate_openai_chat
from workbench.core.formats.validation import Problems
from workbench.core.inspect.overrides import set_override
from workbench.core.jobs import CancelToken
from workbench.core.store.runs import create_run, record_call
from workbench.core.store.tasks import Instance, Task, add_task, iter_tasks
from workbench.core.store.workspace import Workspace

FILE_FORMATS = [
    "selfinstruct-seed",
    "selfinstruct-instances",
    "selfinstruct-generated",
    "selfinstruct-finetune",
    "alpaca",
    "dolly",
    "sharegpt",
    "openai-chat",
]


FRENCH_HISTORY = [
    {"role": "user", "content": "Bonjour"},
    {"role": "assistant", "content": "Salut !"},
]


def sample_tasks() -> list[Task]:
    return [
        Task(
            "Translate the sentence into French.",
            [
                Instance("Good morning, everyone.", "Bonjour à tous."),
                Instance("Thank you.", "Merci."),
            ],
            False,
            name="translate",
        ),
        Task(
            "Is this review positive or negative?",
            [Instance("Loved it — 10/10 🎉", "Positive"), Instance("Awful.", "Negative")],
            True,
        ),
        Task(
            "Write a haiku about the sea.",
            [
                Instance(
                    "", "Waves fold into foam\nsalt wind", meta={"category": "creative_writing"}
                )
            ],
            False,
        ),
        # System prompt and earlier turns belong to the example (issue 18), not to the task.
        Task(
            "Résume ce texte en une phrase.",
            [
                Instance(
                    "Le chat dort. Il pleut dehors.",
                    "Le chat dort pendant la pluie.",
                    system="Tu es concis.",
                    history=FRENCH_HISTORY,
                )
            ],
            None,
        ),
        Task("List three prime numbers.", [], False),  # no instance: only task-level formats
    ]


def fill(ws: Workspace, tasks: list[Task] | None = None) -> list[int]:
    return [add_task(ws, t) for t in (tasks or sample_tasks())]


def examples(tasks: list[Task]) -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        (t.instruction, [(i.input, i.output) for i in t.instances]) for t in tasks if t.instances
    ]


def reimport(tmp_path: Path, out: Path, fmt: str | None) -> list[Task]:
    ws2 = Workspace.create(tmp_path / f"re-{out.name}.sqlite")
    try:
        import_file(ws2, out, fmt)
        return iter_tasks(ws2)
    finally:
        ws2.close()


@pytest.mark.parametrize(
    "fmt, name",
    [
        ("selfinstruct-seed", "seed.jsonl"),
        ("selfinstruct-instances", "all_generated_instances.jsonl"),
        ("selfinstruct-finetune", "ft.jsonl"),
        ("alpaca", "a.json"),
        ("alpaca", "a.jsonl"),
        ("dolly", "d.jsonl"),
        ("hf", "dataset"),
    ],
)
def test_round_trip_keeps_instructions_inputs_outputs(tmp_workspace, tmp_path, fmt, name):
    fill(tmp_workspace)
    original = iter_tasks(tmp_workspace)
    out = tmp_path / name
    # The Self-Instruct files hold no system prompt or history: refused, or left out (lossy.py).
    lossy = fmt in ("selfinstruct-instances", "selfinstruct-finetune")
    res = export(tmp_workspace, fmt, out, lossy=lossy)
    assert res.left_out == ({"system": 1, "history": 1} if lossy else {})
    n_examples = sum(len(t.instances) for t in original)
    assert res.count == (len(original) if fmt == "selfinstruct-seed" else n_examples)
    # auto-detection must find the same format (the file name tells instances from alpaca)
    back = reimport(tmp_path, out, None)
    assert examples(back) == examples(original)
    if fmt in ("selfinstruct-seed", "hf"):
        assert [bool(t.is_classification) for t in back if t.instances] == [
            bool(t.is_classification) for t in original if t.instances
        ]
    if fmt == "selfinstruct-seed":
        assert len(back) == len(original)  # the instance-less task too
        assert [t.source for t in back] == ["seed"] * len(original)


def test_alpaca_dolly_keep_their_extra_fields(tmp_workspace, tmp_path):
    fill(tmp_workspace)
    export(tmp_workspace, "alpaca", tmp_path / "a.json")
    records = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    french = [r for r in records if r["instruction"].startswith("Résume")][0]
    assert french["system"] == "Tu es concis." and french["history"] == [["Bonjour", "Salut !"]]
    assert "system" not in records[0]
    back = {t.instruction: t for t in reimport(tmp_path, tmp_path / "a.json", "alpaca")}
    assert back["Résume ce texte en une phrase."].instances[0].history == FRENCH_HISTORY
    export(tmp_workspace, "dolly", tmp_path / "d.jsonl")
    back = {t.instruction: t for t in reimport(tmp_path, tmp_path / "d.jsonl", None)}
    assert back["Write a haiku about the sea."].instances[0].meta["category"] == "creative_writing"


def test_utf8_written_without_escapes(tmp_workspace, tmp_path):
    fill(tmp_workspace)
    for fmt, name in [("alpaca", "a.json"), ("openai-chat", "o.jsonl"), ("sharegpt", "s.json")]:
        export(tmp_workspace, fmt, tmp_path / name)
        text = (tmp_path / name).read_bytes().decode("utf-8")
        assert "Bonjour à tous." in text and "🎉" in text and "\\u" not in text


def test_records_of_one_instruction_with_different_extras_keep_each(tmp_path):
    src = tmp_path / "in.json"
    src.write_text(
        json.dumps(
            [
                {"instruction": "Answer.", "input": "1", "output": "a", "system": "S1"},
                {"instruction": "Answer.", "input": "2", "output": "b", "system": "S2"},
            ]
        ),
        encoding="utf-8",
    )
    ws = Workspace.create(tmp_path / "w.sqlite")
    assert import_file(ws, src).imported == 1
    export(ws, "alpaca", tmp_path / "out.json")
    assert [r["system"] for r in json.loads((tmp_path / "out.json").read_text())] == ["S1", "S2"]
    ws.close()


@pytest.mark.parametrize(
    "fmt, name", [("sharegpt", "s.json"), ("sharegpt", "s.jsonl"), ("openai-chat", "o.jsonl")]
)
def test_chat_round_trip(tmp_workspace, tmp_path, fmt, name):
    fill(tmp_workspace)
    out = tmp_path / name
    export(tmp_workspace, fmt, out)
    back = reimport(tmp_path, out, None)
    got = [
        (t.instruction, i.input, i.output, i.system, i.history or None)
        for t in back
        for i in t.instances
    ]
    expected = []
    for t in iter_tasks(tmp_workspace):
        for i in t.instances:
            system, history = i.system, i.history or None
            # Neither format has an input field: the input is joined to the instruction in the
            # user turn; the system prompt and the history come back as they were.
            expected.append(
                (join_instruction_input(t.instruction, i.input), "", i.output, system, history)
            )
    assert sorted(got, key=str) == sorted(expected, key=str)


def test_openai_chat_mapping_and_split_option(tmp_workspace, tmp_path):
    fill(tmp_workspace)
    export(tmp_workspace, "openai-chat", tmp_path / "comb.jsonl")
    export(tmp_workspace, "openai-chat", tmp_path / "split.jsonl", user_turn="split")
    split = [json.loads(x)["messages"] for x in (tmp_path / "split.jsonl").read_text().splitlines()]
    comb = [json.loads(x)["messages"] for x in (tmp_path / "comb.jsonl").read_text().splitlines()]
    assert split[0] == [
        {"role": "system", "content": "Translate the sentence into French."},
        {"role": "user", "content": "Good morning, everyone."},
        {"role": "assistant", "content": "Bonjour à tous."},
    ]
    haiku = [m for m in split if "haiku" in m[0]["content"]][0]
    assert [m["role"] for m in haiku] == ["user", "assistant"]  # empty input: no empty turn
    assert comb[0][0] == {
        "role": "user",
        "content": "Translate the sentence into French.\n\nGood morning, everyone.",
    }
    french = [m for m in comb if m[0]["content"] == "Tu es concis."][0]
    assert [m["role"] for m in french] == ["system", "user", "assistant", "user", "assistant"]
    # Read back the way each was written: split gives instruction + input again.
    _, tasks = read_file(tmp_path / "split.jsonl", options={"user_turn": "split"})
    assert (tasks[0].instruction, tasks[0].instances[0].input) == (
        "Translate the sentence into French.",
        "Good morning, everyone.",
    )
    # with a bad record too (every record read on its own), the option still applies
    bad = tmp_path / "split-bad.jsonl"
    bad.write_text((tmp_path / "split.jsonl").read_text() + '{"messages": []}\n')
    problems = Problems()
    _, tasks = read_file(bad, options={"user_turn": "split"}, problems=problems)
    assert problems.total == 1 and tasks[0].instances[0].input == "Good morning, everyone."
    _, tasks = read_file(tmp_path / "split.jsonl")  # a system message is a system prompt
    assert (tasks[0].instruction, tasks[0].instances[0].system) == (
        "Good morning, everyone.",
        "Translate the sentence into French.",
    )


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_every_export_passes_checks_and_openai_files_pass_the_validator(
    tmp_workspace, tmp_path, fmt
):
    fill(tmp_workspace)
    out = tmp_path / f"x-{fmt}.jsonl"
    export(
        tmp_workspace,
        fmt,
        out,
        lossy=fmt in ("selfinstruct-instances", "selfinstruct-finetune", "selfinstruct-generated"),
    )  # see lossy.py
    problems = validate_openai_chat(out)
    assert (problems == []) == (fmt == "openai-chat"), problems
    for opt in ({"user_turn": "split"},) if fmt == "openai-chat" else ():
        export(tmp_workspace, fmt, out, **opt)
        assert validate_openai_chat(out) == []


@pytest.mark.parametrize(
    "line, problem",
    [
        ('{"messages": [{"role": "user", "content": "hi"}]}', "example_missing_assistant_message"),
        (
            '{"messages": [{"role": "user", "content": "hi"}, {"role": "bot", "content": "x"}]}',
            "unrecognized_role",
        ),
        (
            '{"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "x"}]}',
            "missing_content",
        ),
        (
            '{"messages": [{"role": "user"}, {"role": "assistant", "content": "x"}]}',
            "message_missing_key",
        ),
        (
            '{"messages": [{"role": "user", "content": "q", "mood": 1}, '
            '{"role": "assistant", "content": "x"}]}',
            "message_unrecognized_key",
        ),
        (
            '{"messages": [{"role": "user", "content": ["q"]}, {"role": "assistant", "content": "x"}]}',
            "missing_content",
        ),
        ('{"messages": []}', "missing_messages_list"),
        ('{"prompt": "p", "completion": "c"}', "missing_messages_list"),
        ("[1, 2]", "data_type"),
        ('{"messages": [{"role": "user", "content": "q"}', "not valid JSON"),
    ],
)
def test_validator_rejects_hand_made_bad_examples(tmp_path, line, problem):
    good = '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}'
    f = tmp_path / "bad.jsonl"
    f.write_text(good + "\n" + line + "\n", encoding="utf-8")
    problems = validate_openai_chat(f)
    assert problems and all(p.startswith("line 2") for p in problems), problems
    assert any(problem in p for p in problems), problems


# ---------------------------------------------------------------------------------- selections
def test_selections_only_run_tag_subset(tmp_workspace, tmp_path):
    run = create_run(tmp_workspace, "self-instruct", {"preset": "p", "seed": 7})
    ids = fill(
        tmp_workspace,
        [
            Task("A task one.", [Instance("", "1")], meta={"tags": ["math"], "verified": True}),
            Task("A task two.", [Instance("", "2")], meta={"tags": ["x"]}),
            Task("A task three.", [Instance("", "3")], run_id=run),
            Task(
                "A task four.", [Instance("", "4")], meta={"verified": False, "tags": ["math", "y"]}
            ),
        ],
    )
    # Task two was accepted from a candidate that Inspect then dropped (a person's override).
    with tmp_workspace.transaction():
        cid = tmp_workspace.insert(
            "candidates",
            {"run_id": run, "instruction": "A task two.", "decision": "kept", "task_id": ids[1]},
        )
        tmp_workspace.execute("UPDATE tasks SET candidate_id = ? WHERE id = ?", (cid, ids[1]))
    set_override(tmp_workspace, cid, "dropped")

    def outputs(**sel):
        out = tmp_path / "sel.jsonl"
        export(tmp_workspace, "selfinstruct-instances", out, **sel)
        return [json.loads(x)["output"] for x in out.read_text().splitlines()]

    assert outputs() == ["1", "3", "4"]  # the default leaves out what Inspect dropped
    assert outputs(only="including-dropped") == ["1", "2", "3", "4"]
    assert outputs(only="verified") == ["1"]
    assert outputs(run_id=run) == ["3"]
    assert outputs(tag="math") == ["1", "4"]
    assert outputs(task_ids=[ids[3], ids[1]], only="including-dropped") == ["2", "4"]
    assert outputs(task_ids=[ids[3], ids[1]]) == ["4"]
    assert outputs(task_ids=[]) == []
    # The old names still work: kept = not-dropped, all = including-dropped.
    assert outputs(only="kept") == ["1", "3", "4"]
    assert outputs(only="all") == ["1", "2", "3", "4"]
    rows = tmp_workspace.query("SELECT format, count, selection FROM exports ORDER BY id")
    assert len(rows) == 10 and rows[4]["count"] == 2
    assert json.loads(rows[4]["selection"]) == {"only": "not-dropped", "tag": "math"}
    assert json.loads(rows[9]["selection"]) == {"only": "including-dropped"}
    with pytest.raises(UserInputError, match="not-dropped, including-dropped, verified"):
        outputs(only="some")


def test_bad_options_and_paths_are_user_errors(tmp_workspace, tmp_path):
    fill(tmp_workspace)
    with pytest.raises(UserInputError, match="user_turn"):
        export(tmp_workspace, "openai-chat", tmp_path / "o.jsonl", user_turn="both")
    with pytest.raises(UserInputError, match="unknown option"):
        export(tmp_workspace, "alpaca", tmp_path / "o.json", colour="red")
    with pytest.raises(UserInputError, match="unknown format"):
        export(tmp_workspace, "csv", tmp_path / "o.csv")
    with pytest.raises(UserInputError, match="does not exist"):
        export(tmp_workspace, "alpaca", tmp_path / "nowhere" / "o.json")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "mine.txt").write_text("keep me")
    with pytest.raises(UserInputError, match="not empty"):
        export(tmp_workspace, "hf", tmp_path / "busy")
    assert (tmp_path / "busy" / "mine.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "busy",
        "ws.sqlite",
        "ws.sqlite-shm",
        "ws.sqlite-wal",
    ]


# ----------------------------------------------------------------------------- atomic writes
class CancelAfter(CancelToken):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def check(self) -> None:
        self.n -= 1
        if self.n < 0:
            self.cancel()
        super().check()


@pytest.mark.parametrize(
    "fmt, name", [("alpaca", "out.json"), ("openai-chat", "out.jsonl"), ("hf", "out")]
)
def test_cancel_leaves_the_old_file_and_no_temp(tmp_workspace, tmp_path, fmt, name):
    fill(tmp_workspace, [Task(f"Task number {i}.", [Instance("", str(i))]) for i in range(500)])
    out = tmp_path / name
    export(tmp_workspace, fmt, out, task_ids=[1])
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    snapshot = {
        p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and "ws." not in p.name
    }
    events = []
    with pytest.raises(Cancelled):
        export(tmp_workspace, fmt, out, cancel=CancelAfter(250), progress=events.append)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before
    assert {p: p.read_bytes() for p in snapshot} == snapshot
    assert events[0].total == 500 and events[-1].done == 200


def test_failure_while_writing_leaves_nothing(tmp_workspace, tmp_path, monkeypatch):
    fill(tmp_workspace)
    from workbench.core.formats import alpaca

    def broken(tasks, fh, options):
        fh.write("[partial")
        raise OSError("disk on fire")

    monkeypatch.setattr(
        registry,
        "FORMATS",
        {
            **registry.FORMATS,
            "alpaca": registry.FormatSpec(
                "alpaca", "", (".json",), alpaca.read, broken, alpaca.OPTIONS
            ),
        },
    )
    with pytest.raises(OSError):
        export(tmp_workspace, "alpaca", tmp_path / "a.json")
    assert not (tmp_path / "a.json").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert tmp_workspace.scalar("SELECT count(*) FROM exports") == 0


def test_progress_events_for_large_exports(tmp_workspace, tmp_path):
    fill(tmp_workspace, [Task(f"Do thing {i}.", [Instance("", "x")]) for i in range(450)])
    events = []
    export(tmp_workspace, "alpaca", tmp_path / "a.json", progress=events.append)
    assert [e.done for e in events] == [0, 200, 400, 450] and events[-1].total == 450


# ------------------------------------------------------------------------------------ hf folder
def _card_yaml(folder: Path) -> dict:
    import yaml

    text = (folder / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_hf_folder_loads_with_datasets_and_card_matches(tmp_workspace, tmp_path):
    datasets = pytest.importorskip("datasets")
    run = create_run(
        tmp_workspace,
        "self-instruct",
        {"preset": "reference", "seed": 42, "rouge_threshold": 0.7, "api_key": "sk-x"},
    )
    with tmp_workspace.transaction():
        record_call(
            tmp_workspace,
            run_id=run,
            purpose="instruction-generation",
            backend="llama.cpp",
            model="/models/smol.gguf",
            model_sha256="ab" * 32,
            params={},
        )
    fill(
        tmp_workspace,
        sample_tasks()
        + [Task("Generated one.", [Instance("i", "o")], run_id=run, source="generated")],
    )
    out = tmp_path / "ds"
    res = export(tmp_workspace, "hf", out)
    assert (out / "data" / "train.jsonl").is_file()
    ds = datasets.load_dataset(
        "json",
        data_files=str(out / "data" / "train.jsonl"),
        split="train",
        cache_dir=str(tmp_path / "cache"),
    )
    card = _card_yaml(out)
    info = card["dataset_info"]
    features = {f["name"]: f["dtype"] for f in info["features"]}
    assert {k: v.dtype for k, v in ds.features.items()} == features
    assert info["splits"][0]["num_examples"] == len(ds) == res.count == 7
    assert ds[0]["output"] == "Bonjour à tous."
    text = (out / "README.md").read_text(encoding="utf-8")
    for needle in (
        "/models/smol.gguf",
        "ab" * 32,
        "preset: reference",
        "seed: 42",
        "rouge_threshold",
        "records (instances): 7",
    ):
        assert needle in text
    assert "sk-x" not in text
    if (out / "data" / "train.parquet").exists():
        pq = datasets.load_dataset(
            "parquet",
            data_files=str(out / "data" / "train.parquet"),
            split="train",
            cache_dir=str(tmp_path / "cache2"),
        )
        assert {k: v.dtype for k, v in pq.features.items()} == features
        assert pq["instruction"] == ds["instruction"]
    # a second export replaces the first whole
    export(tmp_workspace, "hf", out, task_ids=[1])
    assert _card_yaml(out)["dataset_info"]["splits"][0]["num_examples"] == 2
    assert len((out / "data" / "train.jsonl").read_text().splitlines()) == 2


# ------------------------------------------------------------------------------------- import
def test_import_errors_name_file_line_and_field(tmp_path):
    ws = Workspace.create(tmp_path / "w.sqlite")
    cases = [
        (
            "a.json",
            '[\n  {"instruction": "x", "output": "y"},\n  {"instruction": "z", "output": 3}\n]',
            "alpaca",
            3,
            "output",
        ),
        (
            "d.jsonl",
            '{"instruction": "x", "response": "r"}\n{"instruction": "", "response": "r"}',
            "dolly",
            2,
            "instruction",
        ),
        (
            "s.json",
            '[{"conversations": [{"from": "human", "value": "q"}, {"from": "robot", '
            '"value": "a"}]}]',
            "sharegpt",
            1,
            "conversations[1].from",
        ),
        (
            "o.jsonl",
            '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", '
            '"content": "a"}]}\n\n{"messages": [{"role": "user", "content": "q"}]}',
            "openai-chat",
            3,
            "messages[0]",
        ),
        ("f.jsonl", '{"prompt": "p", "completion": 1}', "selfinstruct-finetune", 1, "completion"),
        (
            "g.jsonl",
            '{"instruction": "x", "request_idx": 0, "avg_similarity_score": "hi"}',
            "selfinstruct-generated",
            1,
            "avg_similarity_score",
        ),
        (
            "h.jsonl",
            '{"instruction": "x", "input": "", "output": "o", "history": [["a"]]}',
            "alpaca",
            1,
            "history[0]",
        ),
    ]
    for name, text, fmt, line, field in cases:
        f = tmp_path / name
        f.write_text(text, encoding="utf-8")
        for given in (fmt, None):
            with pytest.raises(UserInputError) as exc:
                import_file(ws, f, given)
            assert (exc.value.path, exc.value.line, exc.value.field) == (str(f), line, field), name
    assert ws.scalar("SELECT count(*) FROM tasks") == 0
    ws.close()


def test_dedup_exact_and_rouge_and_preview(tmp_path):
    ws = Workspace.create(tmp_path / "w.sqlite")
    add_task(ws, Task("Write a poem about the sea and the waves.", [Instance("", "x")]))
    f = tmp_path / "a.json"
    f.write_text(
        json.dumps(
            [
                {
                    "instruction": "write a poem about  the sea and the waves.",
                    "output": "1",
                },  # exact
                {
                    "instruction": "Write a poem about the sea and its waves.",
                    "output": "2",
                },  # close
                {"instruction": "Sort these numbers from small to large.", "output": "3"},
            ]
        ),
        encoding="utf-8",
    )
    # The exact duplicate brings a new example (a different output): the task gets it (merged);
    # a duplicate is an identical example, not the same instruction (issue 18).
    pre = preview_file(ws, f, dedup_threshold=0.7)
    assert (pre.imported, pre.merged, pre.skipped_similar, pre.preview) == (1, 1, 1, True)
    assert ws.scalar("SELECT count(*) FROM tasks") == 1
    res = import_file(ws, f, dedup_threshold=0.7)
    assert (res.imported, res.merged, res.skipped_similar) == (1, 1, 1)
    assert ws.scalar("SELECT count(*) FROM tasks") == 2
    assert ws.scalar("SELECT count(*) FROM instances") == 3
    again = import_file(ws, f, dedup_threshold=0.7)
    assert (again.imported, again.merged, again.skipped_duplicates) == (0, 0, 2)
    ws.close()
    ws = Workspace.create(tmp_path / "w2.sqlite")
    add_task(ws, Task("Write a poem about the sea and the waves.", [Instance("", "x")]))
    assert import_file(ws, f).to_dict()["imported"] == 2  # without --dedup-rouge: exact only
    ws.close()


def test_reference_run_folder_goes_to_replay(tmp_path, monkeypatch):
    import sys
    import types

    run = tmp_path / "run"
    run.mkdir()
    (run / "machine_generated_instructions.jsonl").write_text("")
    calls = []

    class Res:
        def to_dict(self):
            return {"replayed": True}

    mod = types.ModuleType("workbench.core.selfinstruct.replay")
    mod.replay_reference_run = lambda ws, path, compat=None: calls.append((path, compat)) or Res()
    monkeypatch.setitem(sys.modules, "workbench.core.selfinstruct.replay", mod)
    ws = Workspace.create(tmp_path / "w.sqlite")
    assert import_file(ws, run, compat="fixed").to_dict() == {"replayed": True}
    assert calls == [(run, "fixed")]
    ws.close()


def test_selfcheck_traces_export_dispatches(tmp_workspace, tmp_path):
    res = export(tmp_workspace, "selfcheck-traces", tmp_path / "t.jsonl")
    assert res.count == 0 and (tmp_path / "t.jsonl").read_text() == ""
    assert tmp_workspace.scalar("SELECT format FROM exports") == "selfcheck-traces"


# ------------------------------------------------------------------------------- real files
def test_real_self_instruct_files_import(shared_data, tmp_path):
    si = shared_data / "self_instruct"
    ws = Workspace.create(tmp_path / "w.sqlite")
    seeds = import_file(ws, si / "seed_tasks.jsonl")
    assert (seeds.format, seeds.imported, seeds.classification) == ("selfinstruct-seed", 175, 26)
    user = import_file(ws, si / "user_oriented_instructions.jsonl")
    assert user.format == "selfinstruct-seed"
    assert user.imported + user.merged + user.merged_records + user.skipped_duplicates == 252
    assert (
        ws.scalar(
            "SELECT count(*) FROM tasks WHERE json_extract(meta, '$.motivation_app') IS NOT NULL"
        )
        == user.imported
    )
    gen = import_file(
        ws, si / "reference_run" / "machine_generated_instructions.jsonl", "selfinstruct-generated"
    )
    assert gen.read == 17 and gen.imported + gen.skipped_duplicates == 17
    assert (
        registry.detect_format(si / "reference_run" / "machine_generated_instructions.jsonl")
        == "selfinstruct-generated"
    )
    inst = import_file(ws, si / "reference_run" / "all_generated_instances.jsonl")
    assert inst.format == "selfinstruct-instances" and (inst.read, inst.merged_records) == (23, 8)
    # the same 15 instructions were imported above without instances: they get these
    assert inst.filled == 15 and inst.imported == 0 and inst.instances == 23
    ws2 = Workspace.create(tmp_path / "w2.sqlite")
    src = si / "reference_run" / "all_generated_instances.jsonl"
    assert import_file(ws2, src).imported == 15
    lines = [json.loads(x) for x in src.read_text().splitlines()]
    got = [(t.instruction, i.input, i.output) for t in iter_tasks(ws2) for i in t.instances]
    assert sorted(got) == sorted((r["instruction"], r["input"], r["output"]) for r in lines)
    ws2.close()
    assert ws.integrity_check() == "ok"
    ws.close()


def test_seed_export_of_real_seeds_is_byte_faithful_in_content(shared_data, tmp_path):
    src = shared_data / "self_instruct" / "seed_tasks.jsonl"
    ws = Workspace.create(tmp_path / "w.sqlite")
    import_file(ws, src)
    export(ws, "selfinstruct-seed", tmp_path / "out.jsonl")
    original = [json.loads(x) for x in src.read_text().splitlines()]
    again = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert again == original
    ws.close()


# ------------------------------------------------------------------------------------------ CLI
def test_cli_export_json_and_errors(tmp_path, capsys):
    wsp = tmp_path / "w.sqlite"
    ws = Workspace.create(wsp)
    fill(ws)
    ws.close()
    out = tmp_path / "o.jsonl"
    code = main(
        [
            "export",
            "--format",
            "openai-chat",
            "--out",
            str(out),
            "-w",
            str(wsp),
            "--option",
            "user_turn=combined",
            "--json",
        ]
    )
    stdout, _ = capsys.readouterr()
    assert code == 0
    res = json.loads(stdout)
    assert res["count"] == 6 and res["path"] == str(out) and res["files"] == [str(out)]
    assert validate_openai_chat(out) == []
    code = main(
        [
            "export",
            "--format",
            "openai-chat",
            "--out",
            str(out),
            "-w",
            str(wsp),
            "--option",
            "user_turn",
        ]
    )
    _, err = capsys.readouterr()
    assert code == 2 and "KEY=VALUE" in err
    code = main(["import", str(out), "-w", str(tmp_path / "w2.sqlite"), "--dry-run", "--json"])
    res = json.loads(capsys.readouterr()[0])
    assert code == 0 and res["preview"] and res["format"] == "openai-chat" and res["imported"] == 6


def test_finetune_export_with_the_references_input_rewriting(tmp_workspace, tmp_path):
    """--option rewrite=reference: half of the single-field inputs lose their field name, blank
    lines become single newlines in that half, duplicate pairs go, the order is shuffled; all
    seeded. Off by default (the inputs are written as stored)."""
    from workbench.core.formats.selfinstruct_finetune import decode

    tasks = []
    for i in range(60):
        tasks.append(
            Task(
                f"Classify the sentiment of review {i}.",
                [Instance(f"Review: great film number {i}", "positive")],
                True,
            )
        )
    tasks.append(
        Task(
            "Compare the two sentences.",
            [Instance("Sentence 1: a\n\nSentence 2: b", "same")],
            False,
        )
    )
    tasks.append(
        Task(
            "Compare the two sentences, again.",
            [Instance("Sentence 1: a\n\nSentence 2: b", "same")],
            False,
        )
    )
    for t in tasks:
        add_task(tmp_workspace, t)

    def lines(out, **opts):
        export(tmp_workspace, "selfinstruct-finetune", out, **opts)
        return [json.loads(x) for x in out.read_text().splitlines()]

    plain = lines(tmp_path / "plain.jsonl")
    assert all("Review:" in r["prompt"] for r in plain[:60])  # default: inputs as stored
    ref = lines(tmp_path / "ref.jsonl", rewrite="reference", seed="7")
    again = lines(tmp_path / "ref2.jsonl", rewrite="reference", seed="7")
    assert ref == again  # seeded
    inputs = [decode(r["prompt"], r["completion"])[1] for r in ref]
    stripped = [x for x in inputs if x.startswith("great film number")]
    kept = [x for x in inputs if x.startswith("Review: great film")]
    assert len(stripped) + len(kept) == 60 and 15 < len(stripped) < 45  # about half
    two_fields = [r["prompt"] for r in ref if "Sentence 2: b" in r["prompt"]]
    assert len(two_fields) == 2 and all("Sentence 1: a" in p for p in two_fields)  # never stripped
    # (a prompt template can make instruction and input ambiguous, so match by instruction text)
    order = [next(t.instruction for t in tasks if t.instruction in r["prompt"]) for r in ref]
    assert order != [t.instruction for t in tasks]  # shuffled
    assert sorted(order) == sorted(t.instruction for t in tasks)  # nothing lost (no dup pairs)
    # Identical pairs are written once (the reference's de-duplication after encoding).
    add_task(tmp_workspace, Task("Repeat the word.", [Instance("hello", "hello hello")] * 2, False))
    fixed = lines(tmp_path / "fixed.jsonl", rewrite="reference", templates="fixed")
    assert sum(r["prompt"].startswith("Repeat the word.") for r in fixed) == 1
    assert (
        sum(
            r["prompt"].startswith("Repeat the word.")
            for r in lines(tmp_path / "dup.jsonl", templates="fixed")
        )
        == 2
    )  # default keeps both
    with pytest.raises(UserInputError):
        export(tmp_workspace, "selfinstruct-finetune", tmp_path / "x.jsonl", rewrite="sometimes")
