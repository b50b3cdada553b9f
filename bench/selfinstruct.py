"""SELF-INSTRUCT throughput: accepted tasks per minute with prefix reuse vs the naive pattern.

Both runs use the same model file, preset, seed and token limits on fresh copies of the same
seeded workspace. "reuse" is the app as it is (llama.cpp KV cache and the backend's prefix-state
cache, calls grouped by template); "naive" evaluates every prompt from a cold context, as a
client of a stateless API would. The last line prints the ratio.

    python bench/selfinstruct.py [--target 8] [--preset chat] [--model default] [--threads N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from workbench.core.formats.importer import import_file  # noqa: E402
from workbench.core.llm.factory import resolve_model  # noqa: E402
from workbench.core.llm.llamacpp import LlamaCppBackend  # noqa: E402
from workbench.core.selfinstruct.run import RunConfig, run_self_instruct  # noqa: E402
from workbench.core.store.workspace import Workspace  # noqa: E402

SEEDS = REPO.parent / "shared" / "data" / "self_instruct" / "seed_tasks.jsonl"


class ColdBackend:
    """The same backend with every call starting from an empty context."""

    def __init__(self, inner: LlamaCppBackend) -> None:
        self.inner = inner
        self.name, self.model_id, self.model_sha256 = inner.name, inner.model_id, inner.model_sha256

    def complete(self, prompt, params, **kw):
        self.inner.llm.reset()
        return self.inner.complete(prompt, params, **kw)

    def chat(self, messages, params, **kw):
        self.inner.llm.reset()
        return self.inner.chat(messages, params, **kw)

    def close(self) -> None:
        self.inner.close()


def one_run(label: str, backend, config: RunConfig, seeds: Path) -> float:
    with tempfile.TemporaryDirectory() as d:
        ws = Workspace.create(Path(d) / "ws.sqlite")
        import_file(ws, seeds, None)
        t0 = time.perf_counter()
        s = run_self_instruct(ws, backend, config)
        dt = time.perf_counter() - t0
        evald = ws.scalar("SELECT sum(prompt_eval_tokens) FROM model_calls")
        total = ws.scalar("SELECT sum(prompt_tokens) FROM model_calls")
        # Where the time goes, per step: prompt evaluation is what reuse saves; decoding is not.
        for r in ws.query(
            "SELECT purpose, count(*) AS n, sum(prompt_tokens) AS p,"
            " sum(prompt_eval_tokens) AS e, sum(completion_tokens) AS c,"
            " sum(json_extract(timings, '$.prompt_s')) AS ps,"
            " sum(json_extract(timings, '$.generation_s')) AS gs"
            " FROM model_calls GROUP BY purpose ORDER BY min(id)"
        ):
            print(
                f"  {label:6s} {r['purpose']:24s} {r['n']:3d} calls  "
                f"prompt {r['e']:6d}/{r['p']:6d} tok {r['ps'] or 0:6.1f} s  "
                f"output {r['c']:5d} tok {r['gs'] or 0:6.1f} s"
            )
        ws.close()
    rate = 60 * s.accepted / dt
    print(
        f"{label:6s} accepted {s.accepted} in {dt:7.1f} s, {s.calls} calls, prompt tokens "
        f"evaluated {evald}/{total}: {rate:.2f} tasks/min"
    )
    return rate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", type=int, default=8)
    ap.add_argument("--preset", default="chat")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="default")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--max-tokens", type=int, default=160)
    ap.add_argument("--instances-max-tokens", type=int, default=96)
    ap.add_argument("--seeds", type=Path, default=SEEDS)
    a = ap.parse_args()
    config = RunConfig(
        preset=a.preset,
        target=a.target,
        seed=a.seed,
        gen_max_tokens=a.max_tokens,
        instances_max_tokens=a.instances_max_tokens,
    )
    path = resolve_model(a.model)
    warm = LlamaCppBackend(path, n_threads=a.threads)
    reuse = one_run("reuse", warm, config, a.seeds)
    warm.close()
    cold = ColdBackend(LlamaCppBackend(path, n_threads=a.threads, prefix_cache=False))
    naive = one_run("naive", cold, config, a.seeds)
    cold.close()
    print(f"prefix reuse vs naive: {reuse / naive:.2f}x accepted tasks per minute")


if __name__ == "__main__":
    main()
