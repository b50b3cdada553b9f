"""Models: the embedded default, added GGUF files with their information, runtime settings,
an OpenAI-compatible server, and a test prompt that streams with tokens/s."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QBoxLayout,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..core.llm.pool import MAX_CONCURRENCY
from ..core.store.workspace import Workspace
from .model_choice import (
    DEFAULT,
    SERVER,
    added_models,
    api_key,
    backend_kwargs,
    choice_label,
    current_choice,
    set_api_key,
)
from .workers import JobContext, JobThread

INFO_FIELDS = [
    ("name", "Name"),
    ("architecture", "Architecture"),
    ("parameters", "Parameters"),
    ("quantization", "Quantization"),
    ("context_length", "Context"),
    ("file_size", "File size"),
    ("sha256", "SHA-256"),
    ("path", "Path"),
]
# Values without spaces to wrap at: a read-only line that scrolls, so they are never cut off.
LONG_FIELDS = {"sha256", "path"}
SERVER_TITLE = "OpenAI-compatible server"
SERVER_TIP = "An OpenAI-compatible server: llama.cpp server, vLLM, Ollama"


def _fmt(key: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if key == "file_size":
        return f"{value / 2**20:,.1f} MiB"
    if key == "parameters" and isinstance(value, (int, float)):
        return f"{value / 1e6:,.0f} M" if value < 1e9 else f"{value / 1e9:,.2f} B"
    if key == "context_length" and isinstance(value, int):
        return f"{value:,} tokens"
    return str(value)


class ModelsPanel(QWidget):
    model_changed = Signal(str)
    error = Signal(str)

    def __init__(
        self, ws: Workspace, start_job: Callable[[JobThread], bool], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self.start_job = start_job
        self._info_for: str | None = None  # the model whose information is shown or coming
        self._test_job: JobThread | None = None
        self._test_started = 0.0
        self._test_chars = 0

        title = QLabel("Models")
        title.setObjectName("panelTitle")
        self.list = QListWidget()
        self.list.setObjectName("modelList")
        self.add_btn = QPushButton("Add GGUF file…")
        self.remove_btn = QPushButton("Remove")
        self.use_btn = QPushButton("Use for runs")
        btns = QHBoxLayout()
        for b in (self.add_btn, self.remove_btn, self.use_btn):
            btns.addWidget(b)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(title)
        ll.addWidget(self.list, 1)
        ll.addLayout(btns)

        # --- information
        self.info_box = QGroupBox("Information")
        info_form = QFormLayout(self.info_box)
        self.info_labels: dict[str, QLabel | QLineEdit] = {}
        for key, label in INFO_FIELDS:
            lab: QLabel | QLineEdit
            if key in LONG_FIELDS:
                lab = QLineEdit("—")
                lab.setReadOnly(True)
                lab.setFrame(False)
            else:
                lab = QLabel("—")
                lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                lab.setWordWrap(True)
            lab.setObjectName(f"info_{key}")
            self.info_labels[key] = lab
            info_form.addRow(label, lab)
        # Its own scrolling box: a few lines always show, a long template scrolls inside.
        line = self.fontMetrics().lineSpacing()
        self.template = QPlainTextEdit()
        self.template.setObjectName("chatTemplate")
        self.template.setReadOnly(True)
        self.template.setMinimumHeight(5 * line + 12)
        self.template.setMaximumHeight(10 * line + 12)
        self.template.setPlaceholderText("Chat template")
        info_form.addRow("Chat template", self.template)

        # --- runtime settings
        llm = ws.get_setting("llm", {}) or {}
        self.settings_box = QGroupBox("Runtime (local models)")
        sf = QFormLayout(self.settings_box)
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("automatic")
        self.threads.setValue(int(llm.get("n_threads") or 0))
        self.gpu_layers = QSpinBox()
        self.gpu_layers.setRange(-1, 999)
        self.gpu_layers.setSpecialValueText("all")
        self.gpu_layers.setValue(int(llm.get("n_gpu_layers", 0) or 0))
        self.gpu_note = QLabel()
        self.gpu_note.setWordWrap(True)
        self.ctx = QSpinBox()
        self.ctx.setRange(0, 1 << 20)
        self.ctx.setSingleStep(512)
        self.ctx.setSpecialValueText("model default")
        self.ctx.setValue(int(llm.get("n_ctx") or 0))
        sf.addRow("Threads", self.threads)
        sf.addRow("GPU layers", self.gpu_layers)
        sf.addRow("", self.gpu_note)
        sf.addRow("Context size", self.ctx)
        # llama.cpp's extra buffer types (AMX tiles, repacked weights): off by default on a CPU
        # with AMX, whose kernels crash the first decode on some machines (core/llm/kernels.py).
        self.extra_bufts = QComboBox()
        self.extra_bufts.setObjectName("extraBufts")
        self.extra_bufts.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.extra_bufts.setMinimumContentsLength(12)
        for value, text in (
            ("auto", "automatic (off on CPUs with AMX)"),
            ("on", "on"),
            ("off", "off (safe kernels)"),
        ):
            self.extra_bufts.addItem(text, value)
        self.extra_bufts.setCurrentIndex(
            max(0, self.extra_bufts.findData(llm.get("extra_bufts") or "auto"))
        )
        self.cpu_note = QLabel()
        self.cpu_note.setObjectName("cpuNote")
        self.cpu_note.setWordWrap(True)
        self.cpu_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        sf.addRow("Extra buffer types", self.extra_bufts)
        sf.addRow("", self.cpu_note)

        # --- server
        server = ws.get_setting("server", {}) or {}
        self.server_box = QGroupBox(SERVER_TITLE)  # short: a group title never wraps
        self.server_box.setToolTip(SERVER_TIP)
        sv = QFormLayout(self.server_box)
        self.server_url = QLineEdit(server.get("url", ""))
        self.server_url.setPlaceholderText("http://127.0.0.1:8080/v1")
        self.server_model = QLineEdit(server.get("model", ""))
        self.server_model.setPlaceholderText("model name on the server (optional)")
        self.server_key = QLineEdit(api_key(server.get("url", "")) or "")
        self.server_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.server_key.setPlaceholderText(
            "API key (kept in your user settings, not the workspace)"
        )
        sv.addRow("URL", self.server_url)
        sv.addRow("Model", self.server_model)
        sv.addRow("API key", self.server_key)
        # Requests kept in flight by every job on the server (issue 17); 0: the default (16).
        self.server_concurrency = QSpinBox()
        self.server_concurrency.setObjectName("serverConcurrency")
        self.server_concurrency.setRange(0, MAX_CONCURRENCY)  # the CLI's range
        self.server_concurrency.setSpecialValueText("default (16)")
        self.server_concurrency.setValue(int(server.get("concurrency") or 0))
        self.server_concurrency.setToolTip(
            "Requests in flight at once (servers batch them); "
            "several URLs, comma-separated, share the load"
        )
        sv.addRow("Concurrency", self.server_concurrency)

        # --- test prompt
        self.test_box = QGroupBox("Test prompt")
        tv = QVBoxLayout(self.test_box)
        row = QHBoxLayout()
        self.prompt = QLineEdit("Write a one-sentence instruction for a writing task.")
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(1, 4096)
        self.max_tokens.setValue(64)
        self.max_tokens.setPrefix("max ")
        self.max_tokens.setSuffix(" tokens")
        self.run_btn = QPushButton("Run")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setEnabled(False)
        row.addWidget(self.max_tokens)
        row.addWidget(self.run_btn)
        row.addWidget(self.stop_btn)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setObjectName("testOutput")
        self.output.setMinimumHeight(4 * line + 12)
        self.test_stats = QLabel(" ")
        self.test_stats.setWordWrap(True)
        row.addStretch(1)
        tv.addWidget(self.prompt)  # its own line: the buttons never squeeze it
        tv.addLayout(row)
        tv.addWidget(self.output, 1)
        tv.addWidget(self.test_stats)

        # Everything on the right scrolls as one page when the window is too small for it,
        # rather than squeezing the wrapped labels and the template until they are cut off.
        content = QWidget()
        rl = QVBoxLayout(content)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.info_box)
        # Runtime and server side by side when there is room, one above the other when not.
        self.settings_row = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.settings_row.addWidget(self.settings_box, 1)
        self.settings_row.addWidget(self.server_box, 1)
        rl.addLayout(self.settings_row)
        rl.addWidget(self.test_box, 1)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("modelsScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(content)
        self.scroll.viewport().installEventFilter(self)
        self._side_by_side_width = 110 * self.fontMetrics().averageCharWidth()
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.scroll)
        split.setStretchFactor(1, 3)
        lay = QVBoxLayout(self)
        lay.addWidget(split)

        self.add_btn.clicked.connect(self._add_clicked)
        self.remove_btn.clicked.connect(self.remove_selected)
        self.use_btn.clicked.connect(self.use_selected)
        self.list.currentItemChanged.connect(lambda *_: self._selection_changed())
        for spin in (self.threads, self.gpu_layers, self.ctx):
            spin.valueChanged.connect(self._save_runtime)
        self.extra_bufts.currentIndexChanged.connect(self._save_runtime)
        for edit in (self.server_url, self.server_model, self.server_key):
            edit.editingFinished.connect(self._save_server)
        self.server_concurrency.editingFinished.connect(self._save_server)
        self.run_btn.clicked.connect(self.run_test)
        self.stop_btn.clicked.connect(self.stop_test)
        self._gpu_probed = False
        self.gpu_layers.setEnabled(False)
        self.refresh()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.scroll.viewport() and event.type() == QEvent.Type.Resize:
            wide = self.scroll.viewport().width() >= self._side_by_side_width
            direction = (
                QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
            )
            if self.settings_row.direction() != direction:
                self.settings_row.setDirection(direction)
        return super().eventFilter(watched, event)

    # ------------------------------------------------------------------ list
    def refresh(self) -> None:
        chosen = current_choice(self.ws)
        self.list.blockSignals(True)
        self.list.clear()
        for choice in [DEFAULT, *added_models(self.ws), SERVER]:
            label = choice_label(choice) if choice != SERVER else "OpenAI-compatible server"
            if choice == chosen:
                label += "   ✓ used for runs"
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, choice)
            item.setToolTip(choice)
            self.list.addItem(item)
            if choice == chosen:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self._selection_changed()

    def selected_choice(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _add_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Add a GGUF model", str(Path.home()), "GGUF models (*.gguf);;All files (*)"
        )
        if path:
            self.add_model(Path(path))

    def add_model(self, path: Path) -> None:
        path = path.expanduser().resolve()
        if not path.is_file():
            self.error.emit(f"{path}: no such file.")
            return
        models = added_models(self.ws)
        if str(path) not in models:
            self.ws.set_setting("models", [*models, str(path)])
        self.refresh()
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == str(path):
                self.list.setCurrentRow(i)

    def remove_selected(self) -> None:
        choice = self.selected_choice()
        if choice in (None, DEFAULT, SERVER):
            return
        self.ws.set_setting("models", [m for m in added_models(self.ws) if m != choice])
        if current_choice(self.ws) == choice:
            self.ws.set_setting("gui.model", DEFAULT)
            self.model_changed.emit(DEFAULT)
        self.refresh()

    def use_selected(self) -> None:
        choice = self.selected_choice()
        if choice is not None:
            self.ws.set_setting("gui.model", choice)
            self.model_changed.emit(choice)
            self.refresh()

    def _selection_changed(self) -> None:
        choice = self.selected_choice()
        self.remove_btn.setEnabled(choice not in (None, DEFAULT, SERVER))
        is_server = choice == SERVER
        self.info_box.setVisible(not is_server)
        for lab in self.info_labels.values():
            lab.setText("—")
        self.template.setPlainText("")
        if choice is not None and not is_server:
            self._load_info(choice)

    # ------------------------------------------------------------ information
    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        # Reading a model's information hashes the whole file: only when someone looks.
        super().showEvent(event)
        if not self._gpu_probed:  # imports llama.cpp: only once someone opens this panel
            self._gpu_probed = True
            self._probe_gpu()
        choice = self.selected_choice()
        if choice not in (None, SERVER) and self._info_for != choice:
            self._load_info(choice)

    def _load_info(self, choice: str) -> None:
        if not self.isVisible():
            self._info_for = None
            return
        self._info_for = choice

        def job(ctx: JobContext) -> tuple[str, dict[str, Any]]:
            from ..core.llm.factory import default_model_path
            from ..core.llm.gguf_info import read_model_info

            path = default_model_path() if choice == DEFAULT else Path(choice)
            return choice, read_model_info(path).to_dict()

        # No parent: the window holds it until it ends, so switching workspaces (which
        # replaces this panel) never waits for a hash or destroys a running thread.
        thread = JobThread("model-info", self.ws.path, job)
        thread.succeeded.connect(self._info_ready)
        thread.failed.connect(self._info_failed)
        self.start_job(thread)

    def _info_ready(self, result: tuple[str, dict[str, Any]]) -> None:
        self._show_info(*result)

    def _info_failed(self, message: str) -> None:
        self._info_for = None
        self.error.emit(message)

    def _show_info(self, choice: str, info: dict[str, Any]) -> None:
        if choice != self.selected_choice():
            return
        for key, lab in self.info_labels.items():
            lab.setText(_fmt(key, info.get(key)))
            if isinstance(lab, QLineEdit):
                lab.setCursorPosition(0)  # the start of a long path or hash
                lab.setToolTip(lab.text())
        self.template.setPlainText(info.get("chat_template") or "(none: completion only)")

    # -------------------------------------------------------------- settings
    def _probe_gpu(self) -> None:
        try:
            from ..core.llm.factory import gpu_offload_supported

            supported = bool(gpu_offload_supported())
        except Exception:  # a llama.cpp build that cannot say: CPU only
            supported = False
        self.gpu_layers.setEnabled(supported)
        self.gpu_note.setText(
            "GPU offload: available in this llama.cpp build"
            if supported
            else "GPU offload: not available in this llama.cpp build (CPU only)"
        )
        self._show_cpu()

    def _show_cpu(self) -> None:
        """The CPU, whether it has AMX, the features llama.cpp reports, and what the extra
        buffer types setting gives on it."""
        from ..core.llm.kernels import cpu_report

        cpu = cpu_report(self.extra_bufts.currentData())
        amx, why = cpu["amx"], cpu["extra_bufts"]
        features = " ".join(cpu["features"]) or "(none reported)"  # type: ignore[arg-type]
        self.cpu_note.setText(
            f"CPU: {cpu['cpu'] or 'unknown'} · AMX: "
            f"{'yes' if amx else 'no'} · extra buffer types {why}\n"
            f"llama.cpp features: {features}"
        )

    def _save_runtime(self) -> None:
        self.ws.set_setting(
            "llm",
            {
                "n_threads": self.threads.value() or None,
                "n_gpu_layers": self.gpu_layers.value() if self.gpu_layers.isEnabled() else 0,
                "n_ctx": self.ctx.value() or None,
                "extra_bufts": self.extra_bufts.currentData() or "auto",
            },
        )
        if self._gpu_probed:
            self._show_cpu()
        self.model_changed.emit(current_choice(self.ws))

    def _save_server(self) -> None:
        url = self.server_url.text().strip()
        self.ws.set_setting(
            "server",
            {
                "url": url,
                "model": self.server_model.text().strip(),
                "concurrency": self.server_concurrency.value() or None,
            },
        )
        if url:
            set_api_key(url, self.server_key.text().strip())

    # ------------------------------------------------------------ test prompt
    def run_test(self) -> None:
        choice = self.selected_choice() or DEFAULT
        if choice == SERVER:
            self._save_server()
            if not (self.ws.get_setting("server", {}) or {}).get("url"):
                self.error.emit(
                    "Enter the server's URL first (for example http://127.0.0.1:8080/v1)."
                )
                return
        kwargs = backend_kwargs(self.ws, choice)
        prompt = self.prompt.text()
        max_tokens = self.max_tokens.value()

        def job(ctx: JobContext) -> Any:
            from ..core.llm.base import GenParams

            backend = ctx.model(**kwargs)
            params = GenParams(max_tokens=max_tokens, temperature=0.7, seed=0)
            messages = [{"role": "user", "content": prompt}]
            try:
                return backend.chat(messages, params, on_token=ctx.on_token, cancel=ctx.cancel)
            except NotImplementedError:
                return backend.complete(prompt, params, on_token=ctx.on_token, cancel=ctx.cancel)

        thread = JobThread("test-prompt", self.ws.path, job, self)
        thread.tokens.connect(self._on_tokens)
        thread.succeeded.connect(self._test_done)
        thread.failed.connect(self._test_failed)
        thread.cancelled.connect(lambda: self._test_finished("stopped"))
        if not self.start_job(thread):
            return
        self._test_job = thread
        self.output.clear()
        self._test_started = time.perf_counter()
        self._test_chars = 0
        self.test_stats.setText("Loading the model…")
        self.run_btn.setEnabled(False)
        self.stop_btn.setEnabled(True)

    def stop_test(self) -> None:
        if self._test_job is not None:
            self._test_job.token.cancel()

    def _on_tokens(self, text: str) -> None:
        self.output.moveCursor(self.output.textCursor().MoveOperation.End)
        self.output.insertPlainText(text)
        self._test_chars += len(text)
        self.test_stats.setText(f"Generating… {self._test_chars} characters")

    def _test_done(self, result: Any) -> None:
        if not self.output.toPlainText() and getattr(result, "text", ""):
            self.output.setPlainText(result.text)
        tps = getattr(result, "tokens_per_second", 0.0) or 0.0
        n = getattr(result, "completion_tokens", 0)
        self._test_finished(
            f"{n} tokens · {tps:,.1f} tokens/s · finish: {getattr(result, 'finish_reason', '?')}"
        )

    def _test_failed(self, message: str) -> None:
        self._test_finished("failed")
        self.error.emit(message)

    def _test_finished(self, text: str) -> None:
        self.test_stats.setText(text)
        self.run_btn.setEnabled(True)
        self.stop_btn.setEnabled(False)
        self._test_job = None
