"""A SELF-INSTRUCT run's settings (`RunConfig`), and a stored run read back typed (`StoredRun`).

The one source of the defaults: the CLI's options, the Generate panel's fields and the preset
list all read them from here. Light on purpose (no similarity engine, no model code), so the
window can import it at start-up.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..errors import UserInputError
from ..store.runs import get_run
from ..store.workspace import Workspace
from .candidates import DEFAULT_THRESHOLD, PoolGrowth
from .presets import PRESETS, get_preset

RUN_KIND = "self-instruct"
REPLAY_KIND = "replay"
COMPAT_MODES = (None, "fixed", "reference")


@dataclass(frozen=True)
class RunConfig:
    """Everything that shapes a run's output; stored with the run, so a resume is the same run.

    Token counts are the model's tokens; "tasks" are accepted tasks (a task with at least one
    instance that survived the instance rules).
    """

    preset: str = "chat"
    """One of `PRESETS` ("chat", "self-instruct", "alpaca"): prompts, sampling, pipeline."""
    target: int = 20
    """Accepted tasks to reach (>= 1); the run stops at exactly this many."""
    seed: int = 0
    """Seeds prompt sampling and every call's sampling seed (any int): same seed, same run."""
    threshold: float = DEFAULT_THRESHOLD
    """ROUGE-L F-measure, 0..1. A candidate whose highest score against the pool (and the
    earlier passing candidates of its step-1 call) is above it is dropped ("rouge"); equal to
    it is kept. Lower drops more: 0 keeps only candidates sharing no token with the pool, 1
    keeps everything."""
    templates_dir: str | None = None
    """A folder of prompt templates (None: the workspace's setting, else the built-in ones)."""
    compat: str | None = None
    """None or "fixed": our fixes (docs/fidelity.md); "reference": the reference's behaviour."""
    gen_max_tokens: int | None = None
    """Step-1 token limit (>= 1; None: the preset's, 1024, or 3072 for Alpaca)."""
    clf_max_tokens: int = 3
    """Step-2 (classification) token limit (>= 1)."""
    instances_max_tokens: int = 350
    """Step-3 (instances) token limit per call (>= 1)."""
    max_instances: int = 5
    """Instances kept per task at most (>= 1); the first ones, in the model's order."""
    blacklist: tuple[str, ...] | None = None
    """Words that drop an instruction (None: the workspace's list, else the preset's)."""
    max_gen_calls: int | None = None
    """Safety stop: step-1 calls at most (>= 1; None: 20 + 10 x target)."""
    round_size: int | None = None
    """Step-1 calls per round (>= 1; None: `default_round_size`, resolved and stored when the
    run starts, so a resume keeps it). A round's step-1 prompts are all built from one snapshot
    of the pool (the reference's request_batch_size), so a server can have them in flight
    together; its candidates are then still decided call by call in sequence order, each
    compared with the pool as the sequential procedure would have it (tasks accepted from
    earlier calls of the round included). The round size, not the concurrency, shapes what is
    accepted: the same round size gives the same tasks at any K (docs/models.md)."""
    round_cap: bool | None = None
    """Whether a round has no more step-1 calls than the tasks still to accept can use: at most
    ceil((target - accepted when the round starts) / the instructions one call asks for), a
    rule on the stored state alone, so K, timing and a resume never change it
    (`steps.round_bounds`). None: on, except with compat="reference" (whose rounds are always
    request_batch_size calls); resolved and stored when the run starts. A run stored before
    the rule existed resumes without it. Saves the calls a small target never uses (with rounds
    of 16 at target 3: 1 step-1 call instead of 16; docs/models.md)."""

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        if self.blacklist is not None:
            out["blacklist"] = list(self.blacklist)  # JSON has no tuples
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RunConfig:
        """A config from stored JSON: unknown keys (tokenizer, rules, model...) are ignored,
        missing ones take the defaults."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in (data or {}).items() if k in names}
        if values.get("blacklist") is not None:
            values["blacklist"] = tuple(values["blacklist"])
        return cls(**values)

    def validate(self) -> None:
        """Raise UserInputError (naming the field) for a value out of its range."""
        get_preset(self.preset)
        if self.target < 1:
            raise UserInputError("the target must be at least 1 task", field="target")
        if not 0.0 <= self.threshold <= 1.0:
            raise UserInputError("the ROUGE-L threshold must be between 0 and 1", field="threshold")
        if self.compat not in COMPAT_MODES:
            raise UserInputError(
                f"unknown compat mode {self.compat!r}",
                field="compat",
                hint="Use 'reference' or leave it unset.",
            )
        for name in (
            "gen_max_tokens",
            "clf_max_tokens",
            "instances_max_tokens",
            "max_instances",
            "max_gen_calls",
            "round_size",
        ):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise UserInputError(f"{name} must be at least 1", field=name)


DEFAULTS = RunConfig()

SERVER_ROUND_SIZE = 16
"""Rounds on an OpenAI-compatible server: 16 step-1 calls (~130 candidates) keep 16 requests
busy from one snapshot (bench/serving.py: >= 12x the tasks/min of K = 1 at K = 16)."""
REFERENCE_ROUND_SIZE = 5
"""compat="reference": the reference's request_batch_size (bootstrap_instructions.py)."""


