"""Finding 4: what our `trl` writer writes is detected as trl on import, and an error on a file
whose format was detected names that format and how to name another (--format)."""

from __future__ import annotations

import pytest

from workbench.core.errors import UserInputError
from workbench.core.formats.importer import import_file
from workbench.core.formats.registry import detect_by_content
from workbench.core.formats.validation import InvalidRecords
from workbench.core.store.workspace import Workspace

USER = [{"role": "user", "content": "Say hi."}]
SAID = [{"role": "assistant", "content": "hi"}]


@pytest.fixture
def ws(tmp_path):
    w = Workspace.create(tmp_path / "ws.sqlite")
    yield w
    w.close()


@pytest.mark.parametrize(
    "record",
    [
        {"prompt": USER, "completion": SAID},  # conversational SFT (the default style)
        {"prompt": "Say hi.", "completion": SAID},
        {"prompt": USER, "completion": SAID, "label": True},
        {"prompt": USER, "chosen": SAID, "rejected": SAID},
    ],
)
def test_every_trl_layout_we_write_is_detected_as_trl(record, tmp_path):
    assert detect_by_content(record, tmp_path / "x.jsonl") == "trl"


def test_a_plain_text_prompt_and_completion_stays_the_finetune_layout(tmp_path):
    assert detect_by_content({"prompt": "a", "completion": "b"}, tmp_path / "x.jsonl") == (
        "selfinstruct-finetune"
    )


def test_bad_records_of_a_detected_format_name_it_and_suggest_format(ws, tmp_path):
    f = tmp_path / "x.jsonl"
    f.write_text('{"prompt": "x", "completion": 5}\n', "utf-8")
    with pytest.raises(InvalidRecords) as exc:
        import_file(ws, f)
    assert "read as selfinstruct-finetune" in str(exc.value) and "--format" in str(exc.value)
    assert exc.value.to_dict()["format"] == "selfinstruct-finetune"
    with pytest.raises(InvalidRecords) as named:
        import_file(ws, f, "selfinstruct-finetune")
    assert "read as" not in str(named.value) and "format" not in named.value.to_dict()


def test_a_whole_file_error_of_a_detected_format_names_it(ws, tmp_path):
    f = tmp_path / "x.jsonl"
    f.write_text('{"prompt": "x", "chosen": 5, "rejected": "r"}\n', "utf-8")
    with pytest.raises(UserInputError) as exc:
        import_file(ws, f)
    assert "read as trl" in (exc.value.hint or "")
