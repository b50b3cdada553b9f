"""Runs and model-call provenance: every call recorded, every derived record points at it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .workspace import Workspace

# "interrupted": the model process died mid-call (ModelProcessDied); resumable like the others.
RUN_STATUSES = ("running", "finished", "cancelled", "failed", "interrupted")


def create_run(ws: Workspace, kind: str, config: dict[str, Any]) -> int:
    with ws.transaction():
        return ws.insert("runs", {"kind": kind, "status": "running", "config": config, "stats": {}})


def get_run(ws: Workspace, run_id: int) -> dict[str, Any] | None:
    rows = ws.query("SELECT * FROM runs WHERE id = ?", (run_id,))
    if not rows:
        return None
    row = rows[0]
    row["config"] = json.loads(row["config"])
    row["stats"] = json.loads(row["stats"])
    return row


def latest_unfinished_run(ws: Workspace, kind: str) -> dict[str, Any] | None:
    """The run `--resume` continues: the newest of this kind that did not finish."""
    run_id = ws.scalar(
        "SELECT id FROM runs WHERE kind = ? AND status != 'finished' ORDER BY id DESC LIMIT 1",
        (kind,),
    )
    return None if run_id is None else get_run(ws, run_id)


def set_run_status(
    ws: Workspace,
    run_id: int,
    status: str,
    *,
    stats: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}")
    values: dict[str, Any] = {
        "status": status,
        "updated_at": ws.scalar("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"),
    }
    if stats is not None:
        values["stats"] = stats
    if error is not None:
        values["error"] = error
    if status == "finished":
        values["finished_at"] = values["updated_at"]
    with ws.transaction():
        ws.update("runs", run_id, values)


def record_call(
    ws: Workspace,
    *,
    run_id: int | None,
    purpose: str,
    backend: str,
    model: str,
    model_sha256: str | None,
    params: dict[str, Any],
    prompt: str | None = None,
    messages: list[dict[str, Any]] | None = None,
    raw_output: str | None = None,
    finish_reason: str | None = None,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    prompt_eval_tokens: int | None = None,
    timings: dict[str, Any] | None = None,
    error: str | None = None,
) -> int:
    """Store one model call. Call it inside the transaction that stores what the call produced."""
    return ws.insert(
        "model_calls",
        {
            "run_id": run_id,
            "purpose": purpose,
            "backend": backend,
            "model": model,
            "model_sha256": model_sha256,
            "prompt": prompt,
            "messages": messages,
            "params": params,
            "raw_output": raw_output,
            "finish_reason": finish_reason,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "prompt_eval_tokens": prompt_eval_tokens,
            "timings": timings,
            "error": error,
        },
    )


@contextmanager
def run_outcome(ws: Workspace, run_id: int, stats: Callable[[], dict[str, Any]]) -> Iterator[None]:
    """Record how a run's work stopped early — "cancelled", or "failed" with the message — and
    re-raise. Every job wraps its loop in this, so a run is never left "running" by an error
    (a cancelled or failed run is what `--resume` picks up)."""
    from ..errors import Cancelled, ModelProcessDied, WorkbenchError

    try:
        yield
    except Cancelled:
        set_run_status(ws, run_id, "cancelled", stats=stats())
        raise
    except ModelProcessDied as exc:  # not the run's fault: every finished call is committed
        set_run_status(ws, run_id, "interrupted", stats=stats(), error=str(exc))
        raise
    except WorkbenchError as exc:
        set_run_status(ws, run_id, "failed", stats=stats(), error=str(exc))
        raise
    except Exception as exc:
        set_run_status(ws, run_id, "failed", stats=stats(), error=f"{type(exc).__name__}: {exc}")
        raise
