"""CoT end to end with the real default model (SmolLM2-135M-Instruct) through the CLI.

`workbench cot --data gsm8k_test_first200.jsonl --limit 5 --samples 4` in both modes. Tokens are
few (2 shared cores): the rationales are short, which is enough to exercise sampling, judging
and records. Rationalize mode must keep at least one path; every kept path, in both modes, must
state the gold answer.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.core.cot.answers import answers_equal, extract_number

pytestmark = pytest.mark.model

MAX_TOKENS = "16"


@pytest.fixture()
def cli(capsys):
    """Run `workbench ...` in-process, end to end (it opens the default model itself: a 135M
    model loads in under a second); returns (exit code, JSON result)."""
    pytest.importorskip("llama_cpp")
    from workbench.cli import main
    from workbench.core.errors import ModelError
    from workbench.core.llm.factory import default_model_path

    try:
        default_model_path()
    except ModelError as exc:
        pytest.skip(str(exc))

    def run(*argv: str):
        code = main(list(argv))
        out = capsys.readouterr().out
        return code, (json.loads(out) if out.strip() else None)

    return run


def _kept_records(ws_path: Path, run_id: int):
    from workbench.core.store.workspace import Workspace

    with Workspace.open(ws_path) as ws:
        return ws.query(
            "SELECT i.gold_answer, i.input AS question, inst.input, inst.output, p.rationale "
            "FROM cot_paths p JOIN cot_items i ON i.id = p.item_id "
            "JOIN instances inst ON inst.task_id = p.task_id "
            "WHERE i.run_id = ? AND p.kept = 1", (run_id,))


@pytest.mark.parametrize("mode", ["rationalize", "sample"])
def test_cot_cli_gsm8k_both_modes(cli, shared_data, tmp_path, mode):
    data = shared_data / "reasoning" / "gsm8k_test_first200.jsonl"
    ws = tmp_path / "ws.sqlite"
    code, res = cli("cot", "--workspace", str(ws), "--data", str(data), "--mode", mode,
                    "--limit", "5", "--samples", "4", "--max-tokens", MAX_TOKENS, "--json")
    assert code == 0
    assert (res["items"], res["samples"]) == (5, 20)
    assert res["kept"] == len(res["task_ids"])
    assert [r["samples"] for r in res["per_item"]] == [4] * 5
    if mode == "rationalize":
        assert res["kept"] >= 1
    records = _kept_records(ws, res["run_id"])
    assert len(records) == res["kept"]
    for r in records:
        # traceable to its item, and its final answer is the gold one
        assert r["input"] == r["question"]
        assert answers_equal(extract_number(r["output"]), r["gold_answer"], "number")
        assert r["output"].startswith(r["rationale"].strip())