def default_round_size(*, server: bool, compat: str | None = None) -> int:
    """The round size of a run that does not set one: 5 with compat="reference" (the
    reference's request_batch_size, on any backend), else 16 on a server (a thread-safe,
    OpenAI-compatible backend) and 1 in-process (every step-1 prompt sees every task accepted
    before it; one CPU context gains nothing from a round in flight)."""
    if compat == "reference":
        return REFERENCE_ROUND_SIZE
    return SERVER_ROUND_SIZE if server else 1


def default_round_cap(compat: str | None = None) -> bool:
    """The round cap of a run that does not set one: on, except with compat="reference" (the
    reference sends request_batch_size prompts every round, whatever is left to accept)."""
    return compat != "reference"


def preset_choices() -> list[tuple[str, str]]:
    """(label, name) of every preset, in the order the window lists them (the default first)."""
    names = [DEFAULTS.preset, *(n for n in PRESETS if n != DEFAULTS.preset)]
    return [(PRESETS[n].label, n) for n in names]


@dataclass(frozen=True)
class StoredRun:
    """A SELF-INSTRUCT run (or a replay of a reference run) as stored, read back typed.

    `config` holds the run's settings (a replay's: its compat mode and threshold, the rest
    defaults); `tokenizer` the ROUGE-L tokenizer its decisions used; `pool_growth` when a
    candidate joined the pool (ours: when accepted; a replay: at step 1)."""

    id: int
    kind: str
    status: str
    config: RunConfig
    tokenizer: str | None
    pool_growth: PoolGrowth
    created_at: str
    stats: dict[str, Any]
    raw: dict[str, Any]  # the stored JSON as it is (rules, templates, model, source...)

    @property
    def threshold(self) -> float:
        return self.config.threshold

    @property
    def target(self) -> int:
        return self.config.target


def stored_run(ws: Workspace, run_id: int) -> StoredRun | None:
    """The run `run_id` read back typed, or None when there is none (or it is another kind of
    run: self-check, CoT...)."""
    row = get_run(ws, run_id)
    if row is None or row["kind"] not in (RUN_KIND, REPLAY_KIND):
        return None
    return _typed(row)


def stored_runs(ws: Workspace) -> list[StoredRun]:
    """Every SELF-INSTRUCT run and replay of the workspace, newest first (what Inspect lists)."""
    ids = [
        r[0]
        for r in ws.execute(
            "SELECT id FROM runs WHERE kind IN (?, ?) ORDER BY id DESC", (RUN_KIND, REPLAY_KIND)
        )
    ]
    return [run for i in ids if (run := stored_run(ws, i)) is not None]


def _typed(row: dict[str, Any]) -> StoredRun:
    raw = row["config"] or {}
    growth = PoolGrowth.STEP_1 if row["kind"] == REPLAY_KIND else PoolGrowth.ACCEPTED
    data = dict(raw)
    if row["kind"] == REPLAY_KIND:  # a replay records "fixed"/"reference" and no preset
        data = {
            "threshold": raw.get("threshold", DEFAULT_THRESHOLD),
            "compat": raw.get("compat") if raw.get("compat") == "reference" else None,
        }
    return StoredRun(
        id=row["id"],
        kind=row["kind"],
        status=row["status"],
        config=RunConfig.from_dict(data),
        tokenizer=raw.get("tokenizer"),
        pool_growth=PoolGrowth(raw.get("pool_growth", growth)),
        created_at=row["created_at"],
        stats=row["stats"] or {},
        raw=raw,
    )
