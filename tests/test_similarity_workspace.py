"""A workspace's similarity index and the tokenizer it records."""

from __future__ import annotations

import pytest

from workbench.core.errors import UserInputError
from workbench.core.seeds import add_bundled_seeds
from workbench.core.similarity import index_from_workspace, score, workspace_tokenizer
from workbench.core.store.tasks import Task, add_task

SETTING = "similarity_tokenizer"


def _add(ws, *instructions: str, source: str = "seed") -> None:
    for text in instructions:
        add_task(ws, Task(instruction=text, source=source))


def test_empty_workspace_uses_rouge_without_recording(tmp_workspace) -> None:
    assert workspace_tokenizer(tmp_workspace) == "rouge"
    # Nothing decided yet: Chinese seeds imported later must still be able to choose.
    assert tmp_workspace.get_setting(SETTING) is None


def test_english_seeds_choose_rouge_and_record_it(tmp_workspace) -> None:
    _add(tmp_workspace, "Write a poem about winter.", "Give three tips for staying healthy.")
    tmp_workspace.set_setting("seed_lang", "en")
    assert workspace_tokenizer(tmp_workspace) == "rouge"
    assert tmp_workspace.get_setting(SETTING) == "rouge"


def test_chinese_seed_set_chooses_unicode(tmp_workspace) -> None:
    add_bundled_seeds(tmp_workspace, "zh")
    assert workspace_tokenizer(tmp_workspace) == "unicode"
    assert tmp_workspace.get_setting(SETTING) == "unicode"


@pytest.mark.parametrize("lang", ["ja", "ko-KR", "zh_TW"])
def test_cjk_seed_lang_chooses_unicode(tmp_workspace, lang: str) -> None:
    tmp_workspace.set_setting("seed_lang", lang)
    assert workspace_tokenizer(tmp_workspace) == "unicode"


def test_mostly_non_latin_seed_text_chooses_unicode(tmp_workspace) -> None:
    _add(tmp_workspace, "Напиши короткое стихотворение о зиме.", "Переведи текст на английский.")
    _add(tmp_workspace, "Write a poem.", source="imported")  # only seeds are looked at
    assert workspace_tokenizer(tmp_workspace) == "unicode"


def test_mostly_latin_seed_text_keeps_rouge(tmp_workspace) -> None:
    _add(tmp_workspace, "Write a poem about winter.", "Translate 你好 into English.")
    assert workspace_tokenizer(tmp_workspace) == "rouge"


def test_recorded_choice_wins_over_later_seeds(tmp_workspace) -> None:
    _add(tmp_workspace, "Write a poem about winter.")
    assert workspace_tokenizer(tmp_workspace) == "rouge"
    add_bundled_seeds(tmp_workspace, "zh")  # the decisions so far used rouge; keep it
    assert workspace_tokenizer(tmp_workspace) == "rouge"
    tmp_workspace.set_setting(SETTING, "rouge-stem")
    assert workspace_tokenizer(tmp_workspace) == "rouge-stem"


def test_unknown_recorded_tokenizer_is_a_clear_error(tmp_workspace) -> None:
    tmp_workspace.set_setting(SETTING, "whitespace")
    with pytest.raises(UserInputError, match="similarity_tokenizer"):
        workspace_tokenizer(tmp_workspace)


def test_index_from_workspace_holds_every_task_in_id_order(tmp_workspace) -> None:
    add_bundled_seeds(tmp_workspace, "zh")
    _add(tmp_workspace, "写一首关于秋天的诗歌给我", source="generated")
    rows = [r[0] for r in tmp_workspace.execute("SELECT instruction FROM tasks ORDER BY id")]
    index = index_from_workspace(tmp_workspace)
    assert index.tokenizer == "unicode"
    assert len(index) == len(rows)
    assert [index[i] for i in range(len(index))] == rows
    query = "写一首关于春天的诗歌给我"
    assert index.max_score(query) == pytest.approx(11 / 12)
    assert index.scores(query) == [score(r, query, "unicode") for r in rows]


def test_index_from_workspace_with_explicit_tokenizer(tmp_workspace) -> None:
    _add(tmp_workspace, "Write a poem.", "List three cats.")
    index = index_from_workspace(tmp_workspace, tokenizer="rouge-stem", threads=1)
    assert index.tokenizer == "rouge-stem" and index.threads == 1
    want = score("List three cats.", "list 3 cat", "rouge-stem")
    assert want == score("List three cat.", "list 3 cat")  # "cats" stems to "cat"
    assert index.top_k("list 3 cat", k=1) == [("List three cats.", want)]
