"""What every command shares: workspace and model options, output, errors, progress, Ctrl+C."""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import Cancelled, UserInputError, WorkbenchError
from ..core.jobs import CancelToken, Progress
from ..core.llm.pool import MAX_CONCURRENCY
from ..core.store.workspace import Workspace, default_workspace_path

if TYPE_CHECKING:
    from ..core.llm.base import Backend


class JsonAwareParser(argparse.ArgumentParser):
    """A command's parser whose usage errors, with `--json` among its arguments, are one JSON
    object on stdout (`{"error", "path", "line", "field"}`) and one line on stderr, like every
    other failure (`print_error`); exit 2."""

    _argv: list[str] = []

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        self._argv = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str):  # type: ignore[override]
        if "--json" in self._argv:
            sys.stdout.write(json_line(error_object(message)))
            sys.stdout.flush()
            self.exit(2, json_pointer(f"{self.prog}: error: {message}"))
        super().error(message)


def command(
    sub: argparse._SubParsersAction, name: str, help: str, func: Callable[[argparse.Namespace], Any]
) -> argparse.ArgumentParser:
    """A subcommand with the options every command takes (`--workspace`, `--json`)."""
    p = sub.add_parser(name, help=help, description=help)
    p.__class__ = JsonAwareParser  # sub-subcommands (models list, eval self-check) inherit it
    add_common(p)
    p.set_defaults(func=func)
    return p


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workspace",
        "-w",
        metavar="W",
        type=Path,
        default=None,
        help=f"workspace file (default: {default_workspace_path()})",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object with the results on stdout, nothing else",
    )


def positive_int(text: str, maximum: int | None = None) -> int:
    """An argparse `type` for counts that must be at least 1 (`--round-size`), and at most
    `maximum` when given (`concurrency_int`): the usage error names the option and the value,
    like `--target 0`, and the range when there is a maximum."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1 or (maximum is not None and value > maximum):
        bound = "at least 1" if value < 1 else f"at most {maximum}"
        allowed = "" if maximum is None else f" (allowed: 1 to {maximum})"
        raise argparse.ArgumentTypeError(f"must be {bound}, got {value}{allowed}")
    return value


def non_negative_float(text: str) -> float:
    """An argparse `type` for a number that must be 0 or more (`--temperature`): the usage
    error names the option and the value, e.g. "argument --temperature: must be 0 or more,
    got -1.0" (exit 2). NaN and infinity are refused too."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def concurrency_int(text: str) -> int:
    """An argparse `type` for `--concurrency K`: 1 to `MAX_CONCURRENCY` (1024, the window's
    Models -> Concurrency range too), e.g. "argument --concurrency: must be at most 1024, got
    100000 (allowed: 1 to 1024)" (exit 2)."""
    return positive_int(text, MAX_CONCURRENCY)


def add_model_args(p: argparse.ArgumentParser) -> None:
    """`--model default|PATH` or `--server URL [--server-model NAME] [--api-key K]`."""
    g = p.add_argument_group("model")
    g.add_argument(
        "--model",
        "-m",
        default="default",
        help="'default' (the embedded SmolLM2-135M-Instruct) or a GGUF file path",
    )
    g.add_argument(
        "--server",
        metavar="URL",
        action="append",
        default=None,
        help="use an OpenAI-compatible server instead (llama.cpp, vLLM, Ollama); "
        "repeat it (or give a comma list) for one model served in several places",
    )
    g.add_argument(
        "--concurrency",
        metavar="K",
        type=concurrency_int,
        default=None,
        help=f"model requests in flight, 1 to {MAX_CONCURRENCY} (default: 16 with --server, "
        "1 in-process)",
    )
    g.add_argument(
        "--server-model",
        metavar="NAME",
        default=None,
        help="model name to ask --server for (default: the first in its model list)",
    )
    g.add_argument(
        "--api-key",
        metavar="K",
        default=None,
        help="bearer token sent to --server (default: none)",
    )
    g.add_argument(
        "--gpu-layers",
        type=int,
        default=None,
        help="layers to offload to the GPU (-1 = all; default: all when supported)",
    )
    g.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="CPU threads for llama.cpp, at least 1 (default: half the cores, at most 4)",
    )
    g.add_argument(
        "--ctx",
        type=int,
        default=None,
        help="context size in tokens (default: 4096; never more than the model was trained with)",
    )
    g.add_argument(
        "--extra-bufts",
        choices=("auto", "on", "off"),
        default="auto",
        help="llama.cpp's extra buffer types (AMX/repacked weights); auto: off on a "
        "CPU with AMX, whose kernels can crash (docs/models.md)",
    )


