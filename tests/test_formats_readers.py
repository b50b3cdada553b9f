"""The dataset readers of issue 18: Natural Instructions v1/v2, FLAN-style tables, HH-RLHF and
SHP preference pairs, OIG and Baize transcripts, instruction-only records (InstructWild),
compressed files and Hugging Face Hub folders.

Each reader is checked on the real sample in ../shared/data/datasets (counts computed here from
the file itself) and on small samples of other datasets of the same kind written by the test.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import json
from pathlib import Path

import pytest

from workbench.core.errors import UserInputError
from workbench.core.formats import registry
from workbench.core.formats.importer import import_file, read_file
from workbench.core.store.tasks import iter_tasks
from workbench.core.store.workspace import Workspace


def _datasets(shared_data: Path) -> Path:
    d = shared_data / "datasets"
    if not d.is_dir():
        pytest.skip(f"the dataset samples are not at {d}")
    return d


def _examples(tasks):
    return [(t, i) for t in tasks for i in t.instances]


# ------------------------------------------------------------------- Natural Instructions
def test_natural_instructions_v1_real_task(shared_data, tmp_path):
    path = (
        _datasets(shared_data)
        / "natural-instructions-v1"
        / "subtask006_mctaco_question_generation_transient_stationary.json"
    )
    raw = json.loads(path.read_text(encoding="utf-8"))
    positives = raw["Examples"]["Positive Examples"]
    assert registry.detect_format(path) == "natural-instructions"
    fmt, tasks = read_file(path)
    assert fmt == "natural-instructions" and len(tasks) == 1
    task = tasks[0]
    assert task.instruction == raw["Definition"]
    assert task.name == path.stem
    assert len(task.instances) == len(positives) + len(raw["Instances"])
    first = task.instances[0]
    assert (first.input, first.output) == (positives[0]["input"], positives[0]["output"])
    assert first.meta["ni_role"] == "positive_example"
    assert first.meta["reason"] == positives[0]["reason"]
    inst = task.instances[len(positives)]
    assert inst.meta["ni_role"] == "instance"
    assert (inst.input, inst.output) == (
        raw["Instances"][0]["input"],
        raw["Instances"][0]["output"][0],
    )
    kept = task.meta["natural_instructions"]
    for key in ("Title", "Prompt", "Things to Avoid", "Emphasis & Caution"):
        assert kept[key] == raw[key]
    assert kept["Negative Examples"] == raw["Examples"]["Negative Examples"]
    assert task.meta["ni_version"] == 1
    ws = Workspace.create(tmp_path / "w.sqlite")
    res = import_file(ws, path)
    assert (res.imported, res.instances) == (1, len(positives) + len(raw["Instances"]))
    stored = iter_tasks(ws)[0]
    assert stored.meta["natural_instructions"]["Title"] == raw["Title"]
    assert [i.output for i in stored.instances] == [i.output for i in task.instances]
    ws.close()


SUPER_NI = {
    "Contributors": ["Someone"],
    "Source": ["quoref"],
    "URL": ["https://example.org/quoref"],
    "Categories": ["Question Generation"],
    "Reasoning": [],
    "Definition": ["In this task, you're given a passage. Write a question about it."],
    "Input_language": ["English"],
    "Output_language": ["English"],
    "Instruction_language": ["English"],
    "Domains": ["Wikipedia"],
    "Positive Examples": [
        {
            "input": "Passage: Ann met Bob.",
            "output": "Who met Bob?",
            "explanation": "It asks about the passage.",
        }
    ],
    "Negative Examples": [
        {"input": "Passage: Ann met Bob.", "output": "Hello.", "explanation": "Not a question."}
    ],
    "Instances": [
        {"id": "task001-1", "input": "Passage: The cat sat.", "output": ["What sat?", "Who sat?"]},
        {"id": "task001-2", "input": "Passage: It rained.", "output": ["What happened?"]},
    ],
    "Instance License": ["CC BY 4.0"],
}


def test_super_natural_instructions_v2_task(tmp_path):
    path = tmp_path / "task001_quoref_question_generation.json"
    path.write_text(json.dumps(SUPER_NI, indent=4), encoding="utf-8")
    assert registry.detect_format(path) == "natural-instructions"
    _, tasks = read_file(path)
    (task,) = tasks
    assert task.instruction == SUPER_NI["Definition"][0]
    assert task.meta["ni_version"] == 2
    outs = [(i.input, i.output, i.meta.get("id"), i.meta.get("outputs")) for i in task.instances]
    assert outs == [
        ("Passage: Ann met Bob.", "Who met Bob?", None, None),
        ("Passage: The cat sat.", "What sat?", "task001-1", ["What sat?", "Who sat?"]),
        ("Passage: It rained.", "What happened?", "task001-2", None),
    ]
    assert task.instances[0].meta["explanation"] == "It asks about the passage."
    kept = task.meta["natural_instructions"]
    assert kept["Negative Examples"] == SUPER_NI["Negative Examples"]
    assert kept["Instance License"] == ["CC BY 4.0"] and kept["Categories"]
    assert "Instances" not in kept and "Positive Examples" not in kept


def test_natural_instructions_bad_instance_names_line_and_field(tmp_path):
    bad = dict(
        SUPER_NI, Instances=[SUPER_NI["Instances"][0], {"id": "x", "input": "Passage: no output."}]
    )
    path = tmp_path / "task002.json"
    path.write_text(json.dumps(bad, indent=2), encoding="utf-8")
    ws = Workspace.create(tmp_path / "w.sqlite")
    with pytest.raises(UserInputError) as err:
        import_file(ws, path)
    text = path.read_text().splitlines()
    bad_line = next(n for n, line in enumerate(text, 1) if '"Passage: no output."' in line) - 2
    assert err.value.line == bad_line and err.value.field == "Instances[1].output"
    assert ws.scalar("SELECT count(*) FROM tasks") == 0
    res = import_file(ws, path, skip_invalid=True)
    assert (res.imported, res.instances, res.rejected) == (1, 2, 1)
    ws.close()


# ----------------------------------------------------------------------------- tables
def test_flan_cot_tsv_real(shared_data, tmp_path):
    path = _datasets(shared_data) / "flan" / "gsm8k_train.tsv"
    rows = [
        line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    assert registry.detect_format(path) == "tabular"
    _, tasks = read_file(path)
    examples = _examples(tasks)
    assert len(examples) == len(rows)
    assert len(tasks) == len({r[0] for r in rows})
    for (task, inst), (question, answer, rationale) in zip(examples, rows):
        assert task.instruction == question
        assert inst.output == f"{rationale} So the answer is {answer}."
        assert inst.meta == {"answer": answer, "rationale": rationale}
    ws = Workspace.create(tmp_path / "w.sqlite")
    res = import_file(ws, path, options={"output": "rationale"})
    assert res.instances == len(rows)
    assert iter_tasks(ws)[0].instances[0].output == rows[0][2]
    ws.close()


def test_csv_with_header_quotes_and_mapping(tmp_path):
    path = tmp_path / "qa.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["question", "context", "answer", "source"])
        w.writerow(["Who wrote it?", "A book,\nwith two lines", "Ann", "web"])
        w.writerow(["Where?", "", "Paris", "wiki"])
    _, tasks = read_file(path)
    ex = _examples(tasks)
    assert [(t.instruction, i.input, i.output, i.meta) for t, i in ex] == [
        ("Who wrote it?", "A book,\nwith two lines", "Ann", {"source": "web"}),
        ("Where?", "", "Paris", {"source": "wiki"}),
    ]
    _, tasks = read_file(
        path, options={"instruction": "Q: {question}", "output": "answer", "input": "context"}
    )
    assert tasks[0].instruction == "Q: Who wrote it?"


def test_table_without_header_needs_columns(tmp_path):
    path = tmp_path / "four.tsv"
    path.write_text("a\tb\tc\td\n", encoding="utf-8")
    with pytest.raises(UserInputError, match="columns=") as err:
        read_file(path)
    assert err.value.line == 1
    _, tasks = read_file(path, options={"columns": "instruction,input,output,id"})
    assert (tasks[0].instruction, tasks[0].instances[0].meta) == ("a", {"id": "d"})
    with pytest.raises(UserInputError, match="no column 'nope'"):
        read_file(path, options={"columns": "instruction,input,output,id", "output": "nope"})


# ------------------------------------------------------------------ preference pairs
def _hh_turns(text: str) -> list[tuple[str, str]]:
    out = []
    for chunk in text.split("\n\n"):
        for role, marker in (("user", "Human: "), ("assistant", "Assistant: ")):
            if chunk.startswith(marker):
                out.append((role, chunk[len(marker) :]))
                break
        else:
            if out:  # a blank line inside a turn
                out[-1] = (out[-1][0], out[-1][1] + "\n\n" + chunk)
    return out


def test_hh_rlhf_real(shared_data, tmp_path):
    path = _datasets(shared_data) / "hh-rlhf" / "harmless-base_test.jsonl"
    records = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    assert registry.detect_format(path) == "hh-rlhf"
    _, tasks = read_file(path)
    examples = sorted(_examples(tasks), key=lambda e: e[1].seq)
    assert len(examples) == len(records)
    for (task, inst), rec in zip(examples, records):
        chosen, rejected = _hh_turns(rec["chosen"]), _hh_turns(rec["rejected"])
        assert inst.kind == "preference"
        assert inst.output == chosen[-1][1].strip()
        assert inst.rejected == rejected[-1][1].strip()
        assert task.instruction == chosen[-2][1].strip()
        assert len(inst.history) == len(chosen) - 2
    ws = Workspace.create(tmp_path / "w.sqlite")
    res = import_file(ws, path)
    assert res.instances == len(records) and res.notes["preference"] == len(records)
    assert ws.scalar(
        "SELECT count(*) FROM instances WHERE kind = 'preference' AND rejected IS NOT NULL"
    ) == len(records)
    ws.close()


def test_hh_split_layout_and_diverging_rejected(tmp_path):
    path = tmp_path / "pairs.jsonl"
    rows = [
        {
            "prompt": "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: Name a fruit.\n\nAssistant:",
            "chosen": " Apple.",
            "rejected": " No.",
        },
        {"prompt": "Summarise: the sky is blue.", "chosen": "Blue sky.", "rejected": "Grass."},
        {
            "chosen": "\n\nHuman: A\n\nAssistant: B\n\nHuman: C\n\nAssistant: D",
            "rejected": "\n\nHuman: A\n\nAssistant: X\n\nHuman: C\n\nAssistant: E",
            "id": 7,
        },
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert registry.detect_format(path) == "hh-rlhf"  # the first prompt is an HH transcript
    _, tasks = read_file(path, "hh-rlhf")
    ex = {t.instruction: i for t, i in _examples(tasks)}
    fruit = ex["Name a fruit."]
    assert (fruit.output, fruit.rejected) == (" Apple.", " No.")
    assert fruit.history == [
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello!"},
    ]
    assert ex["Summarise: the sky is blue."].history == []
    c = ex["C"]
    assert (c.output, c.rejected, c.meta["id"]) == ("D", "E", 7)
    assert c.meta["rejected_history"][1] == {"role": "assistant", "content": "X"}


def test_shp_and_stack_exchange_pairs(tmp_path):
    path = tmp_path / "shp.jsonl"
    rows = [
        {
            "post_id": "p1",
            "domain": "askscience_train",
            "upvote_ratio": 0.99,
            "history": "Why is the sky blue?",
            "c_root_id_A": "a",
            "c_root_id_B": "b",
            "created_at_utc_A": 1,
            "created_at_utc_B": 2,
            "score_A": 50,
            "score_B": 3,
            "human_ref_A": "Rayleigh scattering.",
            "human_ref_B": "Because.",
            "labels": 1,
            "seconds_difference": 1.0,
            "score_ratio": 16.7,
        },
        {
            "post_id": "p2",
            "domain": "askscience_train",
            "upvote_ratio": 0.9,
            "history": "Why is grass green?",
            "c_root_id_A": "c",
            "c_root_id_B": "d",
            "created_at_utc_A": 1,
            "created_at_utc_B": 2,
            "score_A": 2,
            "score_B": 9,
            "human_ref_A": "Magic.",
            "human_ref_B": "Chlorophyll.",
            "labels": 0,
            "seconds_difference": 1.0,
            "score_ratio": 4.5,
        },
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert registry.detect_format(path) == "shp"
    _, tasks = read_file(path)
    got = [
        (t.instruction, i.output, i.rejected, i.kind, i.meta["post_id"], i.meta["labels"])
        for t, i in _examples(tasks)
    ]
    assert got == [
        ("Why is the sky blue?", "Rayleigh scattering.", "Because.", "preference", "p1", 1),
        ("Why is grass green?", "Chlorophyll.", "Magic.", "preference", "p2", 0),
    ]
    se = tmp_path / "se.json"
    se.write_text(
        json.dumps(
            [
                {
                    "qid": 1,
                    "question": "How to exit vim?",
                    "date": "2020",
                    "metadata": ["u"],
                    "response_j": ":q",
                    "response_k": "reboot",
                }
            ]
        )
    )
    assert registry.detect_format(se) == "shp"
    (t,) = read_file(se)[1]
    assert (t.instances[0].output, t.instances[0].rejected) == (":q", "reboot")


# ---------------------------------------------------------------------- transcripts
def test_oig_training_text_real(shared_data, tmp_path):
    path = _datasets(shared_data) / "oig" / "training_text_example.txt"
    text = path.read_text(encoding="utf-8")
    docs = [d for d in text.split("<|endoftext|>") if d.strip()]
    assert registry.detect_format(path) == "oig"
    _, tasks = read_file(path)
    examples = _examples(tasks)
    assert len(examples) == len(docs)
    for (task, inst), doc in zip(examples, docs):
        user, _, bot = doc.strip().partition("\n\nJoi: ")
        assert task.instruction == user.removeprefix("User: ").strip()
        assert inst.output == bot.strip()
    ws = Workspace.create(tmp_path / "w.sqlite")
    assert import_file(ws, path).instances == len(docs)
    ws.close()


def test_oig_jsonl_multi_turn(tmp_path):
    path = tmp_path / "unified_chip2.jsonl"
    rows = [
        {
            "text": "<human>: Hi\n<bot>: Hello! How can I help?\n<human>: Tell a joke.\n"
            "<bot>: Why did the chicken cross the road?",
            "metadata": {"source": "chip2"},
        },
        {"text": "<human>: What is 2+2?\n<bot>: 4", "metadata": {"source": "math"}},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert registry.detect_format(path) == "oig"
    _, tasks = read_file(path)
    (t1, i1), (t2, i2) = _examples(tasks)
    assert t1.instruction == "Tell a joke." and i1.output.startswith("Why did")
    assert i1.history == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
    ]
    assert i1.meta == {"metadata": {"source": "chip2"}}
    assert (t2.instruction, i2.output) == ("What is 2+2?", "4")


BAIZE = [
    {
        "topic": "How to bake bread?",
        "input": "The conversation between human and AI assistant.\n[|Human|] How do I bake bread?"
        "\n[|AI|] Mix flour, water, yeast and salt.\n[|Human|] How long?\n[|AI|] "
        "About 40 minutes.\n[|Human|] ",
    },
    {
        "topic": "Greeting",
        "input": "The conversation between human and AI assistant.\n"
        "[|Human|] Hi\n[|AI|] Hello!\n[|Human|] Thanks, bye",
    },
]


def test_baize_transcripts(tmp_path):
    path = tmp_path / "quora_chat_data.json"
    path.write_text(json.dumps(BAIZE, indent=1), encoding="utf-8")
    assert registry.detect_format(path) == "baize"
    _, tasks = read_file(path)
    (t1, i1), (t2, i2) = _examples(tasks)
    assert (t1.instruction, i1.output) == ("How long?", "About 40 minutes.")
    assert i1.system == "The conversation between human and AI assistant."
    assert i1.history[0] == {"role": "user", "content": "How do I bake bread?"}
    assert i1.meta["topic"] == "How to bake bread?" and i1.meta["_empty_last_turn"] == "user"
    # an unanswered last question is kept, not lost
    assert i2.meta["_dropped_turns"][0]["content"] == "Thanks, bye"
    ws = Workspace.create(tmp_path / "w.sqlite")
    res = import_file(ws, path)
    assert res.notes["dropped_turns"] == 1 and "kept in the examples' meta" in res.summary()
    ws.close()


# --------------------------------------------------------------- instruction-only
def test_instructwild_instructions_without_outputs(tmp_path):
    path = tmp_path / "user_1.jsonl"
    rows = [
        {"instruction": "Write a poem about Xbox", "instruction_type": "Generation"},
        {"instruction": "Who is Edward Snowden?", "instruction_type": "Open QA"},
        {"instruction": "220+120", "instruction_type": "Other"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert registry.detect_format(path) == "instruction-only"
    ws = Workspace.create(tmp_path / "w.sqlite")
    res = import_file(ws, path)
    assert (res.imported, res.instances, res.notes["without_examples"]) == (3, 0, 3)
    assert "instructions without outputs" in res.summary()
    tasks = iter_tasks(ws)
    assert [t.meta["instruction_type"] for t in tasks] == ["Generation", "Open QA", "Other"]
    # the same instructions with outputs later fill the bare tasks in
    alpaca = tmp_path / "answers.json"
    alpaca.write_text(json.dumps([{"instruction": "220+120", "input": "", "output": "340"}]))
    res = import_file(ws, alpaca)
    assert (res.imported, res.filled, res.instances) == (0, 1, 1)
    ws.close()


# -------------------------------------------------------------------- compression
def test_compressed_files_read_like_plain(shared_data, tmp_path):
    zstd = pytest.importorskip("zstandard")
    src = _datasets(shared_data) / "hh-rlhf" / "harmless-base_test.jsonl"
    data = src.read_bytes()
    n = sum(1 for x in data.splitlines() if x.strip())
    for name, packed in (
        ("a.jsonl.gz", gzip.compress(data)),
        ("a.jsonl.bz2", bz2.compress(data)),
        ("a.jsonl.zst", zstd.ZstdCompressor().compress(data)),
    ):
        path = tmp_path / name
        path.write_bytes(packed)
        assert registry.detect_format(path) == "hh-rlhf"
        assert sum(len(t.instances) for t in read_file(path)[1]) == n


def test_bad_compressed_files_say_what_is_wrong(tmp_path):
    zstd = pytest.importorskip("zstandard")
    garbage = tmp_path / "g.jsonl.gz"
    garbage.write_bytes(b"this is not gzip at all\n")
    with pytest.raises(UserInputError, match="not gzip-compressed") as err:
        read_file(garbage)
    assert err.value.path == str(garbage)
    corrupt = tmp_path / "c.jsonl.gz"
    corrupt.write_bytes(b"\x1f\x8b" + b"\x00garbage" * 8)
    with pytest.raises(UserInputError, match="corrupt gzip|cut short"):
        read_file(corrupt)
    truncated = tmp_path / "t.jsonl.zst"
    whole = zstd.ZstdCompressor().compress(b'{"instruction": "a", "output": "b"}\n' * 200)
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(UserInputError, match="cut short") as err:
        read_file(truncated)
    assert err.value.path == str(truncated) and err.value.line == 1


# -------------------------------------------------------------------- Hub folders
def _hub_folder(root: Path) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    folder = root / "my-dataset"
    (folder / "data").mkdir(parents=True)
    train = [
        {"instruction": f"Add {i} and {i}.", "input": "", "output": str(2 * i)} for i in range(6)
    ]
    test = [{"instruction": "Add 10 and 1.", "input": "", "output": "11"}]
    pq.write_table(
        pa.Table.from_pylist(train), folder / "data" / "train-00000-of-00001-0a1b2c.parquet"
    )
    pq.write_table(pa.Table.from_pylist(test), folder / "data" / "test-00000-of-00001-3d4e.parquet")
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# My dataset\n", encoding="utf-8")
    (folder / ".gitattributes").write_text("*.parquet filter=lfs\n", encoding="utf-8")
    return folder


def test_hub_folder_two_splits(tmp_path):
    pytest.importorskip("datasets")
    folder = _hub_folder(tmp_path)
    assert registry.detect_format(folder) == "hf-hub"
    ws = Workspace.create(tmp_path / "w.sqlite")
    with pytest.raises(UserInputError, match="2 splits: (train, test|test, train)") as err:
        import_file(ws, folder)
    assert err.value.field == "split" and "--split" in str(err.value)
    with pytest.raises(UserInputError, match="no split 'dev'"):
        import_file(ws, folder, options={"split": "dev"})
    res = import_file(ws, folder, options={"split": "train"})
    assert (res.imported, res.instances) == (6, 6)
    tasks = iter_tasks(ws)
    assert tasks[0].meta["split"] == "train" and tasks[0].meta["row_format"] == "alpaca"
    assert [t.instances[0].output for t in tasks] == [str(2 * i) for i in range(6)]
    res = import_file(ws, folder, options={"split": "test"})
    assert res.imported == 1
    ws.close()


def test_hub_folder_json_shards_preference_rows_and_images(tmp_path):
    datasets = pytest.importorskip("datasets")
    folder = tmp_path / "hh"
    (folder / "data").mkdir(parents=True)
    rows = [
        {
            "chosen": "\n\nHuman: Hi\n\nAssistant: Hello",
            "rejected": "\n\nHuman: Hi\n\nAssistant: Go",
        }
    ]
    (folder / "data" / "train.jsonl").write_text(json.dumps(rows[0]) + "\n", encoding="utf-8")
    (ex,) = _examples(read_file(folder)[1])
    assert (ex[1].kind, ex[1].output, ex[1].rejected) == ("preference", "Hello", "Go")
    # images stored in Parquet: references (size and sha256 of the bytes, the path) kept in meta
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    table = pa.Table.from_pylist(
        [
            {
                "instruction": "Describe the picture.",
                "output": "A dark square.",
                "image": {"bytes": png, "path": "square.png"},
            }
        ],
        schema=pa.schema(
            [
                ("instruction", pa.string()),
                ("output", pa.string()),
                ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
            ]
        ),
    )
    features = datasets.Features(
        {
            "instruction": datasets.Value("string"),
            "output": datasets.Value("string"),
            "image": datasets.Image(),
        }
    )
    meta = {b"huggingface": json.dumps({"info": {"features": features.to_dict()}}).encode()}
    img = tmp_path / "img"
    (img / "data").mkdir(parents=True)
    pq.write_table(
        table.replace_schema_metadata(meta), img / "data" / "train-00000-of-00001.parquet"
    )
    ws = Workspace.create(tmp_path / "w.sqlite")
    res = import_file(ws, img)
    assert res.notes["with_media"] == 1 and "references are kept" in res.summary()
    inst = iter_tasks(ws)[0].instances[0]
    (ref,) = inst.meta["images"]
    assert ref["path"] == "square.png" and ref["embedded_bytes"] == len(png)
    assert inst.meta["_media_columns"] == {"images": "image"}
    ws.close()


def test_hub_folder_without_data_files(tmp_path):
    pytest.importorskip("datasets")
    folder = tmp_path / "card-only"
    folder.mkdir()
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# Card only\n", encoding="utf-8")
    assert registry.detect_format(folder) == "hf-hub"
    with pytest.raises(UserInputError, match="no data files") as err:
        read_file(folder)
    assert err.value.path == str(folder) and "huggingface-cli download" in str(err.value)


# ------------------------------------------------------------------------- detection
def test_unrecognised_object_names_its_fields_not_alpaca(tmp_path):
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"Title": "x", "Body": "y"}, indent=2), encoding="utf-8")
    with pytest.raises(UserInputError) as err:
        registry.detect_format(path)
    assert "Title, Body" in str(err.value) and "docs/formats.md" in str(err.value)


# ------------------------------------------------------- HC3, inputs/targets records
def test_hc3_questions_with_human_and_chatgpt_answers(tmp_path):
    path = tmp_path / "open_qa.jsonl"
    rows = [
        {
            "id": 0,
            "question": "What is a cat?",
            "human_answers": ["A small mammal."],
            "chatgpt_answers": ["A cat is a domesticated feline.", "An animal."],
            "source": "open_qa",
        },
        {"id": 1, "question": "Why?", "human_answers": [], "chatgpt_answers": []},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert registry.detect_format(path) == "hc3"
    _, tasks = read_file(path)
    cat, why = tasks
    assert [(i.output, i.meta["answerer"], i.meta["id"]) for i in cat.instances] == [
        ("A small mammal.", "human", 0),
        ("A cat is a domesticated feline.", "chatgpt", 0),
        ("An animal.", "chatgpt", 0),
    ]
    assert why.instances == [] and why.meta["id"] == 1


def test_inputs_targets_records_xp3_style(tmp_path):
    path = tmp_path / "xp3_fr.jsonl"
    rows = [
        {"inputs": "Traduire en anglais : chat", "targets": "cat", "language": "fr"},
        {"inputs": "Question: 2+2?", "targets": "4", "task": "math"},
    ]
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )
    assert registry.detect_format(path) == "inputs-targets"
    _, tasks = read_file(path)
    assert [(t.instruction, i.output, i.meta) for t, i in _examples(tasks)] == [
        ("Traduire en anglais : chat", "cat", {"language": "fr"}),
        ("Question: 2+2?", "4", {"task": "math"}),
    ]


def test_hub_folder_splits_inferred_from_file_names(tmp_path):
    """SHP's layout: <domain>/train.json, <domain>/test.json, no card: the splits are the
    file names (as datasets infers them), each gathering every domain."""
    pytest.importorskip("datasets")
    folder = tmp_path / "SHP"
    row = {
        "post_id": "p",
        "domain": "d",
        "history": "Why?",
        "human_ref_A": "Because.",
        "human_ref_B": "No idea.",
        "labels": 1,
    }
    for domain in ("askscience", "legaladvice"):
        (folder / domain).mkdir(parents=True)
        for split in ("train", "test"):
            (folder / domain / f"{split}.json").write_text(
                json.dumps({**row, "domain": f"{domain}_{split}"}) + "\n", encoding="utf-8"
            )
    with pytest.raises(UserInputError, match="2 splits"):
        read_file(folder)
    fmt, tasks = read_file(folder, options={"split": "train"})
    assert fmt == "hf-hub" and tasks[0].meta["row_format"] == "shp"
    assert sorted(i.meta["domain"] for _, i in _examples(tasks)) == [
        "askscience_train",
        "legaladvice_train",
    ]


def test_natural_instructions_task_folder(tmp_path):
    repo = tmp_path / "natural-instructions"
    (repo / "tasks").mkdir(parents=True)
    for n in (1, 2):
        task = dict(SUPER_NI, Definition=[f"Definition of task {n}."])
        (repo / "tasks" / f"task00{n}_x.json").write_text(json.dumps(task, indent=2))
    (repo / "tasks" / "task003_broken.json").write_text('{"Definition": 5, "Instances": []}')
    assert registry.detect_format(repo) == "natural-instructions"
    ws = Workspace.create(tmp_path / "w.sqlite")
    with pytest.raises(UserInputError, match="1 record cannot"):
        import_file(ws, repo)
    res = import_file(ws, repo, skip_invalid=True)
    assert (res.imported, res.instances, res.rejected) == (2, 6, 1)
    assert [t.name for t in iter_tasks(ws)] == ["task001_x", "task002_x"]
    ws.close()
