"""Issue 18: no writer drops an example silently. For every export format, as a Hypothesis
property over random workspaces (empty answers and prompts, system prompts, histories, tool
turns, preference pairs, KTO labels, weights, tools, tasks without examples, identical
examples): the export either writes every selected example, or is refused with nothing written
(lossy.py), or with `--lossy` reports what it left out, so that

    records in the file + examples reported left out whole == examples selected

(counted here from the file itself), and selected tasks without examples are counted in
`without_examples` by the formats that write examples. Task-level formats write every task.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.core.errors import UserInputError
from workbench.core.formats import registry, selfinstruct_generated
from workbench.core.formats.exporter import export, without_examples_note
from workbench.core.formats.lossy import REPORTED, WHOLE, LossyExportError
from workbench.core.formats.openai_chat import validate_openai_chat
from workbench.core.store.tasks import Instance, Task, add_task
from workbench.core.store.workspace import Workspace

PROPERTY = settings(
    deadline=None,
    max_examples=int(os.environ.get("WORKBENCH_ROUNDTRIP_EXAMPLES", 20)),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# format, file name, export options
WRITERS = [
    (f, "out.jsonl", {})
    for f in registry.export_formats()
    if f not in (registry.SELFCHECK_TRACES, "hf")
] + [
    ("selfinstruct-finetune", "out.jsonl", {"rewrite": "reference"}),
    ("openai-chat", "out.jsonl", {"user_turn": "split"}),
    ("hf", "out", {}),
]
TASK_LEVEL = ("selfinstruct-seed", "selfinstruct-generated")

text = st.sampled_from(["", " ", "a", "b c", "Q: 1"])
CALL = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]


@st.composite
def instance(draw: Any) -> Instance:
    inst = Instance(draw(text), draw(text))
    if draw(st.booleans()):
        inst.system = draw(st.sampled_from(["S", "Be brief."]))
    history = draw(st.sampled_from(["none", "pairs", "tool"]))
    if history == "pairs":
        inst.history = [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": draw(text)},
        ]
        if draw(st.booleans()):
            inst.history[1]["weight"] = draw(st.sampled_from([0, 1, 0.5]))
    elif history == "tool":
        inst.history = [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": None, "tool_calls": CALL},
            {"role": "tool", "content": "42", "tool_call_id": "c1"},
        ]
    kind = draw(st.sampled_from(["sft", "preference", "kto"]))
    if kind == "preference":
        inst.kind, inst.rejected = kind, draw(text)
    elif kind == "kto":
        inst.kind, inst.label = kind, draw(st.booleans())
    if draw(st.booleans()):
        # OpenAI's checker takes 0 or 1 only; LLaMA-Factory/ShareGPT keep any number
        inst.weight = draw(st.sampled_from([0.0, 1.0, 0.5]))
    if draw(st.booleans()):
        inst.tools = [{"type": "function", "function": {"name": "f"}}]
    if draw(st.booleans()):
        inst.meta["_assistant"] = {"content": None, "tool_calls": CALL}
    return inst


tasks_strategy = st.lists(
    st.tuples(
        st.sampled_from(["", "Say it.", "Add.", "Name one."]), st.lists(instance(), max_size=3)
    ),
    min_size=1,
    max_size=4,
)

_WS: dict[str, Workspace] = {}


def workspace() -> Workspace:
    if "ws" not in _WS:
        _WS["ws"] = Workspace.create(Path(tempfile.mkdtemp(prefix="writers-")) / "w.sqlite")
    ws = _WS["ws"]
    with ws.transaction():
        ws.execute("DELETE FROM tasks")
    return ws


def records(out: Path) -> list[Any]:
    if out.is_dir():
        out = out / "data" / "train.jsonl"
    body = out.read_text(encoding="utf-8")
    if body.lstrip().startswith("["):
        return json.loads(body)
    return [json.loads(x) for x in body.split("\n") if x.strip()]


@pytest.mark.parametrize(
    "fmt, name, options", WRITERS, ids=[f"{f}-{'-'.join(o.values())}" for f, _, o in WRITERS]
)
def test_written_and_reported_make_the_selection(fmt, name, options):
    @PROPERTY
    @given(tasks_strategy, st.booleans())
    def check(drawn, lossy):
        ws = workspace()
        seq = 0
        with ws.transaction():
            for instruction, insts in drawn:
                for inst in insts:
                    inst.seq, seq = seq, seq + 1
                # the same instruction twice: add_task keeps both tasks (the store allows it)
                add_task(ws, Task(instruction=instruction, instances=insts))
        selected = sum(len(insts) for _, insts in drawn)
        bare = sum(not insts for _, insts in drawn)
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / name
            try:
                res = export(ws, fmt, out, only="including-dropped", lossy=lossy, **options)
            except LossyExportError as exc:
                assert not lossy and exc.examples > 0 and not out.exists()
                return
            except UserInputError as exc:  # only bare tasks: nothing to write, refused
                assert fmt not in TASK_LEVEL and 0 < bare == len(drawn), exc
                assert "no examples" in exc.message and not out.exists()
                return
            got = records(out)
            # what the reader gives back (an empty instruction made readable)
            written = sum(
                len(selfinstruct_generated.parse_line({**r, "instruction": "x"}, out, n).instances)
                for n, r in enumerate(got, 1)
                if fmt == "selfinstruct-generated"
            )
            if fmt == "openai-chat" and got:
                # what we write, our own checker (OpenAI's rules) accepts; a preference record
                # is checked as its input with the preferred answer
                chats = [
                    r
                    if "messages" in r
                    else {"messages": r["input"]["messages"] + r["preferred_output"]}
                    for r in got
                ]
                check_file = Path(d) / "chats.jsonl"
                check_file.write_text("\n".join(json.dumps(c) for c in chats), encoding="utf-8")
                assert validate_openai_chat(check_file) == []
        whole = sum(n for k, n in res.left_out.items() if k in WHOLE or k == "duplicates")
        # Tasks too: every selected task is counted, and one without examples is either
        # written (task-level formats) or reported, never silently missing.
        assert res.tasks == len(drawn)
        if fmt in TASK_LEVEL:
            assert res.without_examples == 0
            assert len(got) == res.count == len(drawn)
            if fmt == "selfinstruct-seed":
                assert sum(len(r.get("instances", [])) for r in got) == selected
            else:  # examples in raw_instances: read back, or reported left out (--lossy)
                assert written + res.left_out.get("examples", 0) == selected
        else:
            assert len(got) == res.count
            assert res.count + whole == selected
            assert res.without_examples == bare
            note = without_examples_note(res.without_examples)
            assert (note.split()[0] == str(bare)) if bare else note == ""
        if not lossy:
            assert not set(res.left_out) - set(REPORTED)

    check()