def open_model(args: argparse.Namespace) -> Backend:
    """The backend that `add_model_args`'s options name (llama.cpp is loaded only here). A
    server without --server-model is asked for its model list first: a line on stderr says so,
    and Ctrl+C ends that wait at once (raises Cancelled)."""
    from ..core.llm.factory import backend_from_args

    server = getattr(args, "server", None)
    if not server or getattr(args, "server_model", None):
        return backend_from_args(args)
    urls = server if isinstance(server, str) else ", ".join(server)
    print(f"connecting to {urls} (asking for its model list)...", file=sys.stderr)
    with cancel_on_sigint() as cancel:
        return backend_from_args(args, cancel)


def workspace_path(args: argparse.Namespace) -> Path:
    return args.workspace if args.workspace is not None else default_workspace_path()


def open_workspace(
    args: argparse.Namespace, *, create: bool = False, read_only_ok: bool = False
) -> Workspace:
    """The workspace `-w` names (see `Workspace.open`). `read_only_ok` for commands that only
    read it (export, models list): a read-only file or folder is then opened read-only, where
    a command that writes is refused with a message naming what is read-only (exit 2)."""
    return Workspace.open(workspace_path(args), create=create, read_only_ok=read_only_ok)


def json_line(obj: Any) -> str:
    """`obj` as one line of JSON for stdout: UTF-8 text as it is, unless it holds something
    UTF-8 cannot encode (a lone surrogate from a file's escapes or an undecodable file name),
    then with ASCII escapes (`\\ud83d`), which is the same JSON value and never a crash."""
    text = json.dumps(obj, ensure_ascii=False, default=str)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, ensure_ascii=True, default=str)
    return text + "\n"


def print_result(args: argparse.Namespace, result: dict[str, Any]) -> None:
    human = result.pop("_human", None)
    if getattr(args, "json", False):
        sys.stdout.write(json_line(result))
        return
    if human is not None:  # "" means the command already showed its output
        if human:
            print(human)
        return
    for key, value in result.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False)
        print(f"{key}: {value}")


def error_object(message: str, exc: BaseException | None = None) -> dict[str, Any]:
    """What `--json` prints for a failure: `{"error", "path", "line", "field"}` always (null
    when unknown), `record` for a record of a JSON list (its position, 1-based), `hint` when
    there is one, and for a file with bad records `problems` (the
    first 50, each `{"path", "line", "field", "error"}`) and `problems_total`."""
    obj: dict[str, Any] = {
        "error": message,
        "path": getattr(exc, "path", None),
        "line": getattr(exc, "line", None),
        "field": getattr(exc, "field", None),
    }
    if getattr(exc, "record", None) is not None:  # a JSON list's record (1-based)
        obj["record"] = exc.record
    hint = getattr(exc, "hint", None)
    if hint:
        obj["hint"] = hint
    to_dict = getattr(exc, "to_dict", None)
    if callable(to_dict):
        obj.update(to_dict())
    if exc is not None:
        obj["exit_code"] = getattr(exc, "exit_code", 1)
    return obj


JSON_POINTER = " (details: the JSON object on stdout)"


