"""Tests for build: real bundles injected into real Wasm templates, run with wasmtime and checked by wabt."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from canister_e2e import CALLS, EXAMPLE, ROOT, RUNTIME_ONLY, example_request, host_calls
from wasm_templates import (
    BARE_TEMPLATES,
    IC_BASILISK_TEMPLATE,
    assert_injected,
    compile_wat,
    instantiate,
    placeholders,
    template,
)

from basilisk_trace import tracer
from basilisk_trace.bundler.format.wasm import WasmError
from basilisk_trace.bundler.pipeline import (
    BuildError,
    PlanError,
    Request,
    TemplateError,
    build,
    make_bundle,
)
from basilisk_trace.bundler.pipeline.build_wasm import static_request
from basilisk_trace.bundler.write.archive import bundle_sha256
from basilisk_trace.bundler.write.basilisk_source import render_basilisk_source

CLI = ROOT / ".venv" / "bin" / "basilisk-trace"
SCENARIOS = ("with_data", "no_data", "imports_global_table", "datacount_custom")
RELATIVE = ROOT / "fixtures" / "relative_imports" / "main.py"
NATIVE = ROOT / "fixtures" / "required_native" / "main.py"
OLD = b"the previous output\n"


def _request(entry: Path, exercise: bool = False) -> Request:
    return Request(entry=entry, dry_run=tracer.DryRunOptions(exercise=exercise))


ENTRIES = {"example": example_request(), "relative_imports": _request(RELATIVE)}


@cache
def expected_bundle(name: str) -> bytes:
    """What `bundle` writes for the same entry and options."""
    return make_bundle(ENTRIES[name])[2]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_template(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.wasm"
    path.write_bytes(template(name))
    return path


class TestInjection:
    @pytest.mark.parametrize("entry", sorted(ENTRIES))
    @pytest.mark.parametrize("name", SCENARIOS)
    def test_reads_back_the_bundle(self, tmp_path: Path, name: str, entry: str) -> None:
        source = _write_template(tmp_path, name)
        before = _sha(source)
        out = tmp_path / "out.wasm"
        result = build(ENTRIES[entry], source, out, run_dry_run=True)
        expected = expected_bundle(entry)
        # wabt and wasmtime validate; size and init exports read the bytes back; a second init traps.
        assert_injected(name, out.read_bytes(), expected)
        assert (result.sha256, result.bundle_size) == (bundle_sha256(expected), len(expected))
        assert (result.output_size, result.template_size) == (out.stat().st_size, len(template(name)))
        assert result.analysis == "trace" and result.format == "wasm" and result.entry_module == "main"
        assert _sha(source) == before

    def test_summary_names_output_template_and_sha(self, tmp_path: Path) -> None:
        source = _write_template(tmp_path, "no_data")
        result = build(ENTRIES["relative_imports"], source, tmp_path / "out.wasm", run_dry_run=True)
        line = result.summary()
        assert line.count("\n") == 1 and line.startswith(f"wrote {tmp_path / 'out.wasm'} (")
        assert f"sha256 {bundle_sha256(expected_bundle('relative_imports'))}" in line
        assert f"injected into {source} as passive data (slot python_bundle)" in line
        assert "found by the dry run" in line

    def test_deterministic(self, tmp_path: Path) -> None:
        source = _write_template(tmp_path, "with_data")
        build(ENTRIES["example"], source, tmp_path / "a.wasm", run_dry_run=True)
        build(ENTRIES["example"], source, tmp_path / "b.wasm", run_dry_run=True)
        assert (tmp_path / "a.wasm").read_bytes() == (tmp_path / "b.wasm").read_bytes()

    def test_add_exports_to_a_bare_template(self, tmp_path: Path) -> None:
        source = tmp_path / "bare.wasm"
        source.write_bytes(compile_wat(BARE_TEMPLATES["no_placeholders"]))
        build(ENTRIES["relative_imports"], source, tmp_path / "out.wasm", add_exports=True, run_dry_run=True)
        assert_injected("no_placeholders", (tmp_path / "out.wasm").read_bytes(), expected_bundle("relative_imports"))

    def test_other_slot(self, tmp_path: Path) -> None:
        source = tmp_path / "slot.wasm"
        source.write_bytes(compile_wat(f'(module (memory (export "memory") 1) {placeholders("other")})'))
        build(ENTRIES["relative_imports"], source, tmp_path / "out.wasm", slot="other", run_dry_run=True)
        inst = instantiate((tmp_path / "out.wasm").read_bytes())
        assert inst.call("other_passive_data_size") == len(expected_bundle("relative_imports"))


class TestStaticOnly:
    def test_static_bundle_misses_what_only_runs(self, tmp_path: Path) -> None:
        source = _write_template(tmp_path, "no_data")
        result = build(ENTRIES["example"], source, tmp_path / "static.wasm")
        assert result.analysis == "static"
        static = make_bundle(static_request(ENTRIES["example"]))[2]
        assert_injected("no_data", (tmp_path / "static.wasm").read_bytes(), static)
        # The plugins are imported by name inside a method: only the traced, exercised run finds them.
        static_names = {f.arcname for f in result.plan.files}
        traced_names = {f.arcname for f in build(ENTRIES["example"], source, tmp_path / "t.wasm", run_dry_run=True).plan.files}
        assert {"main.py", "ic_python_db/entity.py", "ic_python_logging/_handler.py"} <= static_names
        assert traced_names - static_names == {"plugins/__init__.py", "plugins/upper.py", "plugins/reverse.py"}


class TestFailuresLeaveOutputAlone:
    @pytest.fixture
    def out(self, tmp_path: Path) -> Path:
        path = tmp_path / "out.wasm"
        path.write_bytes(OLD)
        return path

    def _assert_untouched(self, out: Path) -> None:
        assert out.read_bytes() == OLD
        assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == []

    def test_missing_template(self, tmp_path: Path, out: Path) -> None:
        with pytest.raises(TemplateError, match=r"template .*nope\.wasm does not exist; pass .* --template"):
            build(ENTRIES["relative_imports"], tmp_path / "nope.wasm", out)
        self._assert_untouched(out)

    def test_template_is_a_directory(self, tmp_path: Path, out: Path) -> None:
        (tmp_path / "dir.wasm").mkdir()
        with pytest.raises(TemplateError, match="is a directory"):
            build(ENTRIES["relative_imports"], tmp_path / "dir.wasm", out)
        self._assert_untouched(out)

    def test_no_template(self, out: Path) -> None:
        with pytest.raises(TemplateError, match="--template"):
            build(ENTRIES["relative_imports"], None, out)
        self._assert_untouched(out)

    def test_template_without_placeholders(self, tmp_path: Path, out: Path) -> None:
        source = tmp_path / "bare.wasm"
        source.write_bytes(compile_wat(BARE_TEMPLATES["no_placeholders"]))
        with pytest.raises(WasmError, match="bare.wasm"):
            build(ENTRIES["relative_imports"], source, out, run_dry_run=True)
        self._assert_untouched(out)

    def test_not_wasm(self, tmp_path: Path, out: Path) -> None:
        source = tmp_path / "text.wasm"
        source.write_text("not wasm")
        with pytest.raises(WasmError):
            build(ENTRIES["relative_imports"], source, out, run_dry_run=True)
        self._assert_untouched(out)

    def test_native_code_refused(self, tmp_path: Path, out: Path) -> None:
        with pytest.raises(PlanError, match="native code"):
            build(_request(NATIVE), _write_template(tmp_path, "with_data"), out, run_dry_run=True)
        self._assert_untouched(out)

    def test_output_is_the_template(self, tmp_path: Path) -> None:
        source = _write_template(tmp_path, "with_data")
        before = _sha(source)
        with pytest.raises(TemplateError, match="is the template itself"):
            build(ENTRIES["relative_imports"], source, source, run_dry_run=True)
        assert _sha(source) == before

    @pytest.mark.parametrize(("options", "message"), [
        ({"fmt": "zip"}, "unknown --format 'zip'"),
        ({"slot": "bad-slot"}, "not a C identifier"),
        ({"slot": ""}, "not a C identifier"),
        ({"slot": "python_source"}, "slot python_source holds the program's Python source in ic-basilisk's "
                                    "template, not a bundle ZIP; build that canister with basilisk-trace canister"),
        ({"slot": "method_meta"}, "holds the methods' JSON metadata"),
    ])
    def test_bad_options(self, tmp_path: Path, out: Path, options: dict, message: str) -> None:
        with pytest.raises(BuildError, match=message):
            build(ENTRIES["relative_imports"], _write_template(tmp_path, "with_data"), out, **options)
        self._assert_untouched(out)

    def test_missing_output_directory(self, tmp_path: Path) -> None:
        with pytest.raises(tracer.BasiliskTraceError, match="does not exist; create it first"):
            build(ENTRIES["relative_imports"], _write_template(tmp_path, "with_data"), tmp_path / "no" / "o.wasm")


# The rendered source run as a canister's whole program, with only the runtime's importers.
RESTRICTED = CALLS + RUNTIME_ONLY + """
namespace = {"__name__": "__main__"}
exec(compile(open(sys.argv[1]).read(), "canister.py", "exec"), namespace)
out = json.loads(canister_calls(namespace.__getitem__, "/lib/site-packages"))
out["meta_path"] = [getattr(f, "__name__", type(f).__name__) for f in sys.meta_path]
out["path"] = sys.path
print(json.dumps(out))
"""


class TestBasiliskSource:
    def test_written_source_is_the_rendered_bundle(self, tmp_path: Path) -> None:
        out = tmp_path / "canister.py"
        result = build(ENTRIES["example"], None, out, fmt="basilisk-source", run_dry_run=True)
        assert out.read_text(encoding="utf-8") == render_basilisk_source(expected_bundle("example"), "main")
        assert result.template_size is None and result.format == "basilisk-source"

    def test_a_template_is_not_read(self, tmp_path: Path) -> None:
        build(ENTRIES["relative_imports"], tmp_path / "absent.wasm", tmp_path / "c.py", fmt="basilisk-source")

    def test_runs_alone_like_the_host(self, tmp_path: Path) -> None:
        out = tmp_path / "canister.py"
        build(ENTRIES["example"], None, out, fmt="basilisk-source", run_dry_run=True)
        child = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", RESTRICTED, str(out)], cwd=tmp_path,
                               capture_output=True, text=True, timeout=120)
        assert child.returncode == 0, child.stderr
        result = json.loads(child.stdout.strip().splitlines()[-1])
        assert result.pop("meta_path") == ["BuiltinImporter", "FrozenImporter", "RuntimeStdlib", "MemoryImporter"]
        assert result.pop("path") == []
        assert result == host_calls(expected_bundle("example"), tmp_path)
        assert "plugins.upper" in result["from_bundle"]


class TestCli:
    def test_build_trace(self, tmp_path: Path) -> None:
        source = _write_template(tmp_path, "imports_global_table")
        before = _sha(source)
        out = tmp_path / "cli.wasm"
        done = subprocess.run([str(CLI), "build", str(EXAMPLE), "--template", str(source), "-o", str(out),
                               "--trace", "--exercise"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert bundle_sha256(expected_bundle("example")) in done.stdout
        assert_injected("imports_global_table", out.read_bytes(), expected_bundle("example"))
        assert _sha(source) == before

    def test_missing_template_is_one_line(self, tmp_path: Path) -> None:
        out = tmp_path / "cli.wasm"
        out.write_bytes(OLD)
        done = subprocess.run([str(CLI), "build", str(RELATIVE), "--template", "absent.wasm", "-o", str(out)],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert done.returncode == 1
        assert done.stderr.startswith("basilisk-trace: error: template absent.wasm does not exist")
        assert out.read_bytes() == OLD

    def test_python_source_slot_names_the_canister_command(self, tmp_path: Path) -> None:
        # ic-basilisk's template has this slot: a ZIP there would be run as Python at init.
        source = tmp_path / "ic.wasm"
        source.write_bytes(compile_wat(IC_BASILISK_TEMPLATE))
        out = tmp_path / "cli.wasm"
        done = subprocess.run([str(CLI), "build", str(RELATIVE), "--template", str(source), "-o", str(out),
                               "--slot", "python_source"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert done.returncode == 1 and not out.exists()
        assert done.stderr.count("\n") == 1 and "basilisk-trace canister NAME ENTRY" in done.stderr

    def test_basilisk_source_format(self, tmp_path: Path) -> None:
        out = tmp_path / "canister.py"
        done = subprocess.run([str(CLI), "build", str(RELATIVE), "--format", "basilisk-source", "-o", str(out)],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        static = make_bundle(static_request(ENTRIES["relative_imports"]))[2]
        assert out.read_text(encoding="utf-8") == render_basilisk_source(static, "main")
