"""SELF-INSTRUCT: parsers, filters, prompts and the resumable run, with a scripted backend."""

from __future__ import annotations

import json
import random
import zlib
from collections import Counter

import pytest

from workbench.core.errors import Cancelled, UserInputError
from workbench.core.jobs import CancelToken
from workbench.core.llm.base import GenParams
from workbench.core.llm.scripted import ScriptedBackend
from workbench.core.selfinstruct import filters, parse, prompts
from workbench.core.selfinstruct.presets import PRESETS
from workbench.core.selfinstruct.run import RunConfig, run_self_instruct
from workbench.core.store.tasks import Instance, Task, add_task

WORDS = [
    "apple",
    "river",
    "violin",
    "planet",
    "ladder",
    "copper",
    "whisper",
    "garden",
    "rocket",
    "marble",
    "thunder",
    "pepper",
    "canyon",
    "lantern",
    "falcon",
    "velvet",
    "harbor",
    "meadow",
    "puzzle",
    "saddle",
    "crystal",
    "jungle",
    "anchor",
    "glacier",
    "pillow",
    "ribbon",
    "tunnel",
    "orchard",
    "compass",
    "feather",
    "island",
    "meteor",
    "walnut",
    "blanket",
    "castle",
    "dolphin",
    "engine",
    "fossil",
    "hammer",
    "iceberg",
    "kettle",
    "lemon",
    "magnet",
    "needle",
    "oyster",
    "parrot",
    "quartz",
    "rabbit",
    "sponge",
    "tiger",
    "umbrella",
    "vessel",
    "wagon",
    "yogurt",
    "zipper",
]


def seed_workspace(ws, n: int = 12) -> None:
    rng = random.Random(99)
    for i in range(n):
        add_task(
            ws,
            Task(
                f"Explain the {' '.join(rng.sample(WORDS, 3))} idea number {i}.",
                [Instance("", f"answer {i}")],
                is_classification=(i % 4 == 0),
                source="seed",
            ),
        )


class ChatScript:
    """A fake instruct model: fresh, mutually dissimilar tasks; Yes for tasks that say
    'classify'; instances in the format the step asks for. Like a seeded model, the same
    prompt gets the same answer."""

    def __init__(self, seed: int = 0, bad_every: int = 0) -> None:
        self.seed = seed
        self.bad_every = bad_every
        self.calls = 0

    def __call__(self, prompt: str) -> str:
        self.calls += 1
        last = prompt.strip().splitlines()[-1]
        if "new tasks" in prompt and "Number them" in prompt:
            rng = random.Random(f"{self.seed}:{zlib.crc32(prompt.encode())}")
            items = []
            for k in range(4):
                words = " ".join(rng.sample(WORDS, 5))
                verb = "Classify" if k == 1 else "Write about"
                items.append(f"{9 + k}. {verb} the {words} scene")
            items.append("13. Draw a map of the island")  # blacklist
            items.append("14. Hi")  # too short
            return "Sure!\n" + "\n".join(items)
        if last.endswith("Is it classification?"):
            return "Yes" if "Classify" in prompt.splitlines()[-2] else "No"
        if "Classify" in last:
            return "Class label: Good\nItem: a fine one\nClass label: Bad\nItem: a poor one"
        if self.bad_every and zlib.crc32(last.encode()) % self.bad_every == 0:
            return "I cannot help with that."
        return "Example 1\nInput: one\nOutput: first\nExample 2\nInput: two\nOutput: second"


# ------------------------------------------------------------------------------ parsing
def test_parse_instructions_reference_lowercases_and_fix_keeps_case():
    text = " Write a function in Python.\n10. Give me the value of X.\n11. Name a city"
    ref = [p.text for p in parse.parse_instructions(text, "stop", "reference")]
    ours = [p.text for p in parse.parse_instructions(text, "stop")]
    assert ref == ["Write a function in python.", "Give me the value of x.", "Name a city"]
    assert ours == ["Write a function in Python.", "Give me the value of X.", "Name a city"]


