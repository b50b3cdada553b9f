"""The main window: navigation between the panels, menus, shortcuts and the status bar.

It owns the workspace connection of the UI thread, the undo stack, and the running jobs; the
panels get what they need from it. Errors from any panel or job land in one inline banner so
the window never blocks on a dialog and keeps running.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import WorkbenchError
from ..core.store.workspace import Workspace
from .model_choice import choice_label, current_choice, device_label
from .settings import app_settings, recent_workspaces, remember_workspace
from .workers import MODELS, NOTICES, JobContext, JobThread

# CoT is last so the Ctrl+number of the panels before it stays as it was.
PANELS = ["Seeds", "Models", "Generate", "Inspect", "Reasoning", "Subsets", "Export", "CoT"]
# Jobs that load a model: one at a time, since two models on a laptop's cores only slow both.
MODEL_JOBS = {"self-instruct", "test-prompt", "select-model", "self-check", "cot"}
LIVE_REFRESH_MS = 1500
# Jobs that only read and can be stopped at any time (a workspace switch does not wait for them).
# "import-check": the import form's whole-file check (gui/import_mapping.py), no workspace.
BACKGROUND_JOBS = {"model-info", "inspect-refilter", "import-check"}
# Shortcuts that belong to one panel (QShortcut, panel-scoped), for Help > Keyboard shortcuts.
PANEL_SHORTCUTS = [
    ("Seeds: example / conversation / tools / meta tab", "Alt+1, Alt+2, Alt+3, Alt+4"),
    ("Seeds: kind, rejected, KTO label, weight, system", "Alt+K, Alt+J, Alt+L, Alt+W, Alt+S"),
    ("Seeds: add an earlier turn", "Ctrl+Shift+T"),
    ("Inspect: keep / drop / undo override", "Alt+K, Alt+D, Alt+U"),
    ("Inspect: write the override note", "Alt+N"),
    ("Reasoning: next / previous step", "J, K (or arrows)"),
    ("Reasoning: label step -1 / 0 / +1 / clear", "-, 0, + (or =), Backspace"),
    ("Reasoning: flag / next / previous trace", "F, N, P"),
    ("Reasoning: show the next check run", "C"),
    ("Subsets: choose a subset", "Ctrl+Return"),
    ("Subsets: delete the selected subset", "Del"),
]


def app_version() -> str:
    try:
        from importlib.metadata import version

        return version("instruction-workbench")
    except Exception:
        from .. import __version__  # type: ignore[attr-defined]

        return str(__version__)


def about_text(ws: Workspace | None = None) -> str:
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    try:
        import llama_cpp

        llama = getattr(llama_cpp, "__version__", "unknown")
    except Exception as exc:  # a broken native build must not break About
        llama = f"not available ({type(exc).__name__})"
    model = "—"
    if ws is not None:
        choice = current_choice(ws)
        model = choice_label(choice)
        if choice == "default":
            try:
                from ..core.llm.factory import default_model_path

                model += f" — {default_model_path().name}"
            except Exception:
                pass
    return (
        f"Instruction Workbench {app_version()}\n\n"
        f"Qt {qVersion()} (PySide6 {pyside_version})\n"
        f"llama.cpp (llama-cpp-python) {llama}\n"
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}\n"
        f"Model: {model}"
    )


class MainWindow(QMainWindow):
    def __init__(self, ws: Workspace) -> None:
        super().__init__()
        self.ws = ws
        self.jobs: set[JobThread] = set()
        self.last_error = ""
        self.undo_stack = QUndoStack(self)
        self.setObjectName("mainWindow")
        self.resize(1280, 800)
        self.setMinimumSize(QSize(900, 560))

        # --- chrome: error banner, navigation, panel stack
        self.error_banner = QFrame()
        self.error_banner.setObjectName("errorBanner")
        eb = QHBoxLayout(self.error_banner)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QPushButton("Dismiss")
        close.clicked.connect(self.error_banner.hide)
        # Offered after an import listed its bad records: import the others (--skip-invalid);
        # after File › Import met reasoning data: read it where it belongs (_offer_reasoning).
        self.skip_invalid_button = QPushButton("Import the valid records")
        self.skip_invalid_button.hide()
        self._skip_invalid_retry: Callable[[], Any] | None = None
        self.skip_invalid_button.clicked.connect(self._retry_skipping_invalid)
        eb.addWidget(self.error_label, 1)
        eb.addWidget(self.skip_invalid_button)
        eb.addWidget(close)
        self.error_banner.hide()

        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setFixedWidth(150)
        for i, name in enumerate(PANELS):
            item = QListWidgetItem(name)
            item.setToolTip(f"{name} (Ctrl+{i + 1})")
            self.nav.addItem(item)
        self.stack = QStackedWidget()
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(8, 8, 8, 4)
        rl.addWidget(self.error_banner)
        rl.addWidget(self.stack, 1)
        central = QWidget()
        cl = QHBoxLayout(central)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        cl.addWidget(self.nav)
        cl.addWidget(right, 1)
        self.setCentralWidget(central)
        self.nav.currentRowChanged.connect(self._nav_changed)
        # Accepted tasks arrive every few seconds in a run; views refresh at most this often.
        self._stale: set[str] = set()
        self._live = QTimer(self)
        self._live.setSingleShot(True)
        self._live.setInterval(LIVE_REFRESH_MS)
        self._live.timeout.connect(self._refresh_live)

        # --- status bar
        self.sb_workspace = QLabel()
        self.sb_model = QLabel()
        self.sb_device = QLabel()
        self.sb_run = QLabel("idle")
        self.sb_tps = QLabel("— tok/s")
        for w in (self.sb_workspace, self.sb_model, self.sb_device, self.sb_run, self.sb_tps):
            w.setContentsMargins(6, 0, 6, 0)
            self.statusBar().addPermanentWidget(w)
        NOTICES.notice.connect(self._model_notice)

        self._build_menus()
        self._build_panels()
        self._restore_layout()

    # ================================================================ panels
    def _build_panels(self) -> None:
        from .cot_panel import CotPanel
        from .export_panel import ExportPanel
        from .generate_panel import GeneratePanel
        from .inspect_panel import InspectPanel
        from .models_panel import ModelsPanel
        from .reasoning_panel import ReasoningPanel
        from .seeds_panel import SeedsPanel
        from .selection_panel import SelectionPanel

        while self.stack.count():
            old = self.stack.widget(0)
            self.stack.removeWidget(old)
            old.deleteLater()
        self.undo_stack.clear()
        ws = self.ws
        self.seeds = SeedsPanel(ws, self.undo_stack)
        self.models = ModelsPanel(ws, self.start_job)
        self.generate = GeneratePanel(ws, self.start_job)
        self.inspect = InspectPanel(ws, start_job=self.start_job, undo_stack=self.undo_stack)
        self.reasoning = ReasoningPanel(ws, start_job=self.start_job)
        # A traces import (Reasoning › Import traces, or File › Import's banner button) ends
        # with its result in the status bar, replacing "… was not imported" or "Importing …".
        self.reasoning.traces_imported.connect(
            lambda _res: self.statusBar().showMessage(self.reasoning.check_status.text(), 15_000)
        )
        self.subsets = SelectionPanel(ws, self.start_job)
        self.export = ExportPanel(ws, self.start_job)
        self.cot = CotPanel(ws, self.start_job)
        for panel in (
            self.seeds,
            self.models,
            self.generate,
            self.inspect,
            self.reasoning,
            self.subsets,
            self.export,
            self.cot,
        ):
            self.stack.addWidget(panel)
        for panel in (
            self.models,
            self.generate,
            self.export,
            self.inspect,
            self.reasoning,
            self.subsets,
            self.cot,
        ):
            panel.error.connect(self.show_error)
        self.models.model_changed.connect(lambda _c: self._model_changed())
        self.generate.state_changed.connect(self._run_state)
        self.generate.rate_changed.connect(
            lambda tps: self.sb_tps.setText(f"{tps:,.1f} tok/s" if tps else "— tok/s")
        )
        self.generate.run_ended.connect(self._after_run)
        self.generate.tasks_added.connect(lambda _n: self._live.isActive() or self._live.start())
        self.export.exported.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        self.subsets.exported.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        self.setWindowTitle(f"Instruction Workbench — {ws.path.name}")
        self.sb_workspace.setText(f"Workspace: {ws.path.name}")
        self.sb_workspace.setToolTip(str(ws.path))
        self._model_changed()
        remember_workspace(ws.path)
        if self.generate.offers_resume():
            self.statusBar().showMessage(
                "An interrupted SELF-INSTRUCT run can be resumed (see Generate).", 15_000
            )

    def _model_notice(self, text: str) -> None:
        # E.g. a model process that crashed on its first decode and was restarted with safe
        # kernels: the job goes on, but the person should know why it got slower.
        self.statusBar().showMessage(text, 30_000)

    def _model_changed(self) -> None:
        MODELS.close()  # the next job loads the new choice; the old one's memory is freed now
        choice = current_choice(self.ws)
        self.sb_model.setText(f"Model: {choice_label(choice)}")
        self.sb_model.setToolTip(choice)
        self.generate.refresh_models()
        # Probing GPU support imports llama.cpp (a native library): after the first paint.
        ws = self.ws
        QTimer.singleShot(0, self, lambda: self._show_device(ws, choice))

    def _show_device(self, ws: Workspace, choice: str) -> None:
        # The workspace may have been switched or closed before the timer fired.
        if ws is self.ws and not ws.closed:
            self.sb_device.setText(device_label(ws, choice))

    def _run_state(self, state: str) -> None:
        self.sb_run.setText(f"Run: {state}" if state != "idle" else "idle")

    def _after_run(self) -> None:
        self._live.stop()
        self._stale.clear()
        self.seeds.reload()
        self.inspect.reload()
        self.export.reload()

    def _live_panels(self) -> dict[str, Callable[[], None]]:
        """How each panel that shows what a running generation adds reads it again."""
        return {
            "Seeds": self.seeds.reload,
            "Inspect": self.inspect.refresh_live,
            "Export": self.export.reload,
        }

    def _refresh_live(self) -> None:
        # During a run: the panel in view is read again now, unless someone is typing in it
        # (the seed form); the others when they are next shown, so a run costs no hidden work.
        current = PANELS[self.nav.currentRow()] if self.nav.currentRow() >= 0 else None
        focus = QApplication.focusWidget()
        for name, refresh in self._live_panels().items():
            typing = name == "Seeds" and focus is not None and self.seeds.form.isAncestorOf(focus)
            if name == current and not typing:
                refresh()
                self._stale.discard(name)
            else:
                self._stale.add(name)

    def may_leave_editing(self) -> bool:
        """Before the Seeds panel's example is left (another panel, another workspace, the
        window closed): the task form's `may_leave()` asks Keep editing / Discard about text
        that is not saved and removes an added turn left empty. False: stay."""
        seeds = getattr(self, "seeds", None)
        return seeds is None or seeds.form.may_leave()

    def _nav_changed(self, row: int) -> None:
        was = self.stack.currentIndex()
        if (
            0 <= was < len(PANELS)
            and PANELS[was] == "Seeds"
            and row != was
            and not self.may_leave_editing()
        ):
            self.nav.blockSignals(True)  # Keep editing: back to the Seeds panel
            self.nav.setCurrentRow(was)
            self.nav.blockSignals(False)
            return
        self.stack.setCurrentIndex(row)
        self._panel_shown(row)

    def _panel_shown(self, row: int) -> None:
        name = PANELS[row] if 0 <= row < len(PANELS) else None
        if name in self._stale:
            self._stale.discard(name)
            self._live_panels()[name]()

    def show_panel(self, name: str) -> None:
        self.nav.setCurrentRow(PANELS.index(name))

    # ================================================================= menus
    def _build_menus(self) -> None:
        mb = self.menuBar()
        file = mb.addMenu("&File")
        self.act_new = self._action(
            file, "&New workspace…", self.new_workspace_dialog, QKeySequence("Ctrl+Shift+N")
        )
        self.act_open = self._action(
            file, "&Open workspace…", self.open_workspace_dialog, QKeySequence.StandardKey.Open
        )
        self.recent_menu = file.addMenu("Recent &workspaces")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file.addSeparator()
        self.act_import = self._action(
            file, "&Import tasks…", self.import_dialog, QKeySequence("Ctrl+I")
        )
        self.act_import_folder = self._action(
            file, "Import &folder (dataset or reference run)…", self.import_folder_dialog
        )
        self.act_export = self._action(
            file, "&Export…", lambda: self.show_panel("Export"), QKeySequence("Ctrl+E")
        )
        file.addSeparator()
        self.act_quit = self._action(file, "&Quit", self.close, QKeySequence("Ctrl+Q"))
        self.act_quit.setMenuRole(QAction.MenuRole.QuitRole)

        edit = mb.addMenu("&Edit")
        self.act_undo = self.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.act_redo = self.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit.addAction(self.act_undo)
        edit.addAction(self.act_redo)
        edit.addSeparator()
        self._action(
            edit, "&New task", lambda: self._seeds_do("new_task"), QKeySequence.StandardKey.New
        )
        self._action(
            edit,
            "Add &instance",
            lambda: self.seeds.form.add_instance(),
            QKeySequence("Ctrl+Shift+I"),
        )
        self._action(
            edit, "&Delete task", lambda: self._seeds_do("delete_current"), QKeySequence("Ctrl+Del")
        )
        self._action(edit, "&Find", self._focus_search, QKeySequence.StandardKey.Find)

        view = mb.addMenu("&View")
        for i, name in enumerate(PANELS):
            self._action(
                view, name, lambda n=name: self.show_panel(n), QKeySequence(f"Ctrl+{i + 1}")
            )

        reasoning = mb.addMenu("Reasonin&g")
        self.act_import_traces = self._action(
            reasoning, "&Import traces…", self.import_traces_dialog
        )
        self._action(reasoning, "&Chain-of-thought data…", lambda: self.show_panel("CoT"))

        run = mb.addMenu("&Run")
        self._action(
            run, "&Start SELF-INSTRUCT", lambda: self._run_do("start"), QKeySequence("Ctrl+R")
        )
        self._action(
            run,
            "&Pause / continue",
            lambda: self.generate.toggle_pause(),
            QKeySequence("Ctrl+Shift+P"),
        )
        self._action(run, "&Cancel", lambda: self.generate.cancel(), QKeySequence("Ctrl+."))

        helpm = mb.addMenu("&Help")
        self._action(
            helpm, "&Keyboard shortcuts", self.show_shortcuts, QKeySequence.StandardKey.HelpContents
        )
        self._action(helpm, "&About Instruction Workbench", self.show_about)

    def _action(self, menu, text: str, slot, shortcut: Any = None) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(shortcut)
        act.triggered.connect(lambda _checked=False: slot())
        menu.addAction(act)
        return act

    def _seeds_do(self, what: str) -> None:
        self.show_panel("Seeds")
        getattr(self.seeds, what)()

    def _run_do(self, what: str) -> None:
        self.show_panel("Generate")
        getattr(self.generate, what)()

    def _focus_search(self) -> None:
        self.show_panel("Seeds")
        self.seeds.search.setFocus()
        self.seeds.search.selectAll()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        paths = recent_workspaces()
        for p in paths:
            act = self.recent_menu.addAction(p)
            act.triggered.connect(lambda _c=False, p=p: self.open_workspace(Path(p)))
        if not paths:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def shortcuts_text(self) -> str:
        lines = []
        for menu in self.menuBar().findChildren(QMenu):
            for act in menu.actions():
                keys = ", ".join(
                    k.toString(QKeySequence.SequenceFormat.NativeText)
                    for k in act.shortcuts()
                    if not k.isEmpty()
                )
                if keys and act.text():
                    lines.append(f"{act.text().replace('&', ''):<32} {keys}")
        lines += [f"{what:<32} {keys}" for what, keys in PANEL_SHORTCUTS]
        return "\n".join(dict.fromkeys(lines))

    def show_shortcuts(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("Keyboard shortcuts")
        box.setText("<pre>" + self.shortcuts_text() + "</pre>")
        box.exec()

    def show_about(self) -> None:
        QMessageBox.about(self, "About Instruction Workbench", about_text(self.ws))

    # ============================================================ workspaces
    def new_workspace_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "New workspace", str(self.ws.path.parent), "Workspaces (*.sqlite);;All files (*)"
        )
        if path:
            self.new_workspace(Path(path))

    def new_workspace(self, path: Path, *, empty: bool = False) -> bool:
        from ..core.seeds import init_workspace

        if path.suffix == "":
            path = path.with_suffix(".sqlite")
        try:
            ws = init_workspace(path, empty=empty)
        except WorkbenchError as exc:
            self.show_error(str(exc))
            return False
        return self._switch_to(ws)

    def open_workspace_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open workspace",
            str(self.ws.path.parent),
            "Workspaces (*.sqlite *.db);;All files (*)",
        )
        if path:
            self.open_workspace(Path(path))

    def open_workspace(self, path: Path) -> bool:
        if self._busy("open another workspace"):
            return False
        try:
            ws = Workspace.open(path)
        except WorkbenchError as exc:
            self.show_error(str(exc))
            return False
        return self._switch_to(ws)

    def _switch_to(self, ws: Workspace) -> bool:
        if self._busy("switch workspaces") or not self.may_leave_editing():
            ws.close()
            return False
        for job in list(self.jobs):  # background readers of the old workspace (see _busy)
            if job.objectName() in BACKGROUND_JOBS:
                job.stop()
        self._save_layout()
        old = self.ws
        self.ws = ws
        self.error_banner.hide()
        self._build_panels()
        self._restore_panel_layout()
        old.close()
        return True

    def _busy(self, what: str) -> bool:
        # Reading model information or scoring for the inspector only reads: such a job never
        # blocks a switch; _switch_to stops it first.
        running = [
            j.objectName() for j in self.jobs if j.busy and j.objectName() not in BACKGROUND_JOBS
        ]
        if running:
            self.show_error(
                f"Cannot {what} while a job is running ({', '.join(running)}); "
                "cancel it or wait for it to finish."
            )
            return True
        return False

    # ================================================================ import
    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Import tasks",
            str(Path.home()),
            "Task files (*.jsonl *.json *.parquet *.tsv *.csv *.txt *.gz *.bz2 *.zst);;"
            "All files (*)",
        )
        if not path:
            return
        from .import_mapping import is_table

        if is_table(Path(path)):
            self.map_columns(Path(path))  # a table's columns are mapped, not recognised
        else:
            self.import_path(Path(path))

    def map_columns(self, path: Path, reason: str = "") -> Any:
        """The column-mapping form for a table (or JSON records no format knows); accepted,
        it imports with the chosen mapping. Returns the dialog (None if the file cannot be
        previewed: the banner says why)."""
        from .import_mapping import ImportMappingDialog

        try:
            dialog = ImportMappingDialog(path, reason, self, start_job=self.start_job)
        except WorkbenchError as exc:
            self.show_error(str(exc))
            return None
        self.hide_error()  # a previous file's error is not this file's
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(
            lambda: self.import_path(
                path, dialog.fmt(), options=dialog.options(), skip_invalid=dialog.skip_invalid
            )
        )
        dialog.open()
        return dialog

    def import_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Import a dataset folder or a reference Self-Instruct run", str(Path.home())
        )
        if path:
            self.import_path(Path(path))

    def import_path(
        self,
        path: Path,
        fmt: str | None = None,
        *,
        options: dict[str, str] | None = None,
        skip_invalid: bool = False,
    ) -> JobThread | None:
        """Import in a worker. Bad records are listed in the banner, with a button that imports
        the valid ones (the rejected go to NAME.rejected.jsonl); a dataset folder with several
        splits asks which one."""

        def job(ctx: JobContext) -> Any:
            from ..core.errors import UserInputError
            from ..core.formats.importer import import_file
            from ..core.formats.validation import InvalidRecords

            try:
                return import_file(
                    ctx.open_workspace(), path, fmt, options=options, skip_invalid=skip_invalid
                )
            except InvalidRecords as exc:
                return exc  # shown with the offer to skip them
            except UserInputError as exc:
                if fmt is None and "could not be recognised" in exc.message and path.is_file():
                    from ..core.selfcheck.importers import reasoning_layout
                    from .import_mapping import preview

                    layout = reasoning_layout(path)
                    if layout is not None:  # not instructions: offered to Reasoning / CoT
                        return ("reasoning", layout, str(exc))

                    try:
                        if preview(path).kind == "records":
                            return ("map-fields", str(exc))  # offer the mapping form
                    except WorkbenchError:
                        pass
                if exc.field != "split" or (options or {}).get("split"):
                    raise
                from ..core.formats.hf_folder import split_names

                return ("choose-split", split_names(path))

        thread = JobThread("import", self.ws.path, job, self)
        thread.succeeded.connect(lambda res: self._imported(path, res, fmt, options))
        thread.failed.connect(lambda message: self._import_failed(path, message))
        if not self.start_job(thread):
            return None
        self.statusBar().showMessage(f"Importing {path.name}…")
        return thread

    def _retry_skipping_invalid(self) -> None:
        retry, self._skip_invalid_retry = self._skip_invalid_retry, None
        self.hide_error()  # the banner and its button both go
        if retry is not None:
            retry()

    def _import_failed(self, path: Path, message: str) -> None:
        self.statusBar().showMessage(f"{path.name} was not imported.", 15_000)
        self.show_error(message)

    def _imported(
        self, path: Path, res: Any, fmt: str | None = None, options: dict[str, str] | None = None
    ) -> None:
        self.statusBar().clearMessage()  # no longer "Importing …"
        if isinstance(res, tuple) and res[:1] == ("choose-split",):
            from PySide6.QtWidgets import QInputDialog

            split, ok = QInputDialog.getItem(
                self, "Choose a split", f"{path.name} has several splits:", res[1], 0, False
            )
            if ok and split:
                self.import_path(path, fmt, options={**(options or {}), "split": split})
            return
        if isinstance(res, tuple) and res[:1] == ("reasoning",):
            self._offer_reasoning(path, res[1])
            return
        if isinstance(res, tuple) and res[:1] == ("map-fields",):
            self.map_columns(path, res[1])
            return
        if getattr(res, "problems", None) is not None and hasattr(res, "total"):
            from ..core.formats.validation import rejected_path

            label = f"Import the valid records (reject {res.total:,})"
            self.statusBar().showMessage(f"{path.name} was not imported.", 15_000)
            # Every bad record, with line and field; the way out worded for the window (the
            # core's hint names the command line's --skip-invalid).
            self.show_error(
                f"{res.message}\nFix them and import again, or press “{label}” (the rejected "
                f"records are written to {rejected_path(path).name} with their reasons)."
            )
            self._skip_invalid_retry = lambda: self.import_path(
                path, fmt, options=options, skip_invalid=True
            )
            self.skip_invalid_button.setText(label)
            self.skip_invalid_button.show()
            return
        if hasattr(res, "imported"):
            msg = f"{path.name}: {res.summary()}"
        else:  # a reference Self-Instruct run folder, replayed as a run
            msg = (
                f"Replayed the reference run in {path.name} as run "
                f"{getattr(res, 'run_id', '?')}: {getattr(res, 'tasks', 0):,} tasks"
            )
        self.statusBar().showMessage(msg + ".", 15_000)
        self.seeds.reload()
        self.inspect.reload()
        self.export.reload()
        self.show_panel("Seeds")

    def import_traces_dialog(self) -> None:
        """Reasoning › Import traces: the Reasoning panel's file dialog and import."""
        self.show_panel("Reasoning")
        self.reasoning.import_traces_dialog()

    def _offer_reasoning(self, path: Path, layout: str) -> None:
        """File › Import found reasoning data, not instructions: say so, and offer the place
        that reads it (Reasoning › Import traces, or the CoT panel for GSM8K questions)."""
        self.statusBar().showMessage(f"{path.name} was not imported.", 15_000)
        if layout == "gsm8k":
            self.show_error(
                f"{path.name} holds questions with gold answers (GSM8K layout), for reasoning, "
                "not instruction data. Build chain-of-thought data from it in the CoT panel "
                f"(`workbench cot --data {path.name}`)."
            )
            label = "Open it in CoT"

            def retry() -> None:
                self.cot.path.setText(str(path))
                self.show_panel("CoT")

        else:
            self.show_error(
                f"{path.name} holds reasoning traces ({layout} layout), not instruction data. "
                "Import it with Reasoning › Import traces (what `workbench self-check --traces "
                "FILE` reads), then check and label its steps in the Reasoning panel."
            )
            label = "Import as reasoning traces"

            def retry() -> None:
                self.show_panel("Reasoning")
                if self.reasoning.import_traces(path, layout):
                    self.statusBar().showMessage(
                        f"Importing {path.name} as reasoning traces…", 15_000
                    )

        self._skip_invalid_retry = retry
        self.skip_invalid_button.setText(label)
        self.skip_invalid_button.show()

    # ================================================================== jobs
    def start_job(self, thread: JobThread) -> bool:
        """Start a worker unless it would be a second model job; track it until it ends."""
        if thread.objectName() in MODEL_JOBS:
            busy = [j.objectName() for j in self.jobs if j.busy and j.objectName() in MODEL_JOBS]
            if busy:
                self.show_error(f"A model is busy ({busy[0]}); wait for it or cancel it first.")
                thread.deleteLater()
                return False
        self.jobs.add(thread)
        thread.finished.connect(lambda t=thread: self._job_finished(t))
        thread.start()
        return True

    def _job_finished(self, thread: JobThread) -> None:
        self.jobs.discard(thread)
        thread.deleteLater()

    def show_error(self, message: str) -> None:
        self.skip_invalid_button.hide()
        self.last_error = message
        self.error_label.setText(message)
        self.error_banner.show()

    def hide_error(self) -> None:
        """Close the banner (and its offer to import the valid records)."""
        self.skip_invalid_button.hide()
        self._skip_invalid_retry = None
        self.error_banner.hide()

    # ================================================================ layout
    def _restore_layout(self) -> None:
        s = app_settings()
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)
        self._restore_panel_layout()

    def _restore_panel_layout(self) -> None:
        s = app_settings()
        split = s.value("seeds/splitter")
        if split is not None:
            self.seeds.splitter.restoreState(split)
        try:
            panel = int(s.value("window/panel", 0))
        except (TypeError, ValueError):
            panel = 0
        self.nav.setCurrentRow(panel if 0 <= panel < len(PANELS) else 0)
        if self.generate.offers_resume():
            self.nav.setCurrentRow(PANELS.index("Generate"))

    def _save_layout(self) -> None:
        s = app_settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/panel", self.nav.currentRow())
        s.setValue("seeds/splitter", self.seeds.splitter.saveState())
        s.sync()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if not self.may_leave_editing():  # Keep editing: the window stays open
            event.ignore()
            return
        self._save_layout()
        # A run stops between tokens and stays resumable; waiting keeps its last unit intact.
        for job in list(self.jobs):
            job.stop()
        MODELS.close()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop jobs and close the workspace (tests and the app's exit path)."""
        for job in list(self.jobs):
            job.stop()
            self.jobs.discard(job)
        MODELS.close()
        self.ws.close()
