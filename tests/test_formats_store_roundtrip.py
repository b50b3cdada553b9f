"""Issue 18: export ∘ import gives the workspace's examples back, as a Hypothesis property, for
every format that writes examples and reads them again.

tests/test_formats_roundtrip.py starts from files (file → workspace → file); this one starts
from the workspace (examples → file → examples), which is how data goes from one format to
another: an example with its own system prompt and an empty input that went through
openai-chat once came back with its system prompt as the instruction. The generator gives
each format what it can hold (lossy.py `HOLDS`): system prompts, empty inputs, plain and
tool histories, weights, tools, preference pairs, KTO labels, extra fields. What comes back
must equal what went out, field by field and in order, up to the normalisations
docs/formats.md lists ("Round trips"):

- chat formats (`sharegpt`, `openai-chat`, `trl`) have no input field: the input comes back
  joined to the instruction in the user turn (`join_instruction_input`);
- each file is imported without `--format`: detection must name the format it was written as
  (or a reader that reads it the same, SAME_READER);
- an example `openai-chat` cannot write (an empty answer: `empty`) is left out with `--lossy`
  and counted in `left_out`, never dropped silently.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from formats_helpers import example_view, unique
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.core.formats import lossy, registry
from workbench.core.formats.common import instruction_of, iter_examples
from workbench.core.formats.exporter import export
from workbench.core.formats.importer import import_file
from workbench.core.store.tasks import Instance, Task, add_task, iter_tasks, normalize_instruction
from workbench.core.store.workspace import Workspace

PROPERTY = settings(
    deadline=None,
    max_examples=int(os.environ.get("WORKBENCH_ROUNDTRIP_EXAMPLES", settings.default.max_examples)),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# (format, file name, chat: no input field)
FORMATS = [
    ("alpaca", "out.json", False),
    ("dolly", "out.jsonl", False),
    ("selfinstruct-seed", "out.jsonl", False),
    ("selfinstruct-instances", "out.jsonl", False),
    ("sharegpt", "out.json", True),
    ("openai-chat", "out.jsonl", True),
    ("trl", "out.jsonl", True),
]

# Formats whose files another reader imports the same way (registry.detect_by_content: the
# reference's instances file is told apart from Alpaca by its name only).
SAME_READER = {"selfinstruct-instances": {"selfinstruct-instances", "alpaca"}}

text = st.text(alphabet="abc XYZ\n\t<image>é🎉", max_size=8)
nonblank = st.builds(lambda a, b: a + b, st.sampled_from(["Q", "Say", "é", "Why"]), text)
TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
CALL = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]


def turn(role: str, content: str, **kw: Any) -> dict[str, Any]:
    return {"role": role, "content": content, **kw}


def tool_turns(fmt: str) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Earlier turns with tool calls, as the format's own roles name them."""
    if fmt == "openai-chat":
        return st.builds(
            lambda q, r: [
                turn("user", q),
                {"role": "assistant", "content": None, "tool_calls": CALL},
                turn("tool", r, tool_call_id="c1"),
                turn("assistant", "done"),
            ],
            nonblank,
            text,
        )
    if fmt == "sharegpt":
        return st.builds(
            lambda q, c, r: [
                turn("user", q),
                turn("function_call", c),
                turn("observation", r),
                turn("assistant", "done"),
            ],
            nonblank,
            text,
            text,
        )
    return st.just([])