def test_cut_completion_reference_drops_all_fix_drops_last():
    text = " Tell me a joke about cats.\n10. Summarize the plot of a film.\n11. Write a long"
    ref = parse.parse_instructions(text, "length", "reference")
    ours = parse.parse_instructions(text, "length")
    assert all(p.truncated for p in ref)
    assert [p.truncated for p in ours] == [False, False, True]


def test_stop_strings_no_longer_cut_content_at_16():
    completion = " Compute the square root of 16. Show your work.\n10. Name a river in Asia."
    b = ScriptedBackend([completion])
    p = PRESETS["self-instruct"]
    ours = b.complete("x", GenParams(stop=list(p.gen_stop))).text
    ref = b.complete("x", GenParams(stop=list(p.gen_stop_reference))).text
    assert "Show your work" in ours and "Name a river" in ours
    assert ref == " Compute the square root of "


def test_chat_list_parsing_skips_preamble_and_markdown():
    text = "Sure! Here are some tasks:\n\n9. **Plan a picnic for four friends.**\n10) Task: Sort the list."
    assert [p.text for p in parse.parse_chat_instructions(text, "stop")] == [
        "Plan a picnic for four friends.",
        "Sort the list.",
    ]


def test_example_inside_content_splits_only_in_reference_mode():
    raw = (
        "Example 1\nInput: Give a mammal. Example: a cat.\nOutput: A whale.\n"
        "Example 2\nInput: Name a bird.\nOutput: A robin."
    )
    ours = parse.parse_generation_instances(raw, "stop")
    ref = parse.parse_generation_instances(raw, "stop", "reference")
    assert ours == [("Give a mammal. Example: a cat.", "A whale."), ("Name a bird.", "A robin.")]
    assert len(ref) > 2  # "example" inside the text split the instance


def test_classification_instances_output_first_and_length_cut():
    raw = "Class label: Spam\nEmail: Win money now\nClass label: Not spam\nEmail: Lunch at 1?"
    assert parse.parse_classification_instances(raw, "stop") == [
        ("Email: Win money now", "Spam"),
        ("Email: Lunch at 1?", "Not spam"),
    ]
    assert parse.parse_classification_instances(raw, "length") == [("Email: Win money now", "Spam")]
    assert parse.parse_classification_instances("no labels here", "stop") == []


def test_clf_label():
    assert parse.parse_clf_label(" Yes") and not parse.parse_clf_label(" No")
    assert parse.parse_clf_label("Yes.") and not parse.parse_clf_label("Yes.", "reference")


def test_alpaca_blocks():
    text = (
        " Name three primary colors.\n4. Input:\n<noinput>\n4. Output:\nRed, blue, yellow.\n###\n"
        "5. Instruction: Fix the grammar.\n5. Input:\nHe go home.\n5. Output:\nHe goes home.\n###\n"
        "6. Instruction: Cut"
    )
    got = parse.parse_alpaca(text, "length", 4)
    assert [(t.instruction, t.input, t.output) for t in got[:2]] == [
        ("Name three primary colors.", "", "Red, blue, yellow."),
        ("Fix the grammar.", "He go home.", "He goes home."),
    ]
    # The cut last block is kept (dropped as truncated); the reference skips it.
    assert got[2].truncated and got[2].reason == parse.UNPARSABLE
    assert len(parse.parse_alpaca(text, "length", 4, parse.REFERENCE)) == 2


