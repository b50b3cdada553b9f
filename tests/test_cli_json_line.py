"""`--json` output never crashes on text UTF-8 cannot encode (second new-user trial: a lone
surrogate in a rejected record's field name crashed `import --json` after the import was
saved), and a refusal's "formats that keep them" all do keep them."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from workbench.cli.common import json_line
from workbench.core.formats import registry
from workbench.core.formats.exporter import export
from workbench.core.formats.lossy import LossyExportError
from workbench.core.store.tasks import Instance, Task, add_task
from workbench.core.store.workspace import Workspace

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),  # st.text() includes lone surrogates
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(values)
def test_json_line_is_one_encodable_line_of_the_same_value(obj):
    line = json_line(obj)
    line.encode("utf-8")  # what stdout does; never raises
    assert line.endswith("\n") and "\n" not in line[:-1]
    assert json.loads(line) == obj


def test_a_refusal_names_only_formats_that_keep_the_fields(tmp_path):
    ws = Workspace.create(tmp_path / "w.sqlite")
    inst = Instance("", "an answer")
    inst.weight = 2.0  # a weight OpenAI does not take, and Alpaca has no weights at all
    add_task(ws, Task(instruction="Say it.", instances=[inst]))
    for fmt in ("openai-chat", "alpaca"):
        try:
            export(ws, fmt, tmp_path / f"{fmt}.jsonl")
        except LossyExportError as exc:
            named = registry.keepers(exc.counts, exclude=fmt)
            assert "alpaca" not in named and "openai-chat" not in named
            for other in named:  # each format named does write it without a refusal
                export(
                    ws, other, tmp_path / f"via-{other}.jsonl" if other != "hf" else tmp_path / "hf"
                )
        else:
            raise AssertionError(f"{fmt} wrote a weight of 2 without a word")
    ws.close()
