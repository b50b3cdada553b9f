"""Undoable edits of the task pool. Each redo/undo writes to the workspace at once.

The commands hold plain values (old and new), never widgets; after writing they call
`notify(task_id)` so the table and the form re-read what changed from the database.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QUndoCommand

from ..core.inspect import overrides
from ..core.store.tasks import (
    DeletedTask,
    Instance,
    Task,
    add_task,
    delete_task,
    delete_task_undoably,
    restore_task,
    set_instances,
    update_task,
)
from ..core.store.workspace import Workspace

Notify = Callable[[int], None]

# Typing in one field merges into one undo step until the person pauses this long.
MERGE_WINDOW_S = 2.0

_ID_FIELD = 1
_ID_INSTANCES = 2


def _short(text: str, n: int = 32) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


class SetFieldCommand(QUndoCommand):
    """Change one field of a task (instruction, is_classification)."""

    def __init__(
        self, ws: Workspace, task_id: int, field: str, old: Any, new: Any, notify: Notify
    ) -> None:
        super().__init__()
        self.ws, self.task_id, self.field = ws, task_id, field
        self.old, self.new, self.notify = old, new, notify
        self.stamp = time.monotonic()
        label = {"instruction": "Edit instruction", "is_classification": "Change classification"}
        self.setText(f"{label.get(field, 'Edit ' + field)} of task {task_id}")

    def id(self) -> int:
        return _ID_FIELD

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetFieldCommand) or other.field != "instruction":
            return False
        if (other.task_id, other.field) != (self.task_id, self.field):
            return False
        if other.stamp - self.stamp > MERGE_WINDOW_S:
            return False
        self.new, self.stamp = other.new, other.stamp
        return True

    def _write(self, value: Any) -> None:
        update_task(self.ws, self.task_id, **{self.field: value})
        self.notify(self.task_id)

    def redo(self) -> None:
        self._write(self.new)

    def undo(self) -> None:
        self._write(self.old)


class SetInstancesCommand(QUndoCommand):
    """Replace a task's ordered instances (add, remove, reorder, edit one)."""

    def __init__(
        self,
        ws: Workspace,
        task_id: int,
        old: list[Instance],
        new: list[Instance],
        text: str,
        notify: Notify,
        *,
        merge_key: Any = None,
    ) -> None:
        super().__init__(text)
        self.ws, self.task_id, self.notify = ws, task_id, notify
        # Deep copies: an example's history, tools and meta must not change under the command.
        self.old = [copy.deepcopy(i) for i in old]
        self.new = [copy.deepcopy(i) for i in new]
        self.merge_key = merge_key  # (instance index, field) while typing; None never merges
        self.stamp = time.monotonic()

    def id(self) -> int:
        return _ID_INSTANCES

    def mergeWith(self, other: QUndoCommand) -> bool:
        if (
            not isinstance(other, SetInstancesCommand)
            or self.merge_key is None
            or other.task_id != self.task_id
            or other.merge_key != self.merge_key
            or other.stamp - self.stamp > MERGE_WINDOW_S
        ):
            return False
        self.new, self.stamp = other.new, other.stamp
        return True

    def redo(self) -> None:
        set_instances(self.ws, self.task_id, self.new)
        self.notify(self.task_id)

    def undo(self) -> None:
        set_instances(self.ws, self.task_id, self.old)
        self.notify(self.task_id)


class AddTaskCommand(QUndoCommand):
    """A new task. Redo after undo brings it back under the same id."""

    def __init__(self, ws: Workspace, task: Task, on_added: Notify, on_removed: Notify) -> None:
        super().__init__("New task")
        self.ws, self.task = ws, task
        self.on_added, self.on_removed = on_added, on_removed

    def redo(self) -> None:
        keep = self.task.id is not None
        self.task.id = add_task(self.ws, self.task, keep_id=keep)
        self.setText(f"New task {self.task.id}")
        self.on_added(self.task.id)

    def undo(self) -> None:
        assert self.task.id is not None
        delete_task(self.ws, self.task.id)
        self.on_removed(self.task.id)


class DeleteTaskCommand(QUndoCommand):
    """Delete a task; undo restores it with its id, fields, instances and links (the candidate
    it was accepted from, CoT paths, inspector overrides, subsets it belonged to)."""

    def __init__(self, ws: Workspace, task_id: int, on_added: Notify, on_removed: Notify) -> None:
        super().__init__(f"Delete task {task_id}")
        self.ws, self.task_id = ws, task_id
        self.deleted: DeletedTask | None = None
        self.on_added, self.on_removed = on_added, on_removed

    def redo(self) -> None:
        self.deleted = delete_task_undoably(self.ws, self.task_id)
        self.on_removed(self.task_id)

    def undo(self) -> None:
        if self.deleted is not None:
            restore_task(self.ws, self.deleted)
            self.on_added(self.task_id)


class OverrideCommand(QUndoCommand):
    """Keep or drop one SELF-INSTRUCT candidate by hand (Inspect), or remove its override
    (`new` None). Undo puts the override back as it was, with the task it made or removed
    (same id: `overrides.restore_override`); `notify(candidate_id)` then re-reads the panel."""

    def __init__(
        self,
        ws: Workspace,
        candidate_id: int,
        new: dict[str, Any] | None,
        notify: Notify,
    ) -> None:
        what = "Remove the override of" if new is None else f"Override ({new['decision']})"
        super().__init__(f"{what} candidate #{candidate_id}")
        self.ws, self.candidate_id, self.notify = ws, candidate_id, notify
        self.old = overrides.get_override(ws, candidate_id)
        self.new = new  # {"decision", "note"}; after the first redo the stored row
        self.removed: DeletedTask | None = None  # the task the last redo/undo removed

    def _put(self, state: dict[str, Any] | None) -> None:
        self.removed = overrides.restore_override(self.ws, self.candidate_id, state, self.removed)

    def redo(self) -> None:
        self._put(self.new)
        if self.new is not None:
            self.new = overrides.get_override(self.ws, self.candidate_id)
        self.notify(self.candidate_id)

    def undo(self) -> None:
        self._put(self.old)
        self.notify(self.candidate_id)