# ------------------------------------------------------------------------------ filters
@pytest.mark.parametrize(
    "text,reason",
    [
        ("Hi there you", "too-short"),
        ("Tell me about " + "very " * 150 + "long things", "too-long"),
        ("Describe the picture in one sentence.", "blacklist"),
        ("Explain how to go to the station quickly.", "blacklist"),
        ("Write a program that adds two numbers.", "write-a-program"),
        ('"Quote" the following sentence back to me.', "punctuation-start"),
        ("Élaborez un plan pour la semaine prochaine.", "non-ascii-start"),
        ("Explain photosynthesis to a child in simple words.", None),
        ("Give the filename extension of a JPEG.", None),  # "file" only as a whole word
    ],
)
def test_instruction_rules_english(text, reason):
    assert filters.instruction_reason(text, filters.InstructionRules.for_lang("en")) == reason


def test_instruction_rules_chinese():
    rules = filters.InstructionRules.for_lang("zh")
    assert filters.instruction_reason("请根据这张图片写一段描述。", rules) == "blacklist"
    assert (
        filters.instruction_reason("写一段描写江南春天早晨的短文。", rules) is None
    )  # non-ASCII ok
    assert filters.instruction_reason("，写一段描写春天的短文。", rules) == "punctuation-start"
    assert filters.instruction_reason("写诗", rules) == "too-short"


def test_instance_filter_rules():
    d = filters.filter_instances([("a", "a"), ("b", ""), ("c:", "x"), ("d", "y"), ("d", "y")])
    assert [x["reason"] for x in d] == [
        "input-equals-output",
        "empty-output",
        "ends-with-colon",
        None,
        "duplicate",
    ]
    conflict = filters.filter_instances([("q", "1"), ("q", "2"), ("r", "3")])
    assert not any(x["kept"] for x in conflict)
    many = filters.filter_instances([(str(i), f"o{i}") for i in range(8)])
    assert [x["input"] for x in many if x["kept"]] == ["0", "1", "2", "3", "4"]


# ------------------------------------------------------------------------------ prompts
def test_reference_templates_load_and_build_reference_prompts(shared_data):
    folder = shared_data / "self_instruct" / "reference_templates"
    t = prompts.Templates.load(folder)
    assert t.sources["clf"].endswith("clf_task_template_1.txt")
    assert t.sources["instruction_gen"].startswith(str(prompts.default_templates_dir()))
    p = prompts.clf_prompt(t.clf, "  Is this email spam?")
    assert p.endswith("Task: Is this email spam?\nIs it classification?")
    header, demos = prompts.split_demos(t.clf)
    assert header.startswith("Can the following task") and demos[0][1] in ("Yes", "No")
    assert len(prompts.clf_messages(t.clf, "X")) == 2 + 2 * len(demos)


def test_our_templates_put_the_fixed_text_first():
    t = prompts.Templates.load()
    header, demos = prompts.split_demos(t.clf)
    assert len(demos) >= 30 and {a for _, a in demos} == {"Yes", "No"}
    a = prompts.instances_messages(t.input_first, "Task one")
    b = prompts.instances_messages(t.input_first, "Task two")
    assert a[:-1] == b[:-1] and a[-1] != b[-1]
    assert prompts.clf_prompt(t.clf, "A").startswith(t.clf)
    gen = prompts.instruction_prompt(t.instruction_gen, ["a", "b:"])
    assert gen.endswith("1. a\n2. b\n3.")


def test_missing_template_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserInputError):
        prompts.Templates.load(tmp_path / "nope")


# ------------------------------------------------------------------------------ runs
def _run(ws, script, **kw):
    return run_self_instruct(ws, ScriptedBackend(script), RunConfig(**kw))


