"""SELF-INSTRUCT against a server with K requests in flight (issue 17), on the run's own
decision procedure.

The run (`run.run_self_instruct`) stays one loop that decides candidates one at a time, in
sequence order — step 1 of a batch, then step 2 and step 3 of its pending candidates, each
accepted task growing the pool before the next step-1 prompt is built. What changes on a server
is when the answers arrive: as soon as a step-1 call's candidates are stored, the step-2 call of
every pending candidate is sent (`Prefetcher`, up to K at once), and each step-3 call as soon as
its step-2 answer is in. The loop then finds its answers waiting. So a run's accepted tasks
depend on its seed and the model's answers only, never on K or on timing; calls are recorded
when the loop takes them, so a killed run re-issues what was in flight, nothing twice.

With `RunConfig.round_size` R > 1 the R step-1 calls of a round are built from one snapshot of
the pool and all sent at once (`prefetch_generate`); steps 2 and 3 of every candidate that
passed step 1 against the snapshot go out as soon as it is stored. The loop still settles the
round call by call and decides each call again against the pool grown by the earlier ones
(`steps.redecide_call`); the calls sent for a candidate it then drops are withdrawn
(`forget_candidates`), never recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..llm.pool import Prefetcher
from . import candidates, parse, steps


def prefetch_pending(ctx: steps.Context, fetcher: Prefetcher) -> int:
    """Send steps 2 and 3 of every pending candidate of the run ahead of the loop (step 3 of a
    candidate follows its step-2 answer), in the order the loop takes them: every step 2 by
    candidate, then step 3 generation tasks first (candidates.next_for_instances), call (batch)
    by call. Returns how many candidates were sent for."""
    rows = candidates.pending(ctx.ws, ctx.run_id)
    for cand in rows:
        if ctx.preset.classification and cand["clf_call_id"] is None:
            prompt, messages, params = steps.classify_request(ctx, cand)

            def then(res: Any, cand: dict[str, Any] = cand) -> None:
                # The same label the loop will read from this answer (steps.step_classify).
                is_clf = parse.parse_clf_label(res.text, ctx.compat)
                p3, m3, params3 = steps.instances_request(ctx, cand, is_clf)
                fetcher.prefetch(
                    prompt=p3, messages=m3, params=params3, priority=_step3(cand, is_clf)
                )

            fetcher.prefetch(
                prompt=prompt,
                messages=messages,
                params=params,
                priority=(1, cand["batch"], 0, 0, cand["id"]),
                then=then,
            )
        else:
            is_clf = bool(cand["is_classification"])
            p3, m3, params3 = steps.instances_request(ctx, cand, is_clf)
            fetcher.prefetch(prompt=p3, messages=m3, params=params3, priority=_step3(cand, is_clf))
    return len(rows)


def _step3(cand: dict[str, Any], is_clf: bool) -> tuple[int, ...]:
    # The loop's order: call by call; in a call every step 2, then step 3 generation tasks first.
    return (1, cand["batch"], 1, int(is_clf), cand["id"])


def forget_candidates(
    ctx: steps.Context, fetcher: Prefetcher, dropped: Iterable[dict[str, Any]]
) -> None:
    """Withdraw the step-2 and step-3 calls sent ahead for candidates the loop dropped after
    all (`steps.redecide_call`): queued ones never start; an answer already in is let go."""
    for cand in dropped:
        reqs = [steps.classify_request(ctx, cand)] if ctx.preset.classification else []
        reqs += [steps.instances_request(ctx, cand, is_clf) for is_clf in (False, True)]
        for prompt, messages, params in reqs:
            fetcher.forget(prompt=prompt, messages=messages, params=params)


def prefetch_generate(ctx: steps.Context, fetcher: Prefetcher, batches: Iterable[int]) -> None:
    """Send the step-1 calls `batches` of a round now: no task is accepted until the round's
    step-1 calls are all done, so their prompts are those the loop will build."""
    for batch in batches:
        prompt, messages, params = steps.generate_request(ctx, batch)
        fetcher.prefetch(prompt=prompt, messages=messages, params=params, priority=(0, batch))
