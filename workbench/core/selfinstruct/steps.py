"""The four steps as units of work: one model call and all it produced, in one transaction.

State lives in SQLite only: a candidate waiting for step 2 or 3 is a `candidates` row with
decision "pending" (and `clf_call_id` set once step 2 is done), so a run killed between any two
commits resumes exactly where it stopped. Candidate rows are written through `candidates`, tasks
through `store.tasks.add_task`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import Cancelled
from ..jobs import CancelToken
from ..llm.base import Backend, GenParams, GenResult, record_generation
from ..similarity import SimilarityIndex, score
from ..store.tasks import Instance, Task, add_task
from ..store.workspace import Workspace
from . import candidates, parse, prompts
from .candidates import Decision, NewCandidate, Reason, decide_call
from .config import RunConfig
from .filters import InstructionRules, filter_instances, instruction_reason
from .presets import Preset
from .validity import normalise

PURPOSE_GEN = "instruction-generation"
PURPOSE_CLF = "classification"
PURPOSE_INST = "instances"
PURPOSE_ALPACA = "alpaca-generation"


def derive_seed(seed: int, *parts: int) -> int:
    """A per-call sampling seed from the run's seed, stable across resumes."""
    x = seed & 0xFFFFFFFF
    for p in parts:
        x = (x * 1_000_003 + p + 1) & 0x7FFFFFFF
    return x


@dataclass
class Similar:
    max_score: float
    avg_score: float
    top: dict[str, float]


def similarity_to_pool(
    index: SimilarityIndex, text: str, earlier: list[str], tokenizer: str, k: int = 10
) -> Similar:
    """ROUGE-L of `text` against the pool and the candidates kept earlier in the same call.

    One pass over the pool (`scores`), from which max, mean and top-k all come; the reference
    computes the same three figures over seeds + machine instructions.
    """
    pool = np.asarray(index.scores(text), dtype=float) if len(index) else np.zeros(0)
    extra = np.asarray([score(text, e, tokenizer) for e in earlier], dtype=float)
    allv = np.concatenate([pool, extra])
    if not len(allv):
        return Similar(0.0, 0.0, {})
    # Stable order: highest score first, ties in pool order (as the index's top_k does).
    order = np.lexsort((np.arange(len(allv)), -allv))[:k]
    top: dict[str, float] = {}
    for i in order.tolist():
        t = index[i] if i < len(pool) else earlier[i - len(pool)]
        top.setdefault(t, float(allv[i]))
    return Similar(float(allv.max()), float(allv.mean()), top)


@dataclass
class Context:
    """What every step needs; built once per run session. `config` is the run's, whole."""

    ws: Workspace
    backend: Backend
    run_id: int
    config: RunConfig
    preset: Preset
    templates: prompts.Templates
    rules: InstructionRules
    index: SimilarityIndex  # the pool: every task's instruction, grown as tasks are accepted
    tokenizer: str
    cancel: CancelToken | None
    on_decided: Callable[[str, Decision, Reason | None], None]
    on_call: Callable[[GenResult], None]
    seeds: list[dict[str, Any]] = field(default_factory=list)
    # Sizes of rounds already begun, by first step-1 call (`round_bounds`): never change.
    round_sizes: dict[int, int] = field(default_factory=dict)

    @property
    def seed(self) -> int:
        return self.config.seed

    @property
    def compat(self) -> str | None:
        return self.config.compat

    @property
    def gen_max_tokens(self) -> int:
        return self.config.gen_max_tokens or self.preset.gen_max_tokens

    # ------------------------------------------------------------------ model calls
    def call(
        self,
        *,
        prompt: str | None = None,
        messages: list[dict[str, str]] | None = None,
        params: GenParams,
    ) -> GenResult:
        if self.cancel is not None:
            self.cancel.check()
        if messages is not None:
            res = self.backend.chat(messages, params, cancel=self.cancel)
        else:
            res = self.backend.complete(prompt or "", params, cancel=self.cancel)
        if res.finish_reason == "cancelled":
            # A cut-off call is not recorded: the resumed run makes it again, with the same seed.
            raise Cancelled()
        self.on_call(res)
        return res

    def record(
        self,
        purpose: str,
        params: GenParams,
        res: GenResult,
        *,
        prompt: str | None,
        messages: list[dict[str, str]] | None,
    ) -> int:
        return record_generation(
            self.ws,
            self.backend,
            run_id=self.run_id,
            purpose=purpose,
            params=params,
            result=res,
            prompt=prompt,
            messages=messages,
        )

    def stop(self, ours: tuple[str, ...], reference: tuple[str, ...]) -> list[str]:
        return list(reference if self.compat == parse.REFERENCE else ours)

    def generated_instructions(self) -> list[str]:
        return [
            r[0]
            for r in self.ws.execute(
                "SELECT instruction FROM tasks WHERE source = 'generated' ORDER BY id"
            )
        ]