def test_run_stores_every_candidate_with_provenance(tmp_workspace):
    ws = tmp_workspace
    seed_workspace(ws)
    events = []
    s = run_self_instruct(
        ws,
        ScriptedBackend(ChatScript(bad_every=5)),
        RunConfig(preset="chat", target=6, seed=3),
        progress=events.append,
    )
    assert s.accepted == 6
    assert (
        ws.scalar("SELECT count(*) FROM tasks WHERE source='generated' AND run_id=?", (s.run_id,))
        == 6
    )
    rows = ws.query("SELECT * FROM candidates WHERE run_id = ?", (s.run_id,))
    assert len(rows) == s.candidates
    assert {r["decision"] for r in rows} <= {"kept", "dropped"}
    by_reason = Counter(r["reason"] for r in rows if r["decision"] == "dropped")
    assert by_reason == Counter(s.rejected_by_reason)
    assert by_reason["blacklist"] >= 1 and by_reason["too-short"] >= 1
    for r in rows:
        assert r["call_id"] is not None and r["most_similar"] is not None
        assert len(json.loads(r["most_similar"])) == 10
        assert r["avg_similarity_score"] is not None
    kept = [r for r in rows if r["decision"] == "kept"]
    assert len(kept) == 6
    for r in kept:
        assert r["clf_call_id"] and r["instances_call_id"] and r["task_id"]
        task = ws.query("SELECT * FROM tasks WHERE id = ?", (r["task_id"],))[0]
        assert (
            task["candidate_id"] == r["id"] and task["is_classification"] == r["is_classification"]
        )
        calls = {
            x[0]
            for x in ws.execute("SELECT call_id FROM instances WHERE task_id = ?", (r["task_id"],))
        }
        assert calls == {r["instances_call_id"]}
    assert any(r["is_classification"] == 1 for r in kept)
    clf_inst = ws.query(
        "SELECT i.output FROM instances i JOIN tasks t ON t.id = i.task_id "
        "WHERE t.run_id = ? AND t.is_classification = 1",
        (s.run_id,),
    )
    assert {x["output"] for x in clf_inst} == {"Good", "Bad"}
    purposes = Counter(
        x[0] for x in ws.execute("SELECT purpose FROM model_calls WHERE run_id = ?", (s.run_id,))
    )
    assert sum(purposes.values()) == s.calls
    assert set(purposes) == {"instruction-generation", "classification", "instances"}
    last = events[-1]
    assert last.stage == "self-instruct" and last.done == 6 and last.total == 6
    assert {
        "run_id",
        "accepted",
        "candidates",
        "examined",
        "acceptance_rate",
        "tokens_per_s",
        "last",
    } <= set(last.data)
    # The rate is of the decided candidates (closed at the target: not examined).
    assert last.data["acceptance_rate"] == pytest.approx(6 / last.data["examined"])
    assert last.data["examined"] == ws.scalar(
        "SELECT count(*) FROM candidates WHERE run_id = ? AND coalesce(reason, '') != "
        "'target-reached'",
        (s.run_id,),
    )
    fed = [x for e in events for x in e.data["last"]]
    assert Counter(x["decision"] for x in fed)["kept"] == 6
    assert ws.query("SELECT status FROM runs WHERE id = ?", (s.run_id,))[0]["status"] == "finished"


def test_second_prompt_uses_accepted_tasks(tmp_workspace):
    seed_workspace(tmp_workspace)
    backend = ScriptedBackend(ChatScript())
    run_self_instruct(tmp_workspace, backend, RunConfig(target=6))
    gen = [p for p in backend.prompts if "Number them" in p]
    assert len(gen) >= 2
    accepted = [
        r[0]
        for r in tmp_workspace.execute(
            "SELECT instruction FROM tasks WHERE source = 'generated' ORDER BY id"
        )
    ]
    assert not any(a in gen[0] for a in accepted)
    assert sum(a in gen[-1] for a in accepted) == 2  # 2 machine + 6 seed examples