@st.composite
def example(draw: Any, fmt: str) -> tuple[str, Instance]:
    holds = registry.get(fmt).holds
    holds = lossy.ALL if holds is None else holds
    chat = dict((f, c) for f, _, c in FORMATS)[fmt]
    inst = Instance(draw(nonblank if chat else text), draw(text))
    if fmt == "selfinstruct-instances":
        return draw(nonblank), inst
    if "system" in holds and draw(st.booleans()):
        inst.system = draw(nonblank)
    if "history" in holds and draw(st.booleans()):
        pairs = draw(st.lists(st.tuples(nonblank, text), min_size=1, max_size=2))
        inst.history = [t for u, a in pairs for t in (turn("user", u), turn("assistant", a))]
    if "tool-history" in holds and draw(st.booleans()):
        inst.history += draw(tool_turns(fmt))
    kind = draw(st.sampled_from(["sft", "preference", "kto"]))
    if kind == "preference" and "rejected" in holds:
        inst.kind, inst.rejected = "preference", draw(text)
    elif kind == "kto" and "label" in holds:
        inst.kind, inst.label = "kto", draw(st.booleans())
    if "weight" in holds and draw(st.booleans()):
        inst.weight = float(draw(st.sampled_from([0, 1])))
    if "tools" in holds and draw(st.booleans()):
        inst.tools = TOOLS
    if draw(st.booleans()):
        inst.meta["id"] = draw(st.integers(0, 9))
    return draw(nonblank), inst


def examples(fmt: str) -> st.SearchStrategy[list[tuple[str, Instance]]]:
    return st.lists(example(fmt), min_size=1, max_size=5)


_WS: dict[str, Workspace] = {}


def workspace(name: str) -> Workspace:
    if name not in _WS:
        d = Path(tempfile.mkdtemp(prefix="store-roundtrip-"))
        _WS[name] = Workspace.create(d / f"{name}.sqlite")
    ws = _WS[name]
    with ws.transaction():
        ws.execute("DELETE FROM tasks")
    return ws


def fill(ws: Workspace, items: list[tuple[str, Instance]]) -> None:
    tasks: dict[str, Task] = {}
    for seq, (instruction, inst) in enumerate(items):
        inst.seq = seq
        tasks.setdefault(instruction, Task(instruction=instruction, source="imported"))
        tasks[instruction].instances.append(inst)
    with ws.transaction():
        for task in tasks.values():
            add_task(ws, task)


def view(ws: Workspace, chat: bool) -> list[tuple[Any, ...]]:
    """The workspace's examples in file order, each as the fields the round trip keeps (an
    input joined to its instruction for a chat format, which has no input field)."""
    return [
        example_view(instruction_of(t, i), i, joined=chat, keep_meta=lambda k: k[:1] != "_")
        for t, _, i, _ in iter_examples(iter_tasks(ws, where="1", params=[]))
    ]


@pytest.mark.parametrize("fmt, name, chat", FORMATS)
def test_export_then_import_gives_the_examples_back(fmt, name, chat):
    @PROPERTY
    @given(examples(fmt))
    def check(items):
        src, dst = workspace("src"), workspace("dst")
        fill(src, items)
        before = view(src, chat)
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / name
            res = export(src, fmt, out, only="including-dropped", lossy=True)
            # Without --format: detection finds the format (or one that reads it the same);
            # an empty file (every example left out) has nothing to detect.
            got = import_file(dst, out, None if res.count else fmt)
        assert got.format in SAME_READER.get(fmt, {fmt}), (fmt, got.format)
        empty = [
            i for i, (_, inst) in enumerate(items) if "empty" in lossy.present(inst) - HOLDS[fmt]
        ]
        assert res.left_out == ({"empty": len(empty)} if empty else {})
        if fmt == "selfinstruct-seed":  # a line per task
            assert res.count == len({instruction for instruction, _ in items})
        else:
            assert res.count == len(items) - len(empty)
        expected = unique([x for i, x in enumerate(before) if i not in empty])
        if fmt == "selfinstruct-seed":  # a line per task: its examples together
            # `fill` makes "Q" and "Q " two tasks, so two lines; the import puts both lines
            # under one task (the same instruction, normalised), line after line, and each
            # example keeps its own instruction.
            group = {normalize_instruction(x[0]): n for n, x in reversed(list(enumerate(expected)))}
            line = {x[0]: n for n, x in reversed(list(enumerate(expected)))}
            expected.sort(key=lambda x: (group[normalize_instruction(x[0])], line[x[0]]))
        assert view(dst, chat) == expected

    check()


HOLDS = {f: registry.get(f).holds or lossy.ALL for f, _, _ in FORMATS}