# ---------------------------------------------------------------------------- rounds
COMPLETION_LAST_ITEM = 15  # a completion step-1 prompt stops at item 16 (the presets' gen_stop)


def asked_per_call(preset: Preset) -> int:
    """Instructions one step-1 call asks for: the chat prompt's `prompts.CHAT_COUNT` (8), a
    completion prompt's items after its examples up to the stop at item 16 (7 after the usual
    8 examples; more when the pool has fewer seeds, so the figure never exceeds the ask)."""
    if preset.api == "chat":
        return prompts.CHAT_COUNT
    return max(1, COMPLETION_LAST_ITEM - preset.prompt_instructions)


def capped_round_size(round_size: int, remaining: int, per_call: int) -> int:
    """Step-1 calls of a round that starts with `remaining` (>= 1) tasks still to accept, each
    call asking for `per_call` instructions: `round_size`, but no more calls than could
    supply `remaining` tasks if every instruction asked for were kept. Always >= 1."""
    return max(1, min(round_size, -(-max(remaining, 1) // max(per_call, 1))))


def round_bounds(ctx: Context, batch: int) -> tuple[int, int]:
    """(first, end) step-1 calls of the round holding call `batch` (first <= batch < end;
    `batch`: a call already made or the next one). Rounds of `config.round_size` calls; with
    `config.round_cap` a round's size is `capped_round_size` of the tasks left to accept when
    it starts (target minus the tasks from the calls before it, all settled by then: read back
    from the candidates, so the same at any K and after a resume). The max_gen_calls stop is
    the caller's."""
    rsize = ctx.config.round_size or 1
    if not ctx.config.round_cap or rsize == 1:
        first = batch - batch % rsize
        return first, first + rsize
    per_call = asked_per_call(ctx.preset)
    first = 0
    while True:
        size = ctx.round_sizes.get(first)
        if size is None:
            kept = candidates.kept_in_calls(ctx.ws, ctx.run_id, 0, first)
            size = capped_round_size(rsize, ctx.config.target - kept, per_call)
            if first < batch:  # begun: its calls before it were all settled when it began
                ctx.round_sizes[first] = size
        if batch < first + size:
            return first, first + size
        first += size


# ---------------------------------------------------------------------------- step 1
def generate_request(ctx: Context, batch: int) -> Request:
    """Step 1's call number `batch`: examples drawn (seeded by batch) from the seeds and the
    tasks accepted so far (also what a server run sends ahead for a round, prefetch.py)."""
    p = ctx.preset
    rng = random.Random(f"{ctx.seed}:{batch}")
    machine = ctx.generated_instructions()
    n_machine = min(p.machine_instructions, len(machine))
    seed_texts = [s["instruction"] for s in ctx.seeds]
    n_seed = min(p.prompt_instructions - n_machine, len(seed_texts))
    examples = rng.sample(machine, n_machine) + rng.sample(seed_texts, n_seed)
    rng.shuffle(examples)
    params = GenParams(
        max_tokens=ctx.gen_max_tokens,
        temperature=p.gen_temperature,
        top_p=p.gen_top_p,
        top_k=0,
        min_p=0.0,
        presence_penalty=p.gen_presence_penalty,
        stop=ctx.stop(p.gen_stop, p.gen_stop_reference),
        seed=derive_seed(ctx.seed, batch, 1),
    )
    if p.api == "chat":
        messages = prompts.instruction_messages(ctx.templates.chat_instruction_gen, examples)
        if p.gen_list_grammar and ctx.compat != parse.REFERENCE:
            params.grammar = prompts.numbered_list_grammar(len(examples) + 1)
        return None, messages, params
    return prompts.instruction_prompt(ctx.templates.instruction_gen, examples), None, params


def step_generate(ctx: Context, batch: int) -> int:
    """Step 1 (+ the instruction filter): one call, its candidates stored. Returns how many."""
    prompt, messages, params = generate_request(ctx, batch)
    res = ctx.call(prompt=prompt, messages=messages, params=params)
    if ctx.preset.api == "chat":
        parsed = parse.parse_chat_instructions(res.text, res.finish_reason)
    else:
        parsed = parse.parse_instructions(res.text, res.finish_reason, ctx.compat)
    rows = decide_instructions(
        ctx, [(c.text, Reason.TRUNCATED if c.truncated else None) for c in parsed]
    )
    with ctx.ws.transaction():
        call_id = ctx.record(PURPOSE_GEN, params, res, prompt=prompt, messages=messages)
        for pos, row in enumerate(rows):
            candidates.insert(ctx.ws, ctx.run_id, call_id, batch, pos, row)
    for row in rows:
        if row.decision == Decision.DROPPED:
            ctx.on_decided(row.instruction, row.decision, row.reason)
    return len(rows)


def decide_instructions(ctx: Context, items: list[tuple[str, Reason | None]]) -> list[NewCandidate]:
    """Candidate rows for one call's instructions: `decide_step_one` with the run's pool,
    tokenizer, rules and threshold."""
    return decide_step_one(ctx.index, ctx.tokenizer, ctx.rules, ctx.config.threshold, items)


def decide_step_one(
    index: SimilarityIndex,
    tokenizer: str,
    rules: InstructionRules,
    threshold: float,
    items: list[tuple[str, Reason | None]],
) -> list[NewCandidate]:
    """Step 1's filter for one call's instructions, used by runs and replays alike. Each item
    is (text, what the parser found wrong with it: truncated, unparsable, placeholder-output,
    or None); then the instruction rules, then the ROUGE-L rule (`candidates.decide_call`)
    against `index` (the pool) and the earlier passing ones of this call. Passing ones are
    "pending"; every row carries its neighbours (top 10), highest and mean score.

    With `rules.validity` each text is normalised first (validity.normalise: numbering,
    quotes, date stamps) and judged, pooled and stored as normalised; the model's own text
    stays in the row's meta as "raw" (with "normalised": what was stripped)."""
    texts = [t for t, _ in items]
    metas: list[dict[str, Any]] = [{} for _ in items]
    if rules.validity:
        for i, text in enumerate(texts):
            n = normalise(text, rules.lang)
            if n.changed:
                texts[i], metas[i] = n.text, {"raw": text, "normalised": list(n.changes)}
    rule_reasons = [
        parsed if parsed is not None else instruction_reason(text, rules)
        for text, (_, parsed) in zip(texts, items)
    ]
    rows = rouge_rule(index, tokenizer, threshold, texts, rule_reasons)
    for row, meta in zip(rows, metas):
        row.meta = meta
    return rows


def rouge_rule(
    index: SimilarityIndex,
    tokenizer: str,
    threshold: float,
    texts: Sequence[str],
    rule_reasons: Sequence[Reason | None],
) -> list[NewCandidate]:
    """The ROUGE-L part of step 1 (`candidates.decide_call`) for one call's (normalised) texts,
    given what the instruction rules said of each: candidate rows with their decision ("pending"
    or "dropped"), reason, neighbours (top 10), highest and mean score."""
    sims: dict[int, Similar] = {}

    def best(i: int, siblings: Sequence[int]) -> float:
        sims[i] = similarity_to_pool(index, texts[i], [texts[j] for j in siblings], tokenizer)
        return sims[i].max_score

    verdicts = decide_call(rule_reasons, best, threshold)
    return [
        NewCandidate(
            instruction=text,
            decision=Decision.PENDING if v.reason is None else Decision.DROPPED,
            reason=v.reason,
            max_score=sims[i].max_score,
            most_similar=sims[i].top,
            avg_similarity_score=sims[i].avg_score,
        )
        for i, (text, v) in enumerate(zip(texts, verdicts))
    ]


def redecide_call(ctx: Context, batch: int) -> list[dict[str, Any]]:
    """Step 1's ROUGE-L rule for call `batch` once more, now that the calls before it are
    settled: a call of a round was first decided against the round's snapshot of the pool,
    without the tasks accepted since from the earlier calls of its round, which the sequential
    procedure would have compared it with. Same rule, same siblings (`rouge_rule`); the rows
    are updated in one transaction. Does nothing (returns []) when no task came from the
    earlier calls of the round (rounds of 1 never change) or once a candidate of the call went
    on to step 2 or 3 (it was decided again before that: idempotent across a resume).

    Returns the candidates (id, batch, position, instruction) that it dropped ("rouge"); ones
    it let through are pending again and go on to steps 2 and 3 like the others."""
    start, _end = round_bounds(ctx, batch)
    if start == batch or not candidates.kept_in_calls(ctx.ws, ctx.run_id, start, batch):
        return []
    rows = candidates.of_call(ctx.ws, ctx.run_id, batch)
    if any(r["clf_call_id"] is not None or r["instances_call_id"] is not None for r in rows):
        return []
    rule = [Reason(r["reason"]) if r["reason"] in candidates.RULE_REASONS else None for r in rows]
    new = rouge_rule(
        ctx.index, ctx.tokenizer, ctx.config.threshold, [r["instruction"] for r in rows], rule
    )
    dropped = []
    with ctx.ws.transaction():
        for r, n in zip(rows, new):
            candidates.set_step_one(ctx.ws, r["id"], n)
            if n.decision == Decision.DROPPED and r["decision"] == str(Decision.PENDING):
                dropped.append({**r, "batch": batch})
    for r in dropped:
        ctx.on_decided(r["instruction"], Decision.DROPPED, Reason.ROUGE)
    return dropped


# ---------------------------------------------------------------------------- step 2
Request = tuple[str | None, list[dict[str, str]] | None, GenParams]  # prompt, messages, params


def classify_request(ctx: Context, cand: dict[str, Any]) -> Request:
    """Step 2's call for a candidate (`cand`: batch, position, instruction): also what a
    server run sends ahead of time (core.selfinstruct.prefetch)."""
    params = GenParams(
        max_tokens=ctx.config.clf_max_tokens,
        temperature=0.0,
        top_p=1.0,
        top_k=1,
        min_p=0.0,
        stop=["\n", "Task"],
        seed=derive_seed(ctx.seed, cand["batch"], 2, cand["position"]),
    )
    if ctx.preset.api == "chat":
        return None, prompts.clf_messages(ctx.templates.clf, cand["instruction"]), params
    return prompts.clf_prompt(ctx.templates.clf, cand["instruction"]), None, params


def step_classify(ctx: Context, cand: dict[str, Any]) -> bool:
    prompt, messages, params = classify_request(ctx, cand)
    res = ctx.call(prompt=prompt, messages=messages, params=params)
    is_clf = parse.parse_clf_label(res.text, ctx.compat)
    with ctx.ws.transaction():
        call_id = ctx.record(PURPOSE_CLF, params, res, prompt=prompt, messages=messages)
        candidates.set_classification(ctx.ws, cand["id"], is_clf, call_id)
    cand["is_classification"], cand["clf_call_id"] = int(is_clf), call_id
    return is_clf


# ---------------------------------------------------------------------------- step 3
def instances_request(ctx: Context, cand: dict[str, Any], is_clf: bool) -> Request:
    """Step 3's call for a candidate, by its step-2 answer (see `classify_request`)."""
    template = ctx.templates.output_first if is_clf else ctx.templates.input_first
    params = GenParams(
        max_tokens=ctx.config.instances_max_tokens,
        temperature=0.0,
        top_p=1.0,
        top_k=1,
        min_p=0.0,
        presence_penalty=1.5,
        stop=[f"Example {ctx.config.max_instances + 1}", "Task:"],
        seed=derive_seed(ctx.seed, cand["batch"], 3, cand["position"]),
    )
    if ctx.preset.api == "chat":
        return None, prompts.instances_messages(template, cand["instruction"]), params
    return prompts.instances_prompt(template, cand["instruction"]), None, params


def step_instances(ctx: Context, cand: dict[str, Any]) -> bool:
    """Step 3 (+ the instance filter): the task is accepted when an instance survives."""
    is_clf = bool(cand.get("is_classification"))
    prompt, messages, params = instances_request(ctx, cand, is_clf)
    res = ctx.call(prompt=prompt, messages=messages, params=params)
    parser = parse.parse_classification_instances if is_clf else parse.parse_generation_instances
    pairs = parser(res.text, res.finish_reason, ctx.compat)
    decided = filter_instances(pairs, max_instances=ctx.config.max_instances)
    kept = [d for d in decided if d["kept"]]
    with ctx.ws.transaction():
        call_id = ctx.record(PURPOSE_INST, params, res, prompt=prompt, messages=messages)
        task_id = insert_task(ctx, cand, kept, call_id) if kept else None
        candidates.settle(
            ctx.ws, cand["id"], instances_call_id=call_id, instances=decided, task_id=task_id
        )
    if kept:
        ctx.index.add(cand["instruction"])  # the pool grows when a task is accepted
        ctx.on_decided(cand["instruction"], Decision.KEPT, None)
    else:
        ctx.on_decided(cand["instruction"], Decision.DROPPED, Reason.NO_INSTANCES)
    return bool(kept)


def insert_task(
    ctx: Context, cand: dict[str, Any], instances: list[dict[str, Any]], call_id: int | None
) -> int:
    """The accepted task and its instances, through `store.tasks.add_task` (inside the
    caller's transaction). `cand` needs "id" and "instruction" ("is_classification" if known);
    `instances` are filter_instances' kept dicts."""
    clf = cand.get("is_classification")
    return add_task(
        ctx.ws,
        Task(
            cand["instruction"],
            [Instance(d["input"], d["output"]) for d in instances],
            None if clf is None else bool(clf),
            source="generated",
            origin=f"self-instruct:{ctx.preset.name}",
            run_id=ctx.run_id,
            lang=ctx.rules.lang,
        ),
        candidate_id=cand["id"],
        call_id=call_id,
    )


# ---------------------------------------------------------------------------- alpaca
def step_alpaca(ctx: Context, batch: int, remaining: int) -> int:
    """Alpaca: one call writes instruction/input/output triples; each is filtered and, when it
    passes, accepted at once (no classification, no instance call). Past the `remaining`
    tasks the run needs, passing triples are stored as dropped ("target-reached")."""
    p = ctx.preset
    rng = random.Random(f"{ctx.seed}:{batch}")
    with_inst = [s for s in ctx.seeds if s["instances"]]
    demos = [
        (s["instruction"], s["instances"][0][0], s["instances"][0][1])
        for s in rng.sample(with_inst, min(p.prompt_instructions, len(with_inst)))
    ]
    params = GenParams(
        max_tokens=ctx.gen_max_tokens,
        temperature=p.gen_temperature,
        top_p=p.gen_top_p,
        top_k=0,
        min_p=0.0,
        stop=ctx.stop(p.gen_stop, p.gen_stop_reference),
        seed=derive_seed(ctx.seed, batch, 1),
    )
    prompt = prompts.alpaca_prompt(ctx.templates.alpaca, demos)
    res = ctx.call(prompt=prompt, params=params)
    triples = parse.parse_alpaca(res.text, res.finish_reason, len(demos) + 1, ctx.compat)
    # Cut by max_tokens first (it explains a block that cannot be read), then the parser's.
    rows = decide_instructions(
        ctx,
        [
            (
                t.instruction,
                Reason.TRUNCATED if t.truncated else Reason(t.reason) if t.reason else None,
            )
            for t in triples
        ],
    )
    accepted = 0
    with ctx.ws.transaction():
        call_id = ctx.record(PURPOSE_ALPACA, params, res, prompt=prompt, messages=None)
        for pos, (t, row) in enumerate(zip(triples, rows)):
            decided = filter_instances(
                [(t.input, t.output)], max_instances=ctx.config.max_instances
            )
            if row.decision == Decision.PENDING:
                if accepted >= remaining:
                    row.decision, row.reason = Decision.DROPPED, Reason.TARGET_REACHED
                elif decided[0]["kept"]:
                    row.decision = Decision.KEPT
                else:
                    row.decision, row.reason = Decision.DROPPED, Reason.NO_INSTANCES
            row.instances, row.instances_call_id = decided, call_id
            cid = candidates.insert(ctx.ws, ctx.run_id, call_id, batch, pos, row)
            if row.decision == Decision.KEPT:
                tid = insert_task(
                    ctx, {"id": cid, "instruction": row.instruction}, decided, call_id
                )
                candidates.link_task(ctx.ws, cid, tid)
                accepted += 1
    for row in rows:
        if row.decision == Decision.KEPT:
            ctx.index.add(row.instruction)
        ctx.on_decided(row.instruction, row.decision, row.reason)
    return accepted
