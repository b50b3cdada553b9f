"""Issue 18, item 5: import ∘ export is the identity, as a Hypothesis property, for every format
that holds records of its own: alpaca (LLaMA-Factory layout), dolly, sharegpt, openai-chat
(chat, KTO, both preference layouts), trl (both styles) and selfinstruct-seed.

Each example is a whole file of random records in the format's own layout, imported into a
fresh workspace and exported again: the records must come back equal, in order, with their ids,
weights, labels, tools, multi-turn context, system prompts, media and extra fields. The
generators stay inside what docs/formats.md lists as normalisations ("Round trips"): identical
records are one example, a missing Alpaca `input` / Dolly `category` is written as "", an OpenAI
example with an empty answer and no tool call is not written, seed lines of one instruction are
one task, key order inside a record is not kept. Every format gets the example fields it holds:
system prompts, empty inputs, histories, weights, tools, preference pairs, KTO labels (Dolly and
seed records as fields of their own). tests/test_formats_store_roundtrip.py checks the other
direction (workspace → file → workspace).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from formats_helpers import unique
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.core.formats.exporter import export
from workbench.core.formats.importer import import_file
from workbench.core.store.workspace import Workspace

# Hypothesis' default count (100) unless WORKBENCH_ROUNDTRIP_EXAMPLES says otherwise.
PROPERTY = settings(
    deadline=None,
    max_examples=int(os.environ.get("WORKBENCH_ROUNDTRIP_EXAMPLES", settings.default.max_examples)),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
words = st.text(alphabet="abcdefghij XYZ\n\t<image>éà🎉", max_size=12)
nonblank = st.builds(lambda a, b: a + b, st.sampled_from(["Q", "Say", "é", "Why", "1"]), words)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | text,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "k"]), inner, max_size=3)
    ),
    max_leaves=6,
)
# Tool definitions as the importers take them (store.examples.tools_problem): a JSON list, or
# the text LLaMA-Factory writes, which parses as JSON.
tools_value = st.lists(json_value, max_size=2) | st.sampled_from(["", "[]", '[{"name": "f"}]'])
extras = st.dictionaries(
    st.sampled_from(["id", "source", "images", "videos", "meta_x"]), json_value, max_size=2
)


_WS: dict[str, Workspace] = {}


def workspace() -> Workspace:
    """One workspace for the module, emptied before each example (creating one per example
    would make the property slow for nothing)."""
    if "ws" not in _WS:
        _WS["dir"] = tempfile.mkdtemp(prefix="roundtrip-")  # type: ignore[assignment]
        _WS["ws"] = Workspace.create(Path(str(_WS["dir"])) / "w.sqlite")
    ws = _WS["ws"]
    with ws.transaction():
        ws.execute("DELETE FROM tasks")
    return ws


def round_trip(
    records: list[dict[str, Any]], fmt: str, suffix: str, jsonl: bool = False
) -> list[Any]:
    ws = workspace()
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / f"in{suffix}"
        if jsonl:
            src.write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
            )
        else:
            src.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
        import_file(ws, src, fmt)
        out = Path(d) / f"out{suffix}"
        export(ws, fmt, out)
        body = out.read_text(encoding="utf-8")
    if body.lstrip().startswith("["):
        return json.loads(body)
    return [json.loads(x) for x in body.split("\n") if x.strip()]


# ----------------------------------------------------------------------------------- alpaca
@st.composite
def alpaca_record(draw: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"instruction": draw(nonblank), "input": draw(text)}
    kind = draw(st.sampled_from(["sft", "preference", "kto"]))
    if kind == "preference":
        rec["chosen"], rec["rejected"] = draw(text), draw(text)
    else:
        rec["output"] = draw(text)
    if draw(st.booleans()):
        rec["system"] = draw(text)
    if draw(st.booleans()):
        rec["history"] = draw(st.lists(st.lists(text, min_size=2, max_size=2), max_size=2))
    if draw(st.booleans()):
        rec["tools"] = draw(st.none() | tools_value)
    if kind == "kto":
        rec[draw(st.sampled_from(["label", "kto_tag"]))] = draw(st.booleans())
    rec.update(draw(extras))
    return rec


@PROPERTY
@given(st.lists(alpaca_record(), min_size=1, max_size=5).map(unique))
def test_alpaca_round_trip(records):
    assert round_trip(records, "alpaca", ".json") == records


# ------------------------------------------------------------------------------------ dolly
turns = st.lists(
    st.builds(lambda r, c: {"role": r, "content": c}, st.sampled_from(["user", "assistant"]), text),
    min_size=1,
    max_size=3,
)


@st.composite
def own_fields(draw: Any) -> dict[str, Any]:
    """An example's own conversation and kind as Dolly and seed records write them."""
    rec: dict[str, Any] = {}
    if draw(st.booleans()):
        rec["system"] = draw(nonblank)
    if draw(st.booleans()):
        rec["history"] = draw(turns)
    kind = draw(st.sampled_from(["sft", "preference", "kto"]))
    if kind == "preference":
        rec["kind"], rec["rejected"] = kind, draw(text)
    elif kind == "kto":
        rec["kind"], rec["label"] = kind, draw(st.booleans())
    if draw(st.booleans()):
        rec["weight"] = draw(st.sampled_from([0, 1, 0.5]))
    if draw(st.booleans()):
        rec["tools"] = draw(tools_value)
    return rec


