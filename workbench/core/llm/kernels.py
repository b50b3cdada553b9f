"""Which CPU kernels llama.cpp may use: the AMX rule and the memory of models that crashed.

llama.cpp repacks weights into "extra buffer types" at load time (AMX tiles on Intel Sapphire
Rapids and later, CPU_REPACK layouts elsewhere) for faster matrix products. On some AMX machines
the AMX kernels crash the first decode (llama.cpp issue 20824, "segfault in
ggml_backend_amx_mul_mat"). So:

- setting "auto" (the default): extra buffer types off on a CPU that advertises AMX, llama.cpp's
  default (on) elsewhere; off too for a model file whose worker already died on its first decode
  here (remembered in the user cache dir, `kernels.json`, keyed by path, size and mtime);
- "on" / "off": what the person chose, always.

Pure functions take the cpuinfo text so tests can fake any CPU.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

EXTRA_BUFTS_CHOICES = ("auto", "on", "off")
AMX_FLAGS = ("amx_int8", "amx_tile")


def cpuinfo_text() -> str:
    """/proc/cpuinfo, or "" where there is none (macOS, Windows: no AMX rule needed there)."""
    try:
        return Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""


def cpu_flags(cpuinfo: str) -> set[str]:
    """The feature flags of the first processor in a /proc/cpuinfo text (x86 "flags", Arm
    "Features")."""
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def has_amx(cpuinfo: str) -> bool:
    """Whether the CPU advertises AMX (either of `amx_int8`, `amx_tile`)."""
    return bool(cpu_flags(cpuinfo) & set(AMX_FLAGS))


def cpu_model_name(cpuinfo: str) -> str:
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "model name":
            return value.strip()
    return ""


def extra_bufts_for(setting: str | None, *, amx: bool, crashed_before: bool) -> tuple[bool, str]:
    """Whether to load with llama.cpp's extra buffer types, and why (words for logs and the UI).

    `setting` is "auto" (None counts as auto), "on" or "off"; `amx` whether the CPU advertises
    AMX; `crashed_before` whether this model file's worker died on its first decode here.
    Raises UserInputError on another setting."""
    setting = setting or "auto"
    if setting not in EXTRA_BUFTS_CHOICES:
        from ..errors import UserInputError

        raise UserInputError(
            f"{setting!r} is not one of {', '.join(EXTRA_BUFTS_CHOICES)}", field="extra_bufts"
        )
    if setting == "on":
        return True, "on (chosen)"
    if setting == "off":
        return False, "off (chosen)"
    if amx:
        return False, "off (auto: this CPU has AMX, whose llama.cpp kernels can crash)"
    if crashed_before:
        return False, "off (auto: this model crashed on its first decode here with them on)"
    return True, "on (auto: llama.cpp's default)"


def load_extra_bufts(path: str | Path, setting: str | None = "auto") -> bool | None:
    """What to give `LlamaCppBackend(extra_bufts=...)` / `llamacpp.model_params` for a model
    loaded in this process with `setting` on this CPU: None (llama.cpp's default, on) or False."""
    on, _why = extra_bufts_for(
        setting, amx=has_amx(cpuinfo_text()), crashed_before=crashed_before(path)
    )
    return None if on else False


def system_info() -> str:
    """The CPU and GPU features llama.cpp was built for and found ("AVX2 = 1 | AMX_INT8 = 0
    ..."), as `llama_print_system_info` reports them; "" when llama.cpp is not installed."""
    try:
        import llama_cpp

        return llama_cpp.llama_print_system_info().decode("utf-8", errors="replace").strip()
    except Exception:  # an informational line is never worth an error
        return ""


def active_features(info: str) -> list[str]:
    """The features a `system_info()` text reports as on ("AVX2 = 1" -> "AVX2"), in order."""
    out = []
    for part in info.replace("\n", "|").split("|"):
        name, sep, value = part.partition("=")
        if sep and value.strip() == "1":
            out.append(name.rpartition(":")[2].strip())  # "CPU : SSE3 = 1" -> "SSE3"
    return out


# ------------------------------------------------------------------ memory of crashed models
def cpu_report(setting: str | None = "auto") -> dict[str, object]:
    """What the Models panel and `workbench models list` show about this CPU: `cpu` (model
    name), `amx` (bool), `features` (llama.cpp's active features), `system_info` (its whole
    line), `extra_bufts_setting` and `extra_bufts` (what the setting gives here, in words)."""
    text = cpuinfo_text()
    amx = has_amx(text)
    info = system_info()
    _on, why = extra_bufts_for(setting, amx=amx, crashed_before=False)
    return {
        "cpu": cpu_model_name(text),
        "amx": amx,
        "features": active_features(info),
        "system_info": info,
        "extra_bufts_setting": setting or "auto",
        "extra_bufts": why,
    }


def _memory_file() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("instruction-workbench")) / "kernels.json"


def _key(path: str | Path) -> str | None:
    try:
        p = Path(path).resolve()
        st = p.stat()
    except OSError:
        return None
    return f"{p}|{st.st_size}|{st.st_mtime_ns}"


def _read_memory() -> dict[str, dict]:
    try:
        data = json.loads(_memory_file().read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def crashed_before(path: str | Path) -> bool:
    """Whether this model file (same path, size and mtime) crashed on a first decode here with
    extra buffer types on."""
    key = _key(path)
    return key is not None and key in _read_memory()


def remember_crash(path: str | Path, how: str) -> None:
    """Record that this model file's first decode crashed with extra buffer types on (`how`:
    the signal, in words). A read-only cache dir only means the rule is relearned next time."""
    key = _key(path)
    if key is None:
        return
    data = _read_memory()
    data[key] = {"how": how}
    target = _memory_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, target)
    except OSError:
        pass
