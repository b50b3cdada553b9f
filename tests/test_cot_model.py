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
            "WHERE i.run_id = ? AND p.kept = 1",
            (run_id,),
        )


@pytest.mark.parametrize("mode", ["rationalize", "sample"])
def test_cot_cli_gsm8k_both_modes(cli, shared_data, tmp_path, mode):
    data = shared_data / "reasoning" / "gsm8k_test_first200.jsonl"
    ws = tmp_path / "ws.sqlite"
    code, res = cli(
        "cot",
        "--workspace",
        str(ws),
        "--data",
        str(data),
        "--mode",
        mode,
        "--limit",
        "5",
        "--samples",
        "4",
        "--max-tokens",
        MAX_TOKENS,
        "--json",
    )
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


@pytest.mark.parametrize("threshold", [0.0, 1.01])
def test_min_confidence_runs_selfcheck_on_correct_paths(
    llama_backend, shared_data, tmp_workspace, threshold
):
    """--min-confidence with the real model: every path whose answer is right is SELF-CHECKed
    (its confidence stored, in (0, 1]); w >= 0 keeps them all, w >= 1.01 none."""
    from workbench.core.cot import job, sources

    ws = tmp_workspace
    items = sources.load_file(shared_data / "reasoning" / "gsm8k_test_first200.jsonl", limit=1)
    cfg = job.CotConfig(
        mode="rationalize", samples=2, max_tokens=24, min_confidence=threshold, check_max_tokens=12
    )
    run_id = job.start_cot_run(ws, items, cfg, backend=llama_backend)
    stats = job.cot_run(ws, llama_backend, run_id)
    paths = ws.query(
        "SELECT p.correct, p.kept, p.reason, p.confidence FROM cot_paths p "
        "JOIN cot_items i ON i.id = p.item_id WHERE i.run_id = ?",
        (run_id,),
    )
    checked = [p for p in paths if p["confidence"] is not None]
    if not checked:
        pytest.skip("the model stated the gold answer in no path this time (nothing to check)")
    assert all(0 < p["confidence"] <= 1 for p in checked)
    assert all(p["reason"] != job.PENDING_CHECK for p in paths)  # every candidate was checked
    if threshold == 0.0:
        assert all(p["kept"] == 1 for p in checked) and stats["kept"] == len(checked)
    else:
        assert all(p["kept"] == 0 and p["reason"] == "low-confidence" for p in checked)
        assert stats["kept"] == 0
    # The checks are SELF-CHECK runs stored like any other: one solution per checked path.
    assert ws.scalar(
        "SELECT count(*) FROM sc_solutions WHERE json_extract(meta, '$.cot_path') IS NOT NULL"
    ) == len(checked)
