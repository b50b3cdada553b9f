"""Honest evaluation: SELF-CHECK on ProcessBench-style labels, and weighted vs majority voting.

ProcessBench's metric: the predicted first wrong step is the first step with r = −1 (−1 when
none); accuracy on erroneous items (prediction == label), accuracy on correct items (prediction
== −1), and their harmonic mean ("F1"). Also a solution-level view of w: balanced accuracy of
"w ≥ threshold means correct", and the AUROC of w, which needs no threshold.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import UserInputError
from ..jobs import CancelToken, ProgressCallback, no_progress
from ..llm.base import Backend
from ..store.workspace import Workspace
from . import checker, sampler
from .confidence import confidence, effective_scores, weighted_vote
from .importers import import_traces


def processbench_metrics(predicted: Sequence[int], labels: Sequence[int]) -> dict[str, Any]:
    err = [(p, lab) for p, lab in zip(predicted, labels) if lab != -1]
    cor = [(p, lab) for p, lab in zip(predicted, labels) if lab == -1]
    acc_err = sum(p == lab for p, lab in err) / len(err) if err else None
    acc_cor = sum(p == -1 for p, _ in cor) / len(cor) if cor else None
    f1 = (
        2 * acc_err * acc_cor / (acc_err + acc_cor)
        if acc_err is not None and acc_cor is not None and acc_err + acc_cor > 0
        else (0.0 if acc_err is not None and acc_cor is not None else None)
    )
    return {
        "n": len(labels),
        "n_erroneous": len(err),
        "n_correct": len(cor),
        "acc_erroneous": acc_err,
        "acc_correct": acc_cor,
        "f1": f1,
    }


def balanced_accuracy(
    confidences: Sequence[float], correct: Sequence[bool], threshold: float
) -> float | None:
    pos = [w for w, c in zip(confidences, correct) if c]
    neg = [w for w, c in zip(confidences, correct) if not c]
    if not pos or not neg:
        return None
    tpr = sum(w >= threshold for w in pos) / len(pos)
    tnr = sum(w < threshold for w in neg) / len(neg)
    return (tpr + tnr) / 2


def auroc(confidences: Sequence[float], correct: Sequence[bool]) -> float | None:
    """P(w of a correct solution > w of a wrong one), ties counting one half."""
    pos = [w for w, c in zip(confidences, correct) if c]
    neg = [w for w, c in zip(confidences, correct) if not c]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def _find_resumable(ws: Workspace, kind: str, key: dict[str, Any]) -> int | None:
    for run in ws.query(
        "SELECT id, config FROM runs WHERE kind = ? AND status != 'finished' ORDER BY id DESC",
        (kind,),
    ):
        cfg = json.loads(run["config"])
        if all(cfg.get(k) == v for k, v in key.items()):
            return int(run["id"])
    return None


def eval_selfcheck(
    ws: Workspace,
    backend: Backend,
    data: str | Path,
    *,
    limit: int | None = None,
    config: checker.CheckConfig | None = None,
    threshold: float = 0.75,
    resume: bool = False,
    balanced: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    concurrency: int | None = None,
) -> dict[str, Any]:
    """Check ProcessBench (or MR-GSM8K) items and score the verdicts against their labels.
    `balanced` with `limit` takes half correct, half erroneous items. Items are checked in
    parallel with up to `concurrency` calls in flight (default: 16 on a server, 1 in-process);
    the metrics do not depend on it."""
    config = config or checker.CheckConfig()
    imported = import_traces(ws, data, limit=limit, balanced=balanced)
    if imported["format"] not in ("processbench", "mr-gsm8k", "traces"):
        raise UserInputError(
            "evaluation needs step labels (ProcessBench or MR-GSM8K data)", path=data
        )
    sids = imported["solution_ids"]
    key = {
        "eval": "self-check",
        "data": str(Path(data).resolve()),
        "limit": limit,
        "balanced": balanced,
        "check": config.to_dict(),
    }
    run_id = _find_resumable(ws, checker.RUN_KIND, key) if resume else None
    if run_id is None:
        run_id = checker.start_check_run(
            ws, sids, config, backend=backend, extra={k: v for k, v in key.items() if k != "check"}
        )
    stats = checker.check_run(
        ws, backend, run_id, progress=progress, cancel=cancel, concurrency=concurrency
    )
    out = selfcheck_metrics(ws, run_id, sids, config=config, threshold=threshold)
    if "endpoints" in stats:
        out["endpoints"] = stats["endpoints"]
    return out


def selfcheck_metrics(
    ws: Workspace,
    run_id: int,
    solution_ids: Sequence[int],
    *,
    config: checker.CheckConfig,
    threshold: float = 0.75,
) -> dict[str, Any]:
    preds, labels, ws_, corr = [], [], [], []
    verdict_counts = {"support": 0, "contradict": 0, "unrelated": 0, "error": 0}
    for sid in solution_ids:
        label = ws.scalar("SELECT label FROM sc_solutions WHERE id = ?", (sid,))
        verdicts = [
            r["verdict"]
            for r in ws.query(
                """SELECT c.verdict FROM sc_steps st JOIN sc_checks c ON c.step_id = st.id AND c.run_id = ?
               WHERE st.solution_id = ? ORDER BY st.position""",
                (run_id, sid),
            )
        ]
        if label is None:
            continue
        for v in verdicts:
            verdict_counts[v] = verdict_counts.get(v, 0) + 1
        scores = effective_scores(verdicts, config.error_policy)
        preds.append(next((i for i, r in enumerate(scores) if r == -1), -1))
        labels.append(int(label))
        ws_.append(confidence(scores, config.lam_contradict, config.lam_unrelated))
        corr.append(int(label) == -1)
    out = processbench_metrics(preds, labels)
    out.update(
        {
            "balanced_accuracy": balanced_accuracy(ws_, corr, threshold),
            "threshold": threshold,
            "auroc": auroc(ws_, corr),
            "mean_confidence_correct": _mean([w for w, c in zip(ws_, corr) if c]),
            "mean_confidence_erroneous": _mean([w for w, c in zip(ws_, corr) if not c]),
            "steps": verdict_counts,
            "error_policy": config.error_policy,
            "run_id": run_id,
        }
    )
    return out


def _mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def voting_metrics(
    groups: Sequence[tuple[str | None, Sequence[str | None], Sequence[float]]],
) -> dict[str, Any]:
    """groups: (gold, answers, confidences) per question → accuracies of each way to answer."""
    n = len(groups)
    maj = sum(weighted_vote(a).credit(g) for g, a, _ in groups)
    wtd = sum(weighted_vote(a, w).credit(g) for g, a, w in groups)
    single = sum(sum(x == g for x in a) / len(a) for g, a, _ in groups if a)
    return {
        "n": n,
        "majority_accuracy": maj / n if n else None,
        "weighted_accuracy": wtd / n if n else None,
        "single_sample_accuracy": single / n if n else None,
    }


def eval_voting(
    ws: Workspace,
    backend: Backend,
    data: str | Path,
    *,
    samples: int,
    limit: int | None = None,
    config: checker.CheckConfig | None = None,
    temperature: float = 1.0,
    max_tokens: int = 384,
    resume: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    concurrency: int | None = None,
) -> dict[str, Any]:
    """Sample N solutions per GSM8K question, check them all, and compare majority voting with
    SELF-CHECK weighted voting (ties share the credit). Sampling and checking keep up to
    `concurrency` calls in flight (default: 16 on a server, 1 in-process)."""
    config = config or checker.CheckConfig()
    imported = import_traces(ws, data, limit=limit)
    if imported["format"] != "gsm8k":
        raise UserInputError("voting needs questions with gold answers (GSM8K JSONL)", path=data)
    qids = imported["question_ids"]
    key = {"eval": "voting", "data": str(Path(data).resolve()), "limit": limit, "n": samples}
    srun = _find_resumable(ws, sampler.RUN_KIND, key) if resume else None
    if srun is None:
        srun = sampler.start_sample_run(
            ws, qids, samples, temperature=temperature, max_tokens=max_tokens, backend=backend
        )
        with ws.transaction():
            cfg = json.loads(ws.scalar("SELECT config FROM runs WHERE id = ?", (srun,)))
            ws.update("runs", srun, {"config": {**cfg, **key}})
    sampler.sample_run(ws, backend, srun, progress=progress, cancel=cancel, concurrency=concurrency)
    sids = sorted(
        r["id"] for r in ws.query("SELECT id FROM sc_solutions WHERE run_id = ?", (srun,))
    )
    ckey = {"eval": "voting-check", "sample_run": srun}
    crun = _find_resumable(ws, checker.RUN_KIND, ckey) if resume else None
    if crun is None:
        crun = checker.start_check_run(ws, sids, config, backend=backend, extra=ckey)
    stats = checker.check_run(
        ws, backend, crun, progress=progress, cancel=cancel, concurrency=concurrency
    )
    groups = []
    for qid in qids:
        gold = ws.scalar("SELECT gold_answer FROM sc_questions WHERE id = ?", (qid,))
        rows = ws.query(
            """SELECT s.answer, sc.confidence FROM sc_solutions s
                           JOIN sc_scores sc ON sc.solution_id = s.id AND sc.run_id = ?
                           WHERE s.run_id = ? AND s.question_id = ? ORDER BY s.sample_index""",
            (crun, srun, qid),
        )
        groups.append((gold, [r["answer"] for r in rows], [r["confidence"] for r in rows]))
    out = voting_metrics(groups)
    out.update(
        {
            "samples": samples,
            "sample_run_id": srun,
            "check_run_id": crun,
            "answered": sum(1 for _, a, _ in groups for x in a if x is not None),
            "solutions": sum(len(a) for _, a, _ in groups),
        }
    )
    if "endpoints" in stats:
        out["endpoints"] = stats["endpoints"]
    return out
