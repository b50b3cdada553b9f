"""Writing records as a JSON list or as JSON Lines, streamed (never the whole list in memory)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO, Any

from ..store.tasks import Instance, Task
from .common import dump, iter_examples


class RecordWriter:
    """`layout="json"`: a list, one record per element, indented for people who open it;
    `layout="jsonl"`: one compact record a line."""

    def __init__(self, fh: IO[str], layout: str = "json") -> None:
        self.fh = fh
        self.layout = layout
        self.count = 0

    def __enter__(self) -> RecordWriter:
        if self.layout == "json":
            self.fh.write("[")
        return self

    def write(self, record: Any) -> None:
        if self.layout == "json":
            text = dump(record, indent=2)
            self.fh.write(("\n" if self.count == 0 else ",\n") + text)
        else:
            self.fh.write(dump(record) + "\n")
        self.count += 1

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None and self.layout == "json":
            self.fh.write("\n]\n" if self.count else "]\n")


def write_records(
    tasks: Iterable[Task],
    fh: IO[str],
    layout: str,
    to_record: Callable[[Task, Instance, dict[str, Any]], dict[str, Any]],
) -> int:
    """One record per instance, `to_record(task, instance, extras)` giving its fields."""
    with RecordWriter(fh, layout) as out:
        for task, _, inst, extras in iter_examples(tasks):
            out.write(to_record(task, inst, extras))
    return out.count
