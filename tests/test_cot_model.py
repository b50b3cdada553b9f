"""CoT end to end with the real default model (SmolLM2-135M-Instruct) through the CLI.

`workbench cot --data gsm8k_test_first200.jsonl --limit 5 --samples 4` in both modes. Tokens are
few (2 shared cores): the rationales are short, which is enough to exercise sampling, judging
and records. Every kept path, in both modes, must state the gold answer; a path cut off by the
token limit is never kept, and the preference-pair export counts correct paths as the run does.
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


def _assert_cut_paths_dropped(ws_path: Path, res: dict) -> None:
    """Each path whose call stopped at max_tokens is dropped as truncated, with no answer; the
    run's kept/correct figures are those of `path_correct`, the export's rule."""
    from workbench.core.cot.job import item_from_row
    from workbench.core.cot.rationale import path_correct
    from workbench.core.store.workspace import Workspace

    with Workspace.open(ws_path) as w:
        paths = w.query(
            "SELECT p.*, c.finish_reason, i.id AS iid FROM cot_paths p "
            "JOIN cot_items i ON i.id = p.item_id JOIN model_calls c ON c.id = p.call_id "
            "WHERE i.run_id = ?",
            (res["run_id"],),
        )
        items = {
            p["iid"]: item_from_row(w.query("SELECT * FROM cot_items WHERE id = ?", (p["iid"],))[0])
            for p in paths
        }
    cut = [p for p in paths if p["finish_reason"] == "length"]
    assert all((p["kept"], p["reason"], p["correct"]) == (0, "truncated", None) for p in cut)
    assert res["dropped"].get("truncated", 0) == len(cut)
    judged = [path_correct(p["rationale"], items[p["iid"]], p["finish_reason"]) for p in paths]
    assert res["correct"] == sum(1 for _, c in judged if c)
    assert res["kept"] <= res["correct"]


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
    _assert_cut_paths_dropped(ws, res)
    records = _kept_records(ws, res["run_id"])
    assert len(records) == res["kept"]
    for r in records:
        # traceable to its item, and its final answer is the gold one
        assert r["input"] == r["question"]
        assert answers_equal(extract_number(r["output"]), r["gold_answer"], "number")
        assert r["output"].startswith(r["rationale"].strip())


def test_rationalize_drops_cut_paths_and_export_agrees(cli, shared_data, tmp_path):
    """The tester's case, small: with --max-tokens 48 (seed 0) some rationalized paths stop at
    the limit. They are dropped as truncated, never kept with the gold answer appended, and
    `export --cot-pairs` judges correctness as the run's figures do (or refuses, saying why)."""
    from workbench.core.cot.job import item_from_row
    from workbench.core.cot.rationale import path_correct
    from workbench.core.store.workspace import Workspace

    data = shared_data / "reasoning" / "gsm8k_test_first200.jsonl"
    ws = tmp_path / "ws.sqlite"
    code, res = cli(
        "cot", "-w", str(ws), "--data", str(data), "--mode", "rationalize", "--limit", "2",
        "--samples", "2", "--max-tokens", "48", "--json",
    )  # fmt: skip
    assert code == 0
    assert res["dropped"].get("truncated", 0) >= 1  # the limit did cut some path
    _assert_cut_paths_dropped(ws, res)
    out = tmp_path / "pairs.jsonl"
    code, pairs = cli(
        "export", "-w", str(ws), "--cot-pairs", str(res["run_id"]), "-f", "trl", "--out",
        str(out), "--json",
    )  # fmt: skip
    with Workspace.open(ws) as w:
        rows = w.query(
            "SELECT p.rationale, c.finish_reason, i.* FROM cot_paths p JOIN cot_items i ON "
            "i.id = p.item_id JOIN model_calls c ON c.id = p.call_id"
        )
    correct = {r["rationale"] for r in rows if path_correct(r["rationale"], item_from_row(r),
                                                             r["finish_reason"])[1]}  # fmt: skip
    if code == 2:  # no question with a right and a wrong path: refused, nothing written
        assert not out.exists()
        return
    assert code == 0
    for line in out.read_text(encoding="utf-8").splitlines():
        pair = json.loads(line)
        assert pair["chosen"][0]["content"] in correct
        assert pair["rejected"][0]["content"] not in correct


@pytest.mark.parametrize("threshold", [0.0, 1.01])
def test_min_confidence_runs_selfcheck_on_correct_paths(llama_backend, tmp_workspace, threshold):
    """--min-confidence with the real model: every path whose answer is right is SELF-CHECKed
    (its confidence stored, in (0, 1]); w >= 0 keeps them all, w >= 1.01 none."""
    from workbench.core.cot import job, sources

    ws = tmp_workspace
    # An easy item and enough tokens for the model to finish (seed 0: one of the two paths ends
    # "The answer is 7." in 50 tokens); a path cut off by the limit would never be checked.
    items = [sources.item_from_output("Add the two numbers.", "2 and 5", "7", cot_type="math")]
    cfg = job.CotConfig(
        mode="rationalize", samples=2, max_tokens=96, min_confidence=threshold, check_max_tokens=12
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
