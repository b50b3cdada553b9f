"""Low-data selection: a small subset of tasks that covers the pool, stored as a named selection.

Methods: `kcenter` (greedy minimax cover), `kmeans-kcenter` (k-means clusters, budget split by
cluster size, k-center greedy inside each cluster from the point nearest its centroid), and
`random` (the baseline). Every run also reports the coverage of a random subset of the same
size drawn with the same seed, so "better than random" is visible in each result.

`task` narrows the pool to one task: the tasks tagged with it when the tag exists, else those
whose source, origin or origin file name (or its stem) it is, else the tasks that hold the
description's telling words (`description_scores`: summed idf, words in more than half of the
tasks ignored; those within MATCH_SHARE of the best score, at most POOL_FACTOR x budget). When
nothing matches, UserInputError lists the tags and sources, closest first. A fractional
budget is a fraction of all tasks in the workspace (the "<0.5% of a large set" reading).
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserInputError
from ..jobs import CancelToken, ProgressCallback, no_progress
from ..store.tasks import Task, add_task, iter_tasks
from ..store.workspace import Workspace
from .embed import task_text, vectors
from .kcenter import kcenter_greedy
from .kmeans import kmeans

METHODS = ("kcenter", "kmeans-kcenter", "random")
POOL_FACTOR = 4
# A described task's pool: tasks scoring at least this share of the best description score.
MATCH_SHARE = 0.8


def coverage(x: np.ndarray, chosen: Sequence[int]) -> tuple[float, float]:
    """(mean, max) over all rows of the cosine distance to the nearest chosen row."""
    if not len(chosen):
        return 1.0, 1.0
    d = np.min(np.clip(1.0 - x @ x[list(chosen)].T, 0.0, 2.0), axis=1)
    return float(d.mean()), float(d.max())


def choose(x: np.ndarray, budget: int, method: str, seed: int = 0) -> list[int]:
    """Row indices of the subset, in the order chosen. Deterministic for a seed."""
    if method not in METHODS:
        raise UserInputError(
            f"expected one of {', '.join(METHODS)}, found {method!r}", field="method"
        )
    n = len(x)
    budget = max(0, min(budget, n))
    rng = np.random.default_rng(seed)
    if method == "random":
        return [int(i) for i in rng.choice(n, size=budget, replace=False)]
    if method == "kcenter":
        return kcenter_greedy(x, budget, first=int(rng.integers(n)) if n else None)
    return _kmeans_kcenter(x, budget, rng)


def n_clusters_for(n: int, budget: int) -> int:
    # sqrt(n/2) is the usual rule of thumb; never more clusters than picks.
    return max(1, min(budget, round(math.sqrt(n / 2))))


def _split_budget(sizes: np.ndarray, budget: int) -> np.ndarray:
    """Budget per cluster, proportional to size (largest remainder), every cluster at least one
    pick when the budget allows, never more than a cluster holds."""
    k = len(sizes)
    share = sizes / sizes.sum() * budget
    alloc = np.minimum(np.floor(share).astype(int), sizes)
    if budget >= k:
        alloc = np.maximum(alloc, np.minimum(1, sizes))
    while alloc.sum() > budget:  # the minimum of one can overshoot: take back where most over
        alloc[int(np.argmax(np.where(alloc > 1, alloc - share, -np.inf)))] -= 1
    order = np.argsort(-(share - alloc), kind="stable")
    i = 0
    while alloc.sum() < budget:
        c = order[i % k]
        if alloc[c] < sizes[c]:
            alloc[c] += 1
        i += 1
    return alloc


def _kmeans_kcenter(x: np.ndarray, budget: int, rng: np.random.Generator) -> list[int]:
    if budget == 0:
        return []
    labels, centers = kmeans(x, n_clusters_for(len(x), budget), rng=rng)
    clusters = [np.flatnonzero(labels == c) for c in range(len(centers))]
    sizes = np.array([len(m) for m in clusters])
    alloc = _split_budget(sizes, budget)
    picked: list[list[int]] = []
    for members, k, center in zip(clusters, alloc, centers):
        if k == 0:
            picked.append([])
            continue
        sub = x[members]
        first = int(np.argmax(sub @ center))  # the most typical member covers its cluster first
        picked.append([int(members[i]) for i in kcenter_greedy(sub, int(k), first=first)])
    # Interleave clusters so any prefix of the list is itself a spread-out subset.
    out: list[int] = []
    for r in range(max((len(p) for p in picked), default=0)):
        out += [p[r] for p in picked if r < len(p)]
    return out


@dataclass
class SelectionResult:
    ids: list[int]
    mean_distance: float
    max_distance: float
    random_mean_distance: float
    random_max_distance: float
    method: str
    budget: int
    pool: int
    seed: int
    embed: dict[str, Any] = field(default_factory=dict)
    task: str | None = None
    name: str | None = None
    selection_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _stored_id(task: Task) -> int:
    assert task.id is not None  # a task read from the workspace has its row id
    return task.id


def resolve_budget(total: int, budget: int | None, fraction: float | None) -> int:
    if (budget is None) == (fraction is None):
        raise UserInputError("give either a budget (a count) or a fraction", field="budget")
    if budget is not None:
        if budget < 1:
            raise UserInputError("must be at least 1", field="budget")
        return budget
    assert fraction is not None  # exactly one of the two is given (checked above)
    if not 0 < fraction <= 1:
        raise UserInputError("must be in (0, 1]", field="fraction")
    return max(1, math.ceil(fraction * total))


def _source_names(t: Task) -> set[str]:
    """The names a task's source answers to: its source kind, its origin, the origin's file name
    and that name's stem (`imported`, `/data/gsm8k_train.tsv`, `gsm8k_train.tsv`, `gsm8k_train`)."""
    names = {n for n in (t.source, t.origin) if n}
    if t.origin:
        name = Path(t.origin).name
        names |= {name, Path(name).stem} - {""}
    return names


