"""The canister's runtime layer, read from the installed ic-basilisk 0.16.1 and run on host CPython.

Every test here needs ic-basilisk's sources: if the shim cannot be read, they fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import load_path
from hypothesis import given
from hypothesis import strategies as st

from basilisk_trace.tracer import RUNTIME_DIR
from basilisk_trace.tracer._layer import (
    INIT_RS,
    RuntimeLayerError,
    find_basilisk_dir,
    installed_layer,
    read_layer,
    rust_unescape,
)


@pytest.fixture(scope="module")
def layer():
    found = installed_layer()
    assert found is not None, "ic-basilisk is not installed, or its python_init.rs cannot be read"
    return found


class TestReading:
    def test_the_steps_the_template_runs_at_init(self, layer):
        assert layer.version == "0.16.1"
        assert [s.name for s in layer.steps] == ["FROZEN_STDLIB_PREAMBLE", "BASILISK_PYTHON_SHIM", "<fix-up>"]
        preamble, shim, fixup = (s.text for s in layer.steps)
        assert "def _wasi_safe_import(" in preamble
        assert '_sys.modules["basilisk"] = _mod' in shim and "class CallResult(dict):" in shim
        assert "_mgmt.management_canister = _mc" in fixup and "\\x20" not in fixup
        assert layer.steps[1].origin.startswith("ic-basilisk 0.16.1 basilisk/compiler/cpython_canister_template")

    def test_every_native_api_name_is_answered(self, layer):
        assert len(layer.api) == 77 and {"is_controller", "smap_range", "call_raw"} <= set(layer.api)
        module = _load_ic_api().make_module(layer.api)
        assert all(callable(getattr(module, name)) for name in layer.api)

    def test_unknown_layout_names_the_file_and_version(self, tmp_path):
        root = _copy_template(tmp_path)
        init = root / INIT_RS
        init.write_text(init.read_text().replace("BASILISK_PYTHON_SHIM", "SOME_OTHER_SHIM"))
        with pytest.raises(RuntimeLayerError) as info:
            read_layer(root, "9.9.9")
        message = str(info.value)
        assert str(init) in message and "ic-basilisk 9.9.9" in message and "\n" not in message

    def test_missing_source_names_the_file(self, tmp_path):
        root = _copy_template(tmp_path)
        (root / INIT_RS).unlink()
        with pytest.raises(RuntimeLayerError, match="python_init.rs: cannot read"):
            read_layer(root, "9.9.9")

    @given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",))))
    def test_rust_unescape_inverts_escaping(self, text):
        escaped = "".join(_rust_escape(c) for c in text)
        assert rust_unescape(escaped) == text

    def test_line_continuation(self):
        assert rust_unescape("a\\n\\\n    b") == "a\nb"


class TestOnHost:
    """The layer as the dry run and verify run it, in a fresh interpreter."""

    def test_basilisk_is_what_the_canister_sees(self, layer, tmp_path):
        result = _run_layer(layer, tmp_path, """
from basilisk import Record, Variant, CallResult, Duration, GuardResult, Service, ic, StableBTreeMap
import basilisk, bsk
class Mixin:
    def hello(self):
        return "hi"
class InstallerError(Record, Mixin):
    code: int
error = InstallerError(code=3)
names = sorted(n for n in sys.modules if n.split(".")[0] in ("basilisk", "bsk"))
try:
    import basilisk.canisters.xrc
    xrc = "imported"
except ImportError as exc:
    xrc = type(exc).__name__
m = StableBTreeMap[str, int](memory_id=4)
m.insert("b", 2); m.insert("a", 1)
try:
    sys.modules["_basilisk_ic"].call_raw("aaaaa-aa", "go", b"", 0)
    call = "ran"
except RuntimeError as exc:
    call = str(exc)
result = {"mixin": error.hello(), "dict": isinstance(error, dict), "alias": bsk is basilisk,
          "names": names, "xrc": xrc, "items": m.items(), "controller": ic.is_controller(ic.caller()),
          "duration": Duration is int, "guard": GuardResult is dict, "ok": CallResult(ok=1).Ok,
          "timer": ic.set_timer(5, lambda: 1 / 0), "call": call, "canisters_path": basilisk.canisters.__path__,
          "open": open.__name__, "os": type(os.stat(".")).__name__}
""")
        assert result["mixin"] == "hi" and result["dict"] and result["alias"]
        assert result["names"] == ["basilisk", "basilisk.canisters", "basilisk.canisters.ledger",
                                   "basilisk.canisters.management", "basilisk.canisters.management.basic",
                                   "basilisk.canisters.management.bitcoin", "basilisk.canisters.management.http",
                                   "basilisk.canisters.management.tecdsa", "bsk"]
        assert result["xrc"] == "ModuleNotFoundError" and result["canisters_path"] == []
        assert result["items"] == [["a", 1], ["b", 2]]
        assert result["controller"] and result["duration"] and result["guard"] and result["ok"] == 1
        assert result["timer"] == 1  # accepted, never fired
        assert "cross-canister calls are not available in a dry run" in result["call"]
        # The host's files stay readable: the preamble's in-memory open and os are taken out again.
        assert result["open"] == "_persistent_open" and result["os"] == "stat_result"


def _load_ic_api():
    return load_path("_ic_api_under_test", RUNTIME_DIR / "ic_api.py")


def _copy_template(tmp_path: Path) -> Path:
    source = find_basilisk_dir()
    assert source is not None
    root = tmp_path / "basilisk"
    (root / INIT_RS).parent.mkdir(parents=True)
    for name in ("python_init.rs", "ic_api.rs"):
        shutil.copy(source / INIT_RS.parent / name, root / INIT_RS.parent / name)
    shutil.copy(source / "frozen_stdlib_preamble.py", root / "frozen_stdlib_preamble.py")
    return root


def _rust_escape(char: str) -> str:
    special = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0", "\\": "\\\\", '"': '\\"'}
    if char in special:
        return special[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x20 else (f"\\u{{{ord(char):x}}}" if ord(char) > 0x7E else char)


def _run_layer(layer, tmp_path: Path, body: str) -> dict:
    config = tmp_path / "layer.json"
    config.write_text(json.dumps(layer.to_json()))
    script = (
        "import importlib.util, json, os, sys\n"
        "def load(name):\n"
        f"    spec = importlib.util.spec_from_file_location(name, {str(RUNTIME_DIR)!r} + '/' + name + '.py')\n"
        "    module = importlib.util.module_from_spec(spec)\n"
        "    spec.loader.exec_module(module)\n"
        "    return module\n"
        f"load('boot').install(json.load(open({str(config)!r})), load('ic_api'))\n"
        + body +
        "print(json.dumps(result))\n"
    )
    done = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_cli_refuses_an_unknown_layout_in_one_line(tmp_path):
    from helpers import FIXTURES, run_cli

    root = _copy_template(tmp_path / "fake")
    (root / "__init__.py").write_text("")
    init = root / INIT_RS
    init.write_text(init.read_text().replace(".run_code_string(BASILISK_PYTHON_SHIM)", ".run_code_string(OTHER)"))
    done = run_cli("trace", FIXTURES / "runtime_types" / "main.py", env={"PYTHONPATH": str(root.parent)})
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(init) in lines[0] and "unknown layout" in lines[0]
    assert "Traceback" not in done.stderr
