"""The `selfcheck-traces` export: JSONL, one solution per line, in a PRM800K-like shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import WorkbenchError, write_error
from ..fileio import atomic_text_file
from ..jobs import CancelToken, Progress, ProgressCallback, no_progress
from ..store.workspace import Workspace
from . import store


def trace_record(trace: dict[str, Any]) -> dict[str, Any]:
    """One exported line from `store.load_trace` output."""
    steps = []
    for st in trace["steps"]:
        chk = st["check"]
        sc = None
        if chk is not None:
            sc = {
                "target": chk["target_output"],
                "collected_information": chk["collected_info"],
                "collected_steps": chk["collected_steps"],
                "regenerated": chk["regen_output"],
                "comparison": chk["compare_output"],
                "verdict": chk["verdict"],
                "score": chk["score"],
            }
            if chk["error"]:
                sc["error"] = chk["error"]
        label = st["label"] or {}
        steps.append(
            {
                "text": st["text"],
                "rating": label.get("rating"),
                "flagged": bool(label.get("flag")),
                "selfcheck": sc,
            }
        )
    return {
        "id": trace["source_id"] if trace["source_id"] is not None else trace["id"],
        "question": trace["question"],
        "steps": steps,
        "answer": trace["answer"],
        "gold_answer": trace["gold_answer"],
        "is_correct": None if trace["is_correct"] is None else bool(trace["is_correct"]),
        "label": trace["label"],
        "confidence": trace["score"]["confidence"] if trace["score"] else trace["confidence"],
        "check_run_id": trace["shown_check_run_id"],
    }


def export_traces(
    ws: Workspace,
    out_path: str | Path,
    *,
    run_id: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> int:
    """Write the traces (those a sampling/import run made, or all) to `out_path`; returns how
    many solutions were written. The file appears whole or not at all."""
    progress = progress or no_progress
    out = Path(out_path)
    sids = store.solution_ids(ws, run_id=run_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_text_file(out) as fh:
            for k, sid in enumerate(sids):
                if cancel is not None:
                    cancel.check()
                record = trace_record(store.load_trace(ws, sid))
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                progress(Progress("export", k + 1, len(sids)))
    except OSError as exc:
        mapped = write_error(exc, out, what="the export", again="export again")
        raise (
            mapped
            or WorkbenchError(
                f"{out}: cannot write the export ({exc.strerror or exc}); no partial file was left."
            )
        ) from exc
    return len(sids)
