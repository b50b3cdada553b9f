"""bench/quality.py's fresh run against a server: the CLI's model options, handed to
`workbench self-instruct` as given (a real HTTP server: the simulated one on 127.0.0.1)."""

from __future__ import annotations

from bench_helpers import load_bench

from workbench.core.llm.simserver import SimulatedServer

quality = load_bench("quality")


def test_model_options_mirror_the_cli():
    p = quality.argparse.ArgumentParser()
    quality.add_model_args(p)
    args = p.parse_args(["--server", "http://a:1", "--server", "http://b:2", "--concurrency", "4"])
    assert quality.model_options(p, args) == [
        "--server",
        "http://a:1",
        "--server",
        "http://b:2",
        "--concurrency",
        "4",
    ]
    assert quality.model_options(p, p.parse_args([])) == []  # the CLI's default model
    args = p.parse_args(["--model", "m.gguf"])
    assert quality.model_options(p, args) == ["--model", "m.gguf"]


def test_fresh_run_on_a_server_reports_its_kept_tasks(tmp_path, capsys):
    with SimulatedServer(latency=0.0, per_token=0.0) as sim:
        url = sim.url
        argv = ["--run", "1", "--target", "3", "--server", url, "--server-model", "big"]
        argv += ["--api-key", "s3cret", "--workspace", str(tmp_path / "q.sqlite")]
        assert quality.main(argv) == 0
        assert sim.requests > 0
    out = capsys.readouterr().out
    assert f"--server {url} --server-model big --api-key ***" in out
    assert "s3cret" not in out  # the key is not printed
    assert "openai big, preset chat, seed 1, target 3" in out  # the run's backend and model
    assert "kept tasks the rule calls valid: " in out and "/3 (" in out