def test_cancel_then_resume_gives_the_same_run(tmp_path):
    from workbench.core.store.workspace import Workspace

    def build(name):
        ws = Workspace.create(tmp_path / name)
        seed_workspace(ws)
        return ws

    ws_a = build("a.sqlite")
    whole = _run(ws_a, ChatScript(seed=5), target=7, seed=11)

    ws_b = build("b.sqlite")
    script = ChatScript(seed=5)
    token = CancelToken()

    def responder(prompt):
        if script.calls == 9:
            token.cancel()
        return script(prompt)

    with pytest.raises(Cancelled):
        run_self_instruct(
            ws_b, ScriptedBackend(responder), RunConfig(target=7, seed=11), cancel=token
        )
    run = ws_b.query("SELECT * FROM runs")[0]
    assert run["status"] == "cancelled"
    before = ws_b.scalar("SELECT count(*) FROM tasks WHERE source = 'generated'")
    assert 0 < before < 7
    resumed = run_self_instruct(
        ws_b, ScriptedBackend(script), RunConfig(target=99), resume_run_id=run["id"]
    )
    assert resumed.run_id == run["id"] and resumed.accepted == 7  # the stored config wins

    def tasks(ws):
        return [
            tuple(r)
            for r in ws.execute(
                "SELECT instruction, is_classification FROM tasks WHERE source='generated' ORDER BY id"
            )
        ]

    assert tasks(ws_b) == tasks(ws_a)
    assert resumed.candidates == whole.candidates
    assert resumed.rejected_by_reason == whole.rejected_by_reason


def test_self_instruct_preset_completion_prompts(tmp_workspace):
    seed_workspace(tmp_workspace)
    rng = random.Random(1)

    def script(prompt):
        if prompt.endswith("Is it classification?"):
            return " No"
        if prompt.rstrip().endswith("9."):
            return (
                "".join(f" {' '.join(rng.sample(WORDS, 6))} now\n{10 + k}." for k in range(3))
                + " Last one here please"
            )
        return "Example 1\nInput: x1\nOutput: y1"

    s = _run(tmp_workspace, script, preset="self-instruct", target=3)
    assert s.accepted == 3
    call = tmp_workspace.query(
        "SELECT prompt, params FROM model_calls WHERE purpose = 'instruction-generation' LIMIT 1"
    )[0]
    params = json.loads(call["params"])
    assert call["prompt"].rstrip().endswith("8.\n9.") or call["prompt"].endswith("\n9.")
    assert (params["temperature"], params["top_p"], params["presence_penalty"]) == (0.7, 0.5, 2.0)
    assert params["max_tokens"] == 1024 and "16." not in params["stop"]


def test_alpaca_preset_one_call_many_tasks(tmp_workspace):
    seed_workspace(tmp_workspace)
    rng = random.Random(2)

    def script(prompt):
        blocks = []
        for k in range(4, 9):
            blocks.append(
                f"{k}. Instruction: Describe the {' '.join(rng.sample(WORDS, 5))}\n"
                f"{k}. Input:\n<noinput>\n{k}. Output:\nIt is lovely {k}."
            )
        blocks.append(
            "9. Instruction: Compose some music for a video\n9. Input:\n<noinput>\n"
            "9. Output:\nLa la"
        )
        return " " + "\n###\n".join(blocks)[len("4. Instruction: ") :]

    s = _run(tmp_workspace, script, preset="alpaca", target=3)
    assert s.accepted == 3
    assert s.calls == 1  # no classification, no instance calls
    assert s.rejected_by_reason.get("blacklist") == 1  # "music"/"video": the 18-word list
    assert s.rejected_by_reason.get("target-reached") == 2


def test_run_without_seeds_is_a_user_error(tmp_workspace):
    with pytest.raises(UserInputError):
        _run(tmp_workspace, ChatScript(), target=2)


def test_bad_config_is_a_user_error(tmp_workspace):
    seed_workspace(tmp_workspace)
    with pytest.raises(UserInputError):
        _run(tmp_workspace, ChatScript(), preset="nope")
    with pytest.raises(UserInputError):
        _run(tmp_workspace, ChatScript(), target=0)


def test_run_config_round_trip():
    c = RunConfig(preset="alpaca", target=7, seed=3, gen_max_tokens=50)
    assert RunConfig.from_dict({**c.to_dict(), "model": {"x": 1}}) == c
