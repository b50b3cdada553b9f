"""Open, create and migrate workspace files; transactions; small typed helpers.

One `Workspace` object per thread: SQLite connections are not shared across threads here. WAL
mode lets a reader (the GUI) and a writer (a run) work on the same file at once; the busy
timeout makes a second writer wait instead of failing.

A workspace on a read-only file or folder (a read-only mount, a folder that is not yours) is
never called damaged: a command that writes is refused with a message naming what is read-only
(`storage_error`), and a command that only reads may open it read-only (`Workspace.open(...,
read_only_ok=True)`): SQLite's `mode=ro`, or `immutable=1` when not even the WAL's `-shm` file
can be created beside it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import platformdirs

from ..errors import WorkbenchError, WorkspaceError
from ..fileio import storable_text
from .migrations import MIGRATIONS, latest_version

APP_DIR_NAME = "instruction-workbench"
# Written to the SQLite header so we can tell our files from any other database ("IWRB").
APPLICATION_ID = 0x49575242
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 10_000
# What a person can do with a damaged workspace.
RECOVER_HINT = "Restore it from a backup; `sqlite3 FILE .recover` can rescue what is readable."
# What a person can do with a workspace on a read-only file or folder.
READ_ONLY_HINT = (
    "Copy the workspace (the .sqlite file) to a folder you can write to and use the copy, or "
    "make the folder and file writable. Commands that only read (export, models list) work on "
    "it as it is."
)


def default_workspace_path() -> Path:
    """The default workspace: `$WORKBENCH_HOME/workspace.sqlite`, else the user data dir."""
    home = os.environ.get("WORKBENCH_HOME")
    base = Path(home) if home else Path(platformdirs.user_data_dir(APP_DIR_NAME))
    return base / "workspace.sqlite"


def _json_value(value: Any) -> Any:
    """A value as SQLite stores it: dicts and lists as JSON (with \\u escapes where a text
    holds a lone surrogate, such as a file name that is not UTF-8: read back the same), bools
    as 0/1, a text UTF-8 cannot encode spelled with escapes (fileio.storable_text)."""
    if isinstance(value, (dict, list, tuple)):
        text = json.dumps(value, ensure_ascii=False)
        return text if storable_text(text) is text else json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        return storable_text(value)
    return value


def _disk_full(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "disk is full" in text or "database or disk is full" in text


# SQLite's words when it may not create or write a file (EROFS, EACCES, a missing folder).
_CANNOT_WRITE = (
    "unable to open database file",
    "attempt to write a readonly database",
    "readonly database",
    "read-only file system",
    "permission denied",
)


def unwritable_reason(path: str | Path) -> str | None:
    """Why a workspace file at `path` cannot be created or written, in words for people, e.g.
    "its folder /mnt/x is on a read-only file system"; None when it can be (as far as the OS
    says: `os.access`, which also answers for root and read-only mounts). SQLite in WAL mode
    writes `-wal` and `-shm` files beside the workspace, so its folder must be writable too."""
    p = Path(path).expanduser().absolute()
    folder = p.parent
    if not folder.exists():
        return f"its folder {folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    if not os.access(folder, os.W_OK):
        return f"its folder {folder} {_read_only_kind(folder)}"
    if p.exists() and not os.access(p, os.W_OK):
        return f"the file {_read_only_kind(p)}"
    return None


def _read_only_kind(path: Path) -> str:
    with suppress(OSError):
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return "is on a read-only file system"
    return "is read-only for you"


def storage_error(
    exc: BaseException, path: str | Path, *, after: str = "nothing was changed"
) -> WorkbenchError | None:
    """The message for an SQLite error that says the workspace's file or folder cannot be
    written (read-only, missing, not permitted: a `WorkspaceError`, exit 2) or that the disk is
    full (a `WorkbenchError`, exit 1); None for any other error (re-raise it). `after` says
    what became of the work: "nothing was changed", "the last unit of work was not saved"."""
    p = Path(path)
    if _disk_full(exc):
        return WorkbenchError(
            f"{p}: the disk is full; {after} (everything saved before is intact).",
            hint="Free some space, then try again (a stopped run resumes with --resume).",
        )
    text = str(exc).lower()
    if not any(words in text for words in _CANNOT_WRITE):
        return None
    reason = unwritable_reason(p) or f"SQLite could not write it ({exc})"
    return WorkspaceError(
        f"{p}: the workspace cannot be written here: {reason}; {after}.",
        hint=READ_ONLY_HINT,
    )


class Workspace:
    """A workspace file. Use `Workspace.open(path)` or `Workspace.create(path)`."""

    def __init__(self, path: Path, conn: sqlite3.Connection, *, readonly: bool = False) -> None:
        self.path = path
        self.conn = conn
        # Opened read-only (`open(..., read_only_ok=True)` on a file or folder that cannot be
        # written): reads work; a write raises a WorkspaceError naming what is read-only.
        self.readonly = readonly
        self.closed = False  # set by close(); Qt timers check it before touching the file
        self._db: Any = None
        self._depth = 0
        self._owner = threading.get_ident()

    # ---------------------------------------------------------------- opening
    @classmethod
    def create(cls, path: str | Path) -> Workspace:
        """Create a new, empty workspace. Refuses to touch an existing non-empty file."""
        p = Path(path).expanduser()
        if p.exists() and p.stat().st_size > 0:
            raise WorkspaceError(
                f"{p}: a file is already there; it was left untouched.",
                hint="Open it instead, or choose a new path.",
            )
        return cls._create(p)

    @classmethod
    def _create(cls, p: Path) -> Workspace:
        """A new workspace at `p` (its folders made first). A folder that cannot be made or
        written is a WorkspaceError naming it, e.g. "cannot create a workspace here: its folder
        /mnt/x is on a read-only file system" (exit 2), never SQLite's bare words."""
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(
                f"{p}: cannot create a workspace here: its folder {p.parent.absolute()} "
                f"cannot be made ({exc.strerror or exc}).",
                hint="Choose a folder you can write to, or make this one writable.",
            ) from exc
        if reason := unwritable_reason(p):
            raise WorkspaceError(
                f"{p}: cannot create a workspace here: {reason}.",
                hint="Choose a folder you can write to, or make this one writable.",
            )
        existed = p.exists()
        try:
            return cls._open_rw(p, new=True)
        except WorkbenchError:
            if not existed:  # a half-made file would block the next try ("a file is there")
                for leftover in (p, Path(f"{p}-wal"), Path(f"{p}-shm")):
                    with suppress(OSError):
                        leftover.unlink()
            raise

    @classmethod
    def open(
        cls, path: str | Path, *, create: bool = False, read_only_ok: bool = False
    ) -> Workspace:
        """Open an existing workspace (migrating it), or create it when `create` is set.

        `read_only_ok`: the caller only reads (an export, a listing). On a file or folder that
        cannot be written the workspace is then opened read-only (`Workspace.readonly`) instead
        of refused; on a writable one it opens as usual. Errors (WorkspaceError, exit 2): no
        file, an empty (0-byte) file (refused, never written, even with `create`), not a
        workspace, damaged, newer, and a read-only file or folder when writing is needed
        (the message names it: "its folder /mnt/x is on a read-only file system")."""
        p = Path(path).expanduser()
        if not p.exists():
            if create:
                return cls._create(p)
            raise WorkspaceError(
                f"{p}: no workspace there.",
                hint="Create one with `workbench init PATH`, or check the path.",
            )
        if p.is_file() and p.stat().st_size == 0:
            # Never written to, even with `create`: an empty file someone named is not ours
            # to fill (`Workspace.create` / `workbench init` may still make one in it).
            raise WorkspaceError(
                f"{p} is empty (0 bytes): not a workspace; open a workspace file or create a "
                "new one; it was left untouched.",
                hint="Create one with `workbench init PATH` (or File → New workspace), or "
                "check the path.",
            )
        if p.is_dir():
            raise WorkspaceError(f"{p}: is a folder, not a workspace file.")
        version = cls._check_readonly(p)
        reason = unwritable_reason(p)
        if reason is None:
            return cls._open_rw(p, new=False)
        if not read_only_ok:
            raise WorkspaceError(
                f"{p}: the workspace cannot be written here: {reason}; it was left untouched.",
                hint=READ_ONLY_HINT,
            )
        if version < latest_version():
            raise WorkspaceError(
                f"{p}: made by an older Instruction Workbench (schema {version}; this version "
                f"uses {latest_version()}): it must be upgraded, which writes to it, and "
                f"{reason}; it was left untouched.",
                hint=READ_ONLY_HINT.split(" Commands")[0],
            )
        return cls(p, cls._connect_ro(p), readonly=True)

    @staticmethod
    def _connect_ro(p: Path) -> sqlite3.Connection:
        """A read-only connection (`mode=ro`). A WAL database needs its `-shm` file even to be
        read; where that cannot be created (a read-only folder, the workspace closed cleanly so
        no `-shm` is left) the file is opened `immutable=1`, unless a non-empty `-wal` holds
        commits the file itself lacks: then it is refused, since they would be missed."""
        uri = p.resolve().as_uri()
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False)
        try:
            conn.execute("PRAGMA schema_version").fetchone()
            return conn
        except sqlite3.OperationalError as exc:
            conn.close()
            if "unable to open database file" not in str(exc).lower():
                raise
        wal = Path(f"{p}-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise WorkspaceError(
                f"{p}: cannot be read here: its log {wal.name} holds changes not yet written "
                f"into the file, and {unwritable_reason(p) or 'its folder is read-only'}, so "
                "SQLite cannot read them; it was left untouched.",
                hint="Copy the workspace together with its -wal file to a folder you can write "
                "to and open the copy, or make the folder writable.",
            )
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, check_same_thread=False)

    @classmethod
    def _check_readonly(cls, p: Path) -> int:
        """Everything that can refuse a file is checked read-only: a refused file is untouched.
        Returns its schema version."""
        try:
            with open(p, "rb") as fh:
                head = fh.read(100)
        except OSError as exc:
            raise WorkspaceError(
                f"{p}: cannot be read ({exc.strerror or exc}); it was left untouched.",
                hint="Check the file's permissions, or open a copy you can read.",
            ) from exc
        if not head.startswith(SQLITE_MAGIC):
            raise WorkspaceError(
                f"{p}: not a workspace (the file is not an SQLite database); it was left "
                "untouched.",
                hint="Choose a workspace file (.sqlite) made by Instruction Workbench.",
            )
        try:
            ro = cls._connect_ro(p)
        except sqlite3.Error as exc:
            raise storage_error(exc, p, after="it was left untouched") or WorkspaceError(
                f"{p}: the workspace is damaged ({exc}); it was left untouched.",
                hint=RECOVER_HINT,
            ) from exc
        try:
            app_id = ro.execute("PRAGMA application_id").fetchone()[0]
            version = ro.execute("PRAGMA user_version").fetchone()[0]
            tables = ro.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            check = ro.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            cannot = storage_error(exc, p, after="it was left untouched")
            if cannot is not None:  # a read-only or full place, not a damaged file
                raise cannot from exc
            raise WorkspaceError(
                f"{p}: the workspace is damaged ({exc}); it was left untouched.",
                hint=RECOVER_HINT,
            ) from exc
        finally:
            ro.close()
        if check != "ok":
            raise WorkspaceError(
                f"{p}: the workspace is damaged (integrity check: {check}); it was left untouched.",
                hint=RECOVER_HINT,
            )
        if app_id != APPLICATION_ID and not (app_id == 0 and tables == 0):
            raise WorkspaceError(
                f"{p}: an SQLite database, but not an Instruction Workbench workspace; "
                "it was left untouched.",
            )
        if version > latest_version():
            raise WorkspaceError(
                f"{p}: made by a newer Instruction Workbench (schema {version}; this version "
                f"knows up to {latest_version()}); it was left untouched.",
                hint="Update Instruction Workbench to open it.",
            )
        return version

    @classmethod
    def _open_rw(cls, p: Path, *, new: bool) -> Workspace:
        conn = sqlite3.connect(
            str(p), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: at worst the last commit
            ws = cls(p, conn)
            if new:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            ws.migrate()
        except sqlite3.Error as exc:
            conn.close()
            raise storage_error(exc, p) or WorkspaceError(
                f"{p}: cannot be opened ({exc})."
            ) from exc
        return ws

    @property
    def db(self) -> Any:
        """sqlite-utils over the same connection, for introspection (tables, columns).

        Imported on first use: sqlite-utils imports pandas when it is installed (half a second
        of start-up). Writes never go through it: its own writes commit on their own, which
        would break `transaction()`.
        """
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

    def table_names(self) -> list[str]:
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]

    @property
    def version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self, target: int | None = None) -> None:
        """Apply migrations up to `target` (default: the latest), one transaction each."""
        target = latest_version() if target is None else target
        while self.version < target:
            v = self.version
            with self.transaction():
                for step in MIGRATIONS[v]:
                    if callable(step):  # a data migration
                        step(self.conn)
                    else:
                        self.conn.execute(step)
                self.conn.execute(f"PRAGMA user_version = {v + 1}")

    def close(self) -> None:
        self.closed = True
        with suppress(sqlite3.Error):
            self.conn.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ transactions
    @contextmanager
    def transaction(self) -> Iterator[Workspace]:
        """One unit of work: all or nothing. Nested calls become savepoints.

        SQLite rolls a transaction back by itself on some errors (a full disk, for one), so the
        rollback here only runs when a transaction is still open.
        """
        self._depth += 1
        outer = self._depth == 1
        name = f"sp{self._depth}"
        try:
            self.conn.execute("BEGIN IMMEDIATE" if outer else f"SAVEPOINT {name}")
            try:
                yield self
                self.conn.execute("COMMIT" if outer else f"RELEASE {name}")
            except BaseException:
                if self.conn.in_transaction:
                    if outer:
                        self.conn.execute("ROLLBACK")
                    else:
                        self.conn.execute(f"ROLLBACK TO {name}")
                        self.conn.execute(f"RELEASE {name}")
                raise
        except sqlite3.OperationalError as exc:
            if _disk_full(exc):
                raise WorkbenchError(
                    f"{self.path}: the disk is full; the last unit of work was not saved "
                    "(everything saved before it is intact).",
                    hint="Free some space, then resume.",
                ) from exc
            cannot = storage_error(exc, self.path, after="the last unit of work was not saved")
            if cannot is not None:
                raise cannot from exc
            raise
        finally:
            self._depth -= 1

    # ----------------------------------------------------------------- helpers
    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def insert(self, table: str, row: dict[str, Any]) -> int:
        """Insert one row (dicts and lists stored as JSON) and return its id."""
        cols = list(row)
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"
        cur = self.conn.execute(sql, [_json_value(row[c]) for c in cols])
        assert cur.lastrowid is not None  # set by every INSERT
        return cur.lastrowid

    def update(self, table: str, row_id: int, values: dict[str, Any]) -> None:
        sets = ", ".join(f"{c} = ?" for c in values)
        self.conn.execute(
            f"UPDATE {table} SET {sets} WHERE id = ?", [*map(_json_value, values.values()), row_id]
        )

    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        if isinstance(params, list | tuple):  # a text is looked up as insert stored it
            params = [storable_text(p) if isinstance(p, str) else p for p in params]
        cur = self.conn.execute(sql, params)
        cols = [d[0] for d in cur.description or ()]
        return [dict(zip(cols, row)) for row in cur]

    def scalar(self, sql: str, params: Any = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def integrity_check(self) -> str:
        return self.scalar("PRAGMA integrity_check")

    # ---------------------------------------------------------------- settings
    def get_setting(self, key: str, default: Any = None) -> Any:
        raw = self.scalar("SELECT value FROM settings WHERE key = ?", (key,))
        return default if raw is None else json.loads(raw)

    def set_setting(self, key: str, value: Any) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value, ensure_ascii=False)),
            )