def _word_hit(word: str, term: str) -> bool:
    # "maths" for "math", "problems" for "problem" and back; short words only whole.
    if term == word:
        return True
    if len(word) >= 4 and term.startswith(word):
        return True
    return len(term) >= 4 and word.startswith(term) and len(word) - len(term) <= 2


def description_scores(texts: Sequence[str], description: str) -> np.ndarray:
    """Per text (shape (len(texts),)), the summed idf of the description's words it holds: 0 for
    none. Words held by more than half of the texts say nothing about a task and count 0."""
    from ..similarity.tokenizers import tokenize

    docs = [set(tokenize(t, "unicode")) for t in texts]
    vocab = set().union(*docs) if docs else set()
    n = len(docs)
    scores = np.zeros(n, dtype=np.float64)
    for word in dict.fromkeys(tokenize(description, "unicode")):
        terms = {v for v in vocab if _word_hit(word, v)}
        rows = [i for i, d in enumerate(docs) if d & terms]
        if rows and len(rows) <= n / 2:
            scores[rows] += math.log((1 + n) / (1 + len(rows))) + 1.0
    return scores


def _no_match(tasks: list[Task], task: str) -> UserInputError:
    from rapidfuzz import fuzz, process

    names = sorted({tag for t in tasks for tag in t.meta.get("tags") or [] if isinstance(tag, str)})
    names += sorted({n for t in tasks for n in _source_names(t)} - set(names))
    closest = [n for n, _, _ in process.extract(task, names, scorer=fuzz.WRatio, limit=12)]
    listed = ", ".join(repr(n) for n in closest) + (" …" if len(names) > len(closest) else "")
    return UserInputError(
        f"no task matches {task!r}: no tag or source has that name, and no task holds any of "
        f"its words. Tags and sources here, closest first: {listed}",
        field="task",
        hint="Give one of these names, or describe the task with words its tasks use.",
    )