@st.composite
def dolly_record(draw: Any) -> dict[str, Any]:
    rec = {
        "instruction": draw(nonblank),
        "context": draw(text),
        "response": draw(text),
        "category": draw(text),
    }
    rec.update(draw(own_fields()))
    rec.update(draw(extras))
    return rec


@PROPERTY
@given(st.lists(dolly_record(), min_size=1, max_size=5).map(unique))
def test_dolly_round_trip(records):
    assert round_trip(records, "dolly", ".jsonl", jsonl=True) == records


# --------------------------------------------------------------------------------- sharegpt
def sg(speaker: str, value: str) -> dict[str, str]:
    return {"from": speaker, "value": value}


@st.composite
def sharegpt_record(draw: Any) -> dict[str, Any]:
    anyturn = st.builds(
        sg,
        st.sampled_from(
            ["human", "gpt", "function_call", "observation", "user", "assistant", "chatgpt"]
        ),
        text,
    )
    conv: list[dict[str, str]] = []
    rec: dict[str, Any] = {}
    layout = draw(st.sampled_from(["turn", "key", "none"]))
    if layout == "turn":
        conv.append(sg("system", draw(text)))
    elif layout == "key":
        rec["system"] = draw(text)
    conv += draw(st.lists(anyturn, max_size=3))  # opening greetings, earlier turns
    conv.append(sg(draw(st.sampled_from(["human", "user"])), draw(nonblank)))
    conv += draw(
        st.lists(st.builds(sg, st.sampled_from(["function_call", "observation"]), text), max_size=2)
    )
    kind = draw(st.sampled_from(["sft", "preference", "kto"]))
    if kind == "preference":
        rec["conversations"] = conv
        rec["chosen"], rec["rejected"] = sg("gpt", draw(text)), sg("gpt", draw(text))
    else:
        conv.append(sg(draw(st.sampled_from(["gpt", "function_call"])), draw(text)))
        conv += draw(
            st.lists(st.builds(sg, st.sampled_from(["human", "observation"]), text), max_size=1)
        )  # an unanswered last turn
        rec["conversations"] = conv
        if kind == "kto":
            rec["label"] = draw(st.booleans())
    if draw(st.booleans()):
        rec["tools"] = draw(st.sampled_from(["[]", '[{"name": "f"}]']))
    rec.update(draw(extras))
    return rec


@PROPERTY
@given(st.lists(sharegpt_record(), min_size=1, max_size=5).map(unique))
def test_sharegpt_round_trip(records):
    assert round_trip(records, "sharegpt", ".json") == records


@PROPERTY
@given(
    st.lists(
        st.builds(lambda s, a: {"conversations": [sg("system", s), sg("gpt", a)]}, nonblank, text),
        min_size=1,
        max_size=3,
    ).map(unique)
)
def test_sharegpt_system_assistant_chats_round_trip(records):
    assert round_trip(records, "sharegpt", ".json") == records


# ------------------------------------------------------------------------------ openai-chat
CALL = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]


def msg(role: str, content: Any, **kw: Any) -> dict[str, Any]:
    return {"role": role, "content": content, **kw}


@st.composite
def openai_answer(draw: Any) -> dict[str, Any]:
    m = draw(st.sampled_from(["text", "call"]))
    out = (
        msg("assistant", draw(nonblank)) if m == "text" else msg("assistant", None, tool_calls=CALL)
    )
    if draw(st.booleans()):
        out["weight"] = draw(st.sampled_from([0, 1]))
    return out


