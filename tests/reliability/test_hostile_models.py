"""(5) Hostile model files, built here with the `gguf` package: a chat template that tries to run
code through Jinja, absurd metadata, wrong value types, an unknown architecture, truncation.
Each gives a clear ModelError (the CLI exits 2 naming the file) or safe behaviour.

The template attacks are rendered (a) by llama-cpp-python's Jinja2ChatFormatter with the
template read back from the hostile file by our gguf_info, and (b) through our backend's
render_chat, the path every chat call of our llama.cpp backend takes (copying 100 MB of
tensors into a new GGUF per test would add nothing: render_chat reads the template from
`llm.metadata`, which a stand-in for the loaded Llama provides).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")

from workbench.core.errors import ModelError  # noqa: E402
from workbench.core.llm.gguf_info import read_model_info  # noqa: E402

VT = gguf.GGUFValueType


def make_gguf(path: Path, arch: str = "llama", kv: dict | None = None) -> Path:
    w = gguf.GGUFWriter(str(path), arch)
    for key, (typ, value) in (kv or {}).items():
        w.add_key_value(key, value, typ)
    w.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def attacks(marker: Path) -> list[str]:
    cmd = f"touch {marker}"
    templates = [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.system('CMD') }}",
        "{{ lipsum.__globals__['os'].popen('CMD').read() }}",
        "{{ self.__init__.__globals__.__builtins__.__import__('os').system('CMD') }}",
        "{% for c in [].__class__.__base__.__subclasses__() %}"
        "{% if c.__name__ == 'catch_warnings' %}"
        "{{ c()._module.__builtins__['__import__']('os').system('CMD') }}{% endif %}{% endfor %}",
        "{{ namespace.__init__.__globals__['os'].system('CMD') }}",
        "{{ messages.__class__.__mro__[-1].__subclasses__() }}",
        "{% set x = messages[0].__class__.__init__ %}{{ x.__globals__ }}",
        "{{ raise_exception.__globals__['__builtins__']['exec']('open(\"MARKER\",\"w\")') }}",
    ]
    return [t.replace("CMD", cmd).replace("MARKER", str(marker)) for t in templates]


MESSAGES = [{"role": "user", "content": "hello"}]


def test_jinja_template_from_file_cannot_run_code(tmp_path):
    from jinja2.exceptions import SecurityError, UndefinedError
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    marker = tmp_path / "pwned"
    for i, template in enumerate(attacks(marker)):
        path = make_gguf(
            tmp_path / f"t{i}.gguf", kv={"tokenizer.chat_template": (VT.STRING, template)}
        )
        info = read_model_info(path)  # the file itself is accepted: only its template is hostile
        assert info.chat_template == template
        fmt = Jinja2ChatFormatter(template=info.chat_template, eos_token="</s>", bos_token="<s>")
        try:
            out = fmt(messages=MESSAGES).prompt
        except (SecurityError, UndefinedError, TypeError):
            out = None
        assert not marker.exists(), f"template {i} ran code"
        # Where a template renders at all, nothing leaked from Python internals.
        assert out is None or "<class" not in out and "__builtins__" not in out, (i, out)


class _StandInLlama:
    """What render_chat reads from a loaded llama_cpp.Llama: its metadata and special tokens
    (loading the real model costs 10 s here and changes nothing in the rendering path)."""

    def __init__(self, template: str) -> None:
        self.metadata = {"tokenizer.chat_template": template}
        self._model = self

    def token_eos(self) -> int:
        return 2

    def token_bos(self) -> int:
        return 1

    def token_get_text(self, token_id: int) -> str:
        return {1: "<s>", 2: "</s>"}[token_id]


@pytest.fixture()
def hostile_backend(tmp_path):
    from workbench.core.llm.llamacpp import LlamaCppBackend

    backend = LlamaCppBackend.__new__(LlamaCppBackend)  # render_chat only; no weights needed
    backend.info = read_model_info(make_gguf(tmp_path / "h.gguf"), with_hash=False)
    backend.llm = _StandInLlama("")
    backend._formatter = None
    return backend


def test_backend_render_chat_sandboxes_hostile_templates(hostile_backend, tmp_path):
    marker = tmp_path / "pwned"
    refused = 0
    for i, template in enumerate(attacks(marker)):
        hostile_backend.llm.metadata["tokenizer.chat_template"] = template
        hostile_backend._formatter = None
        try:
            prompt, _, _ = hostile_backend.render_chat(MESSAGES)
        except ModelError as exc:  # a template that fails is named, with the model file
            assert hostile_backend.info.path in str(exc) and "chat template" in str(exc)
            prompt = None
            refused += 1
        assert not marker.exists(), f"template {i} ran code through render_chat"
        assert prompt is None or "<class" not in prompt
    assert refused >= 5  # the sandbox refuses, and the refusal reaches the user as a ModelError


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args], capture_output=True, text=True
    )


@pytest.mark.parametrize(
    "name,arch,kv,expect",
    [
        ("strctx", "llama", {"llama.context_length": (VT.STRING, "lots")}, "context_length"),
        ("negctx", "llama", {"llama.context_length": (VT.INT32, -5)}, "context_length"),
        ("unknown", "evilnet", {}, "unknown model architecture"),
        ("arch-int", "llama", {"general.architecture": (VT.UINT32, 7)}, "architecture"),
    ],
)
def test_bad_metadata_is_a_clear_model_error(tmp_path, name, arch, kv, expect):
    path = tmp_path / f"{name}.gguf"
    if name == "arch-int":  # the writer always adds the string; write the wrong type instead
        w = gguf.GGUFWriter(str(path), "llama")
        w.kv_data[0]["general.architecture"] = gguf.GGUFValue(7, VT.UINT32)
        w.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
    else:
        make_gguf(path, arch, kv)
    with pytest.raises(ModelError) as err:
        read_model_info(path)
    assert str(path) in str(err.value) and expect in str(err.value)
    r = _cli("models", "info", str(path))
    assert r.returncode == 2 and str(path) in r.stderr and "Traceback" not in r.stderr


def test_huge_context_length_is_capped_not_allocated(tmp_path):
    """2**40 tokens of context is accepted as metadata, but a backend never asks llama.cpp for
    more than its cap; a file that cannot load is a ModelError naming it, exit 2."""
    from workbench.core.llm import llamacpp

    path = make_gguf(tmp_path / "huge.gguf", kv={"llama.context_length": (VT.UINT64, 2**40)})
    info = read_model_info(path)
    assert info.context_length == 2**40
    assert min(None or llamacpp.DEFAULT_CTX_CAP, info.context_length) == llamacpp.DEFAULT_CTX_CAP
    r = _cli("complete", "--model", str(path), "--max-tokens", "2", "hi")
    assert r.returncode == 2 and str(path) in r.stderr and "Traceback" not in r.stderr


def test_truncated_at_every_section_is_refused(tmp_path):
    """Cut a file in its magic, header, metadata and tensor data: always a ModelError naming it
    (the CLI side of truncation is covered by tests/test_llm_files.py)."""
    template = (VT.STRING, "{{ messages }}" * 20)
    full = make_gguf(tmp_path / "full.gguf", kv={"tokenizer.chat_template": template}).read_bytes()
    for cut in range(1, len(full), 7):
        path = tmp_path / f"cut{cut}.gguf"
        path.write_bytes(full[:cut])
        with pytest.raises(ModelError) as err:
            read_model_info(path, with_hash=False)
        assert str(path) in str(err.value)