def _pool(
    ws: Workspace,
    tasks: list[Task],
    task: str | None,
    budget: int,
    embed: str,
    model: str,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> tuple[list[Task], np.ndarray, dict[str, Any]]:
    if task is not None and not task.strip():
        raise UserInputError("empty task description", field="task")
    kind = None
    if task is None:
        pool = tasks
    else:
        task = task.strip()
        pool = [t for t in tasks if task in (t.meta.get("tags") or [])]
        kind = "tag"
        if not pool:
            pool = [t for t in tasks if task in _source_names(t)]
            kind = "source"
        if not pool:
            scores = description_scores([task_text(t) for t in tasks], task)
            best = float(scores.max()) if len(scores) else 0.0
            if best <= 0:
                raise _no_match(tasks, task)
            # The tasks holding the description's telling words: those within MATCH_SHARE of the
            # best score, best first, at most POOL_FACTOR x budget (stable task order inside).
            order = np.argsort(-scores, kind="stable")
            good = [int(i) for i in order if scores[i] >= MATCH_SHARE * best]
            keep = sorted(good[: POOL_FACTOR * budget])
            pool = [tasks[i] for i in keep]
            kind = "words"
    x, _, how = vectors(
        ws,
        [task_text(t) for t in pool],
        embed=embed,
        model=model,
        progress=progress,
        cancel=cancel,
    )
    return pool, x, {**how, "pool": kind} if kind else how


def select(
    ws: Workspace,
    *,
    budget: int | None = None,
    fraction: float | None = None,
    method: str = "kcenter",
    task: str | None = None,
    embed: str = "tfidf",
    model: str = "default",
    seed: int = 0,
    name: str | None = None,
    task_ids: Sequence[int] | None = None,
    save: bool = True,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> SelectionResult:
    """Choose a subset of the workspace's tasks (or of `task_ids`) and store it as `name`."""
    if method not in METHODS:
        raise UserInputError(
            f"expected one of {', '.join(METHODS)}, found {method!r}", field="method"
        )
    if task_ids is not None:
        tasks = iter_tasks(
            ws,
            where="id IN (SELECT value FROM json_each(?))",
            params=[json.dumps([int(i) for i in task_ids])],
        )
    else:
        tasks = iter_tasks(ws)
    if not tasks:
        raise UserInputError("the workspace has no tasks to select from")
    k = resolve_budget(len(tasks), budget, fraction)
    pool, x, how = _pool(ws, tasks, task, k, embed, model, progress, cancel)
    k = min(k, len(pool))
    chosen = choose(x, k, method, seed)
    rand = choose(x, k, "random", seed)
    mean_d, max_d = coverage(x, chosen)
    r_mean, r_max = coverage(x, rand)
    result = SelectionResult(
        ids=[_stored_id(pool[i]) for i in chosen],
        mean_distance=mean_d,
        max_distance=max_d,
        random_mean_distance=r_mean,
        random_max_distance=r_max,
        method=method,
        budget=k,
        pool=len(pool),
        seed=seed,
        embed=how,
        task=task,
    )
    if save:
        result.name = name or f"{method}-{k}-seed{seed}"
        result.selection_id = save_selection(ws, result)
    return result


# ------------------------------------------------------------------------- named selections
def save_selection(ws: Workspace, result: SelectionResult) -> int:
    """Store (or replace, by name) a selection and its members in one transaction."""
    config = {
        "budget": result.budget,
        "seed": result.seed,
        "task": result.task,
        "pool": result.pool,
        **result.embed,
    }
    stats = {
        k: getattr(result, k)
        for k in ("mean_distance", "max_distance", "random_mean_distance", "random_max_distance")
    }
    with ws.transaction():
        ws.execute("DELETE FROM selections WHERE name = ?", (result.name,))
        sid = ws.insert(
            "selections",
            {"name": result.name, "method": result.method, "config": config, "stats": stats},
        )
        for pos, tid in enumerate(result.ids):
            ws.insert("selection_members", {"selection_id": sid, "task_id": tid, "position": pos})
    return sid


def list_selections(ws: Workspace) -> list[dict[str, Any]]:
    """Named selections, newest first, with their size (the GUI's list)."""
    rows = ws.query(
        "SELECT s.id, s.name, s.method, s.config, s.stats, s.created_at, "
        "(SELECT count(*) FROM selection_members m WHERE m.selection_id = s.id) AS size "
        "FROM selections s ORDER BY s.id DESC"
    )
    for r in rows:
        r["config"], r["stats"] = json.loads(r["config"]), json.loads(r["stats"])
    return rows


def selection_task_ids(ws: Workspace, name: str) -> list[int]:
    sid = ws.scalar("SELECT id FROM selections WHERE name = ?", (name,))
    if sid is None:
        raise UserInputError(f"no selection named {name!r} in this workspace", field="name")
    return [
        r[0]
        for r in ws.execute(
            "SELECT task_id FROM selection_members WHERE selection_id = ? ORDER BY position", (sid,)
        )
    ]


def delete_selection(ws: Workspace, name: str) -> None:
    with ws.transaction():
        ws.execute("DELETE FROM selections WHERE name = ?", (name,))


# ---------------------------------------------------------------------------------- export
def single_wording(tasks: Sequence[Task]) -> str:
    """The instruction wording used for all records: the most common one, ties to the first."""
    counts = Counter(t.instruction.strip() for t in tasks)
    top = max(counts.values())
    return next(t.instruction.strip() for t in tasks if counts[t.instruction.strip()] == top)


def export_selection(
    ws: Workspace,
    task_ids: Sequence[int],
    out: str | Path,
    *,
    fmt: str = "alpaca",
    one_instruction: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Write the subset through the formats exporter. With `one_instruction` ("" = pick the
    most common wording) every record gets that single instruction wording ("one instruction
    is enough"); the workspace itself is not changed: the rewritten copy lives in a temporary
    workspace that only the export reads."""
    from ..formats.exporter import export

    ids = [int(i) for i in task_ids]
    if one_instruction is None:
        return export(ws, fmt, out, task_ids=ids, keep_order=True, **options).to_dict()
    tasks = iter_tasks(ws, where="id IN (SELECT value FROM json_each(?))", params=[json.dumps(ids)])
    by_id = {t.id: t for t in tasks}
    ordered = [by_id[i] for i in ids if i in by_id]
    if not ordered:
        raise UserInputError("the selection holds no tasks")
    wording = one_instruction.strip() or single_wording(ordered)
    tmp = Path(tempfile.mkdtemp(prefix="workbench-one-instruction-"))
    try:
        with Workspace.create(tmp / "subset.sqlite") as sub:
            with sub.transaction():
                for t in ordered:
                    add_task(
                        sub,
                        Task(
                            instruction=wording,
                            instances=t.instances,
                            is_classification=t.is_classification,
                            name=t.name,
                            source=t.source,
                            origin=t.origin,
                            lang=t.lang,
                            meta={**t.meta, "original_instruction": t.instruction},
                        ),
                    )
            result = export(sub, fmt, out, **options).to_dict()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with ws.transaction():  # the export happened from this workspace's data: record it here
        ws.insert(
            "exports",
            {
                "format": fmt,
                "path": result["path"],
                "selection": {"subset": len(ids), "one_instruction": wording},
                "count": result["count"],
            },
        )
    result["instruction"] = wording
    return result