def json_pointer(text: str) -> str:
    """What stderr holds for a failure under `--json`, as one line: the first line of `text`
    (where and what: "error: data.jsonl, line 40: ..."), and when that line introduces a list
    (ends in ":") the list's first item and "…" if there are more, then `JSON_POINTER`. The
    object on stdout has the whole message, the hint and any `problems`, so a script reads one
    object there and a log still says why."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()] or [""]
    first = lines[0]
    if first.endswith(":") and len(lines) > 1 and not lines[1].startswith(("…", "...")):
        first = f"{first} {lines[1]}" + (" …" if len(lines) > 2 else "")
    return first + JSON_POINTER + "\n"


def print_error(args: argparse.Namespace, exc: WorkbenchError) -> None:
    """Without `--json`: the whole message (and its hint) on stderr. With `--json`: the error
    object on stdout (one line, `error_object`) and one line on stderr (`json_pointer`), never
    the message twice. A stop the person asked for (Ctrl+C, SIGTERM: `Cancelled`) is not an
    error: its message has no "error:" before it (the exit code stays 1)."""
    text = str(exc) if isinstance(exc, Cancelled) else f"error: {exc}"
    if not getattr(args, "json", False):
        print(text, file=sys.stderr)
        return
    sys.stderr.write(json_pointer(text))
    message = getattr(exc, "summary", None) or exc.message
    if isinstance(exc, UserInputError) and not getattr(exc, "summary", None):
        from ..core.formats.validation import bare_message

        message = bare_message(exc)
    sys.stdout.write(json_line(error_object(message, exc)))


class ProgressPrinter:
    """Turns job events into a one-line progress display on stderr (plain lines when not a tty).

    `fields` are (key of `Progress.data`, format) pairs shown after the bar when the event has
    them, e.g. ("tokens_per_s", "{:.1f} tok/s")."""

    def __init__(
        self, stream=None, min_interval: float = 0.2, fields: Sequence[tuple[str, str]] = ()
    ) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.min_interval = min_interval
        self.fields = list(fields)
        self._last = 0.0
        self._first: tuple[float, int] | None = None  # (time, done) of the first event

    def __call__(self, ev: Progress) -> None:
        now = time.monotonic()
        final = ev.total is not None and ev.done >= ev.total
        if not final and now - self._last < self.min_interval:
            return
        self._last = now
        parts = [ev.stage]
        if self._first is None:
            self._first = (now, ev.done)
        if ev.total:
            width = 24
            filled = int(width * min(ev.done, ev.total) / ev.total)
            parts.append(f"[{'#' * filled}{'.' * (width - filled)}] {ev.done}/{ev.total}")
            # This session's pace: a resumed job starts with work already done.
            t0, d0 = self._first
            if d0 < ev.done < ev.total:
                eta = (now - t0) * (ev.total - ev.done) / (ev.done - d0)
                parts.append(f"ETA {eta:4.0f}s")
        elif ev.done:
            parts.append(str(ev.done))
        data = ev.data or {}
        for key, fmt in self.fields:
            if data.get(key) is not None:
                parts.append(fmt.format(data[key]))
        if ev.message:
            parts.append(ev.message)
        line = "  ".join(parts)
        if self.tty:
            self.stream.write("\r\x1b[2K" + line[:200])
            if final:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


STOPPED_RESUMABLE = "stopped by you; the work done so far is saved; resume with --resume"


@contextmanager
def cancel_on_sigint(*, resumable: bool = False) -> Iterator[CancelToken]:
    """Ctrl+C (or SIGTERM, as `kill` and service managers send) asks the job to stop after the
    current unit of work; a second one aborts. The run is then recorded as cancelled, like a
    Cancel in the window. `resumable`: the stop message tells how to continue (`--resume`)."""
    token = CancelToken()
    signums = [signal.SIGINT, signal.SIGTERM]
    previous = {s: signal.getsignal(s) for s in signums}

    def handler(signum, frame):  # noqa: ARG001
        if token.cancelled:
            for s in signums:
                signal.signal(s, previous[s])
            raise KeyboardInterrupt
        again = "Ctrl+C" if signum == signal.SIGINT else "the signal"
        print(f"\nstopping after the current step ({again} again to abort)...", file=sys.stderr)
        token.cancel()

    try:
        for s in signums:
            signal.signal(s, handler)
    except ValueError:  # not the main thread
        pass
    try:
        yield token
    except Cancelled as exc:
        if resumable and token.cancelled:
            raise Cancelled(STOPPED_RESUMABLE) from exc
        raise
    finally:
        try:
            for s in signums:
                signal.signal(s, previous[s])
        except ValueError:
            pass


def fail(message: str) -> WorkbenchError:
    return WorkbenchError(message)