@st.composite
def openai_record(draw: Any) -> dict[str, Any]:
    # OpenAI's checker takes no message without content (lossy.py refuses to write one)
    said = text.filter(bool)
    earlier = st.one_of(
        st.builds(msg, st.just("user"), said),
        st.builds(lambda t, w: msg("assistant", t, weight=w), said, st.sampled_from([0, 1])),
        st.builds(msg, st.just("assistant"), said),
        st.builds(lambda t: msg("tool", t, tool_call_id="c1"), said),
    )
    msgs: list[dict[str, Any]] = []
    if draw(st.booleans()):
        msgs.append(msg("system", draw(nonblank)))
    msgs += draw(st.lists(earlier, max_size=3))
    user_text = draw(nonblank)
    msgs.append(
        msg("user", draw(st.sampled_from([user_text, [{"type": "text", "text": user_text}]])))
    )
    if draw(st.booleans()):
        msgs += [
            msg("assistant", None, tool_calls=CALL),
            msg("tool", draw(said), tool_call_id="c1"),
        ]
    kind = draw(st.sampled_from(["sft", "kto", "pref-openai", "pref-messages"]))
    rec: dict[str, Any]
    if kind == "pref-openai":
        rec = {
            "input": {"messages": msgs},
            "preferred_output": [msg("assistant", draw(nonblank))],
            "non_preferred_output": [msg("assistant", draw(nonblank))],
        }
        if draw(st.booleans()):
            rec["input"]["tools"] = [{"type": "function", "function": {"name": "f"}}]
        return rec
    if kind == "pref-messages":
        rec = {
            "messages": msgs,
            "chosen": msg("assistant", draw(nonblank)),
            "rejected": msg("assistant", draw(nonblank)),
        }
    else:
        msgs.append(draw(openai_answer()))
        if draw(st.booleans()):
            msgs.append(msg("user", draw(text)))  # unanswered: left out, kept
        rec = {"messages": msgs}
        if kind == "kto":
            rec["label"] = draw(st.booleans())
    if draw(st.booleans()):
        rec["tools"] = [{"type": "function", "function": {"name": "f"}}]
    rec.update(draw(extras))
    return rec


@PROPERTY
@given(st.lists(openai_record(), min_size=1, max_size=5).map(unique))
def test_openai_chat_round_trip(records):
    assert round_trip(records, "openai-chat", ".jsonl", jsonl=True) == records


# -------------------------------------------------------------------------------------- trl
@st.composite
def trl_record(draw: Any) -> dict[str, Any]:
    standard = draw(st.booleans())
    user = draw(nonblank)
    if standard:
        rec: dict[str, Any] = {"prompt": user}
        answer = st.builds(lambda t: t, text)
    else:
        prompt = []
        if draw(st.booleans()):
            prompt.append(msg("system", draw(nonblank)))
        prompt += draw(
            st.lists(
                st.builds(msg, st.sampled_from(["user", "assistant"]), text), max_size=2
            ).filter(lambda ts: not ts or ts[0]["role"] == "user")
        )
        prompt.append(msg("user", user))
        rec = {"prompt": prompt}
        answer = st.builds(lambda t: [msg("assistant", t)], text)
    if draw(st.booleans()):
        rec["chosen"], rec["rejected"] = draw(answer), draw(answer)
    else:
        rec["completion"] = draw(answer)
        rec["label"] = draw(st.booleans())
        if not standard and draw(st.booleans()):
            rec["completion"][0]["weight"] = draw(st.sampled_from([0, 1]))
    if draw(st.booleans()):
        rec["tools"] = [{"type": "function", "function": {"name": "f"}}]
    rec.update(draw(extras))
    return rec


@PROPERTY
@given(st.lists(trl_record(), min_size=1, max_size=5).map(unique), st.booleans())
def test_trl_round_trip(records, standard):
    records = [r for r in records if isinstance(r["prompt"], str) == standard] or records[:1]
    assert round_trip(records, "trl", ".jsonl", jsonl=True) == records


# ---------------------------------------------------------------------------- seed (tasks)
@st.composite
def seed_line(draw: Any, i: int) -> dict[str, Any]:
    rec: dict[str, Any] = {}
    if draw(st.booleans()):
        rec["id"] = f"seed_task_{i}"
    if draw(st.booleans()):
        rec["name"] = draw(nonblank)
    rec["instruction"] = f"Task {i}: " + draw(words)
    rec["instances"] = draw(
        st.lists(
            st.builds(lambda a, b, own: {"input": a, "output": b, **own}, text, text, own_fields()),
            max_size=2,
            unique_by=lambda i: json.dumps(i, sort_keys=True),
        )
    )
    if draw(st.booleans()):
        rec["is_classification"] = draw(st.booleans())
    if draw(st.booleans()):
        rec["instruction_type"] = draw(text)
    return rec


@PROPERTY
@given(st.integers(1, 4).flatmap(lambda n: st.tuples(*[seed_line(i) for i in range(n)])))
def test_seed_round_trip(lines):
    lines = list(lines)
    assert round_trip(lines, "selfinstruct-seed", ".jsonl", jsonl=True) == lines
