"""The real CLI against bad input: one clear line, a non-zero exit, nothing lost, nothing written."""

from __future__ import annotations

import json
import os
import shutil
import threading
import zipfile
from pathlib import Path

import pytest
from helpers import FIXTURES, load_path, run_cli, tree_hash, zip_names


def _project(tmp_path: Path, source: bytes | str, extra: dict[str, str] | None = None) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    data = source.encode() if isinstance(source, str) else source
    (project / "main.py").write_bytes(data)
    for name, text in (extra or {}).items():
        (project / name).write_text(text)
    return project


# name -> (main.py source, extra files, trace exit code, words the error must contain)
PROGRAMS = {
    "syntax_error": ("def broken(:\n    pass\n", {}, 3, "SyntaxError"),
    "non_utf8_source": (b"# -*- coding: utf-8 -*-\nNAME = '\xff\xfe'\n", {}, 3, "SyntaxError"),
    "raises": ("raise RuntimeError('no config')\n", {}, 3, "RuntimeError: no config"),
    "sys_exit": ("import sys\nsys.exit(4)\n", {}, 3, "SystemExit: 4"),
    "loops_forever": ("while True:\n    pass\n", {}, 3, "time limit"),
    "forks_subprocess": ("import os\nos.system('true')\n", {}, 3, "subprocess access is refused"),
    # Under the canister's runtime layer subprocess cannot even be imported (its _winapi probe
    # gets the preamble's empty stub), as on the canister: the module is an empty stub.
    "subprocess_is_a_stub": ("import subprocess\nsubprocess.run(['true'])\n", {}, 3,
                             "module 'subprocess' has no attribute 'run'"),
    "broken_symlink_module": ("import gone\n", {}, 3, "No module named 'gone'"),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
class TestProgramFailures:
    def test_trace_reports_and_exits_non_zero(self, tmp_path, name):
        source, extra, code, words = PROGRAMS[name]
        project = _project(tmp_path, source, extra)
        if name == "broken_symlink_module":
            os.symlink(project / "does-not-exist.py", project / "gone.py")
        before = tree_hash(project)
        done = run_cli("trace", project / "main.py", "--timeout", "3", "--json", tmp_path / "t.json")
        assert done.returncode == code
        assert words in done.stdout
        assert "basilisk-trace: error:" in done.stderr and "main.py" in done.stderr
        assert (tmp_path / "t.json").exists()  # the partial trace is still written
        assert tree_hash(project) == before

    @pytest.mark.parametrize("command", [
        ["bundle"], ["verify"], ["why", "json"], ["build", "--trace", "--format", "basilisk-source"]])
    def test_every_command_refuses_with_one_line_and_exit_3(self, tmp_path, name, command):
        source, extra, code, _ = PROGRAMS[name]
        project = _project(tmp_path, source, extra)
        out = tmp_path / "bundle.zip"
        out.write_bytes(b"previous bundle")
        entry = [project / "main.py"] if command[0] != "why" else []
        if command[0] == "why":
            command = [*command, project / "main.py"]
        output = ["-o", out] if command[0] in ("bundle", "build") else []
        done = run_cli(*command, *entry, "--timeout", "3", *output)
        assert done.returncode == code
        errors = [line for line in done.stderr.splitlines() if line.startswith("basilisk-trace: error:")]
        assert len(errors) == 1 and "main.py" in errors[0]
        assert "Traceback" not in done.stderr
        assert out.read_bytes() == b"previous bundle"
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(("args", "words"), [
    (["trace", "nowhere/main.py"], "does not exist"),
    (["bundle", "nowhere/main.py"], "does not exist"),
    (["trace", "."], "is a directory"),
    (["trace", "{fixtures}/reads_secrets/.env"], "not a .py file"),
    (["bundle", "{fixtures}/dynamic_import/main.py", "-o", "missing-dir/b.zip"], "does not exist"),
    (["bundle", "{fixtures}/dynamic_import/main.py", "-o", "/proc/b.zip"], "cannot write /proc/b.zip"),
    (["bundle", "{fixtures}/dynamic_import/main.py", "--target", "nope"], "unknown target profile 'nope'"),
    (["bundle", "{fixtures}/dynamic_import/main.py", "--compression", "zstd"], "unknown compression"),
    (["bundle", "{fixtures}/dynamic_import/main.py", "--include", "no_such_mod"], "matches no module"),
    (["why", "--bundle", "{tmp}/corrupt.zip", "x"], "corrupt.zip"),
    (["verify", "--bundle", "{tmp}/corrupt.zip"], "corrupt.zip"),
    (["why", "--error", "all good here", "{fixtures}/dynamic_import/main.py"], "no missing or stubbed module"),
])
def test_user_errors(tmp_path, args, words):
    (tmp_path / "corrupt.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    argv = [a.format(fixtures=FIXTURES, tmp=tmp_path) for a in args]
    done = run_cli(*argv, cwd=tmp_path)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("basilisk-trace: error:") and words in last, done.stderr
    assert "Traceback" not in done.stderr


def test_debug_shows_the_tools_traceback(tmp_path):
    done = run_cli("bundle", "nowhere/main.py", "--debug", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" in done.stderr


def test_symlink_loop_in_the_project(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "dynamic_import", project)
    os.symlink("loop", project / "loop")
    done = run_cli("bundle", project / "main.py", "--include", "plugins.*", "-o", tmp_path / "b.zip")
    assert done.returncode == 0, done.stderr


def test_network_refused_and_reported(tmp_path):
    done = run_cli("trace", FIXTURES / "guard_network" / "main.py")
    assert done.returncode == 0
    assert "refused: network" in done.stdout


def test_two_bundles_writing_the_same_output(tmp_path):
    out = tmp_path / "b.zip"
    results = []

    def bundle() -> None:
        results.append(run_cli("bundle", FIXTURES / "optional_natives" / "main.py", "--target", "cpython-wasi",
                               "-o", out))

    threads = [threading.Thread(target=bundle) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.returncode for r in results] == [0, 0]
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


class TestConfig:
    def test_pyproject_settings_and_command_line_wins(self, tmp_path):
        project = tmp_path / "project"
        shutil.copytree(FIXTURES / "dynamic_import", project)
        (project / "pyproject.toml").write_text(
            '[tool.basilisk-trace]\nentry = "main.py"\nexclude = ["plugins.beta"]\ninclude = ["plugins.gamma"]\n')
        done = run_cli("bundle", "-o", tmp_path / "b.zip", cwd=project)
        assert done.returncode == 0, done.stderr
        names = zipfile.ZipFile(tmp_path / "b.zip").namelist()
        assert "plugins/gamma.py" in names and "plugins/beta.py" not in names
        done = run_cli("bundle", "-o", tmp_path / "c.zip", "--exclude", "plugins.alpha", cwd=project)
        names = zipfile.ZipFile(tmp_path / "c.zip").namelist()
        assert "plugins/beta.py" in names and "plugins/alpha.py" not in names

    @pytest.mark.parametrize(("table", "words"), [
        ("colour = 1", "unknown key 'colour'"),
        ('exercise = "yes"', "exercise must be true or false"),
        ("max-size = true", "max-size must be a number of bytes"),
        ('include = "plugins.*"', "include must be a list"),
    ])
    def test_bad_config_names_key_and_file(self, tmp_path, table, words):
        project = _project(tmp_path, "X = 1\n")
        (project / "pyproject.toml").write_text(f"[tool.basilisk-trace]\n{table}\n")
        done = run_cli("bundle", project / "main.py", "-o", tmp_path / "b.zip")
        assert done.returncode == 1
        assert words in done.stderr and "pyproject.toml" in done.stderr


class TestManyCanisters:
    def _layout(self, tmp_path: Path) -> Path:
        root = tmp_path / "proj"
        root.mkdir()
        shutil.copytree(FIXTURES / "dynamic_import", root / "a", ignore=shutil.ignore_patterns("no_gamma"))
        shutil.copytree(FIXTURES / "verify_optional_native", root / "b")
        (root / "out").mkdir()
        return root

    def test_dfx_json(self, tmp_path):
        root = self._layout(tmp_path)
        (root / "dfx.json").write_text(
            '{"canisters": {"alpha": {"type": "custom", "build": "python -m basilisk alpha a/main.py"},'
            ' "beta": {"main": "b/main.py"}, "site": {"type": "assets"}}}')
        done = run_cli("bundle", "-o", "out", cwd=root)
        assert done.returncode == 0, done.stderr
        assert sorted(p.name for p in (root / "out").iterdir()) == ["alpha.zip", "beta.zip"]
        single = run_cli("bundle", root / "a" / "main.py", "-o", tmp_path / "a.zip")
        assert (tmp_path / "a.zip").read_bytes() == (root / "out" / "alpha.zip").read_bytes(), single.stderr

    def test_icp_yaml(self, tmp_path):
        root = self._layout(tmp_path)
        (root / "icp.yaml").write_text(
            "canisters:\n  - name: alpha\n    build:\n      steps:\n        - type: script\n"
            "          commands:\n            - python -m basilisk alpha a/main.py\n"
            "  - name: beta\n    build:\n      steps:\n        - type: script\n"
            "          commands: [\"python -m basilisk beta b/main.py\"]\n")
        done = run_cli("bundle", "-o", "out", cwd=root)
        assert done.returncode == 0, done.stderr
        assert sorted(p.name for p in (root / "out").iterdir()) == ["alpha.zip", "beta.zip"]

    def test_icp_yaml_is_read_as_yaml(self, tmp_path):
        # A comment naming a .py file is not an entry; a mapping of canisters works like a list.
        root = self._layout(tmp_path)
        (root / "icp.yaml").write_text(
            "# the old layout: file_registry/main.py\n"
            "canisters:\n  alpha:\n    build:\n      steps:\n        - type: script\n"
            "          commands:\n            # was: python -m basilisk alpha gone/main.py\n"
            "            - >-\n              CANISTER_CANDID_PATH=.basilisk/alpha/alpha.did\n"
            "              basilisk-trace canister alpha a/main.py\n"
            "            - cp .basilisk/alpha/alpha.wasm \"$ICP_WASM_OUTPUT_PATH\"\n")
        done = run_cli("bundle", "-o", "out", cwd=root)
        assert done.returncode == 0, done.stderr
        assert [p.name for p in (root / "out").iterdir()] == ["alpha.zip"]

    def test_icp_yaml_that_is_not_yaml(self, tmp_path):
        root = self._layout(tmp_path)
        (root / "icp.yaml").write_text("canisters:\n  - name: alpha\n   build: [\n")
        done = run_cli("bundle", "-o", "out", cwd=root)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert done.stderr.startswith(f"basilisk-trace: error: {root / 'icp.yaml'}:") and "not valid YAML" in done.stderr

    def test_one_canister_into_a_directory(self, tmp_path):
        root = self._layout(tmp_path)
        (root / "dfx.json").write_text('{"canisters": {"alpha": {"main": "a/main.py"}}}')
        done = run_cli("bundle", "-o", "out", cwd=root)
        assert done.returncode == 0, done.stderr
        assert [p.name for p in (root / "out").iterdir()] == ["alpha.zip"]
        named = run_cli("bundle", root / "b" / "main.py", "-o", root / "out")
        assert named.returncode == 0, named.stderr
        assert sorted(p.name for p in (root / "out").iterdir()) == ["alpha.zip", "b.zip"]

    @pytest.mark.parametrize("name", ["../../escaped", "..", ".hidden", "a/b"])
    def test_a_canister_name_cannot_leave_the_output(self, tmp_path, name):
        root = self._layout(tmp_path)
        (root / "dfx.json").write_text(json.dumps({"canisters": {name: {"main": "a/main.py"},
                                                                 "beta": {"main": "b/main.py"}}}))
        done = run_cli("bundle", "-o", "out", cwd=root)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert done.stderr.startswith("basilisk-trace: error: ") and f"canister name {name!r} cannot name a file" in done.stderr
        assert list((root / "out").iterdir()) == [] and not (tmp_path / "escaped.zip").exists()

    def test_several_entries_one_failing(self, tmp_path):
        root = self._layout(tmp_path)
        shutil.copytree(FIXTURES / "required_native", root / "c")
        done = run_cli("bundle", root / "a" / "main.py", root / "c" / "main.py", "-o", root / "out")
        assert done.returncode == 1
        assert "c (" in done.stderr and "native code" in done.stderr
        assert [p.name for p in (root / "out").iterdir()] == ["a.zip"]

    def test_warnings_name_their_canister(self, tmp_path):
        root = self._layout(tmp_path)
        shutil.copytree(FIXTURES / "verify_stdlib_cannot_ship", root / "c")
        done = run_cli("bundle", root / "a" / "main.py", root / "c" / "main.py", "-o", root / "out")
        assert done.returncode == 0, done.stderr
        assert "basilisk-trace: warning: c: re cannot run on the basilisk target" in done.stderr

    def test_output_must_be_a_directory(self, tmp_path):
        root = self._layout(tmp_path)
        done = run_cli("bundle", root / "a" / "main.py", root / "b" / "main.py", "-o", root / "x.zip")
        assert done.returncode == 1 and "is not a directory" in done.stderr


def test_progress_for_slow_steps(tmp_path):
    project = _project(tmp_path, "import time\ntime.sleep(1.5)\n")
    done = run_cli("bundle", project / "main.py", "-o", tmp_path / "b.zip", "--progress")
    assert done.returncode == 0, done.stderr
    assert "basilisk-trace: tracing and bundling" in done.stderr and "done in" in done.stderr
    quiet = run_cli("bundle", project / "main.py", "-o", tmp_path / "c.zip", "--no-progress")
    assert "done in" not in quiet.stderr


def _reordered(data: bytes) -> bytes:
    """The same sections with the first two non-custom ones swapped: invalid order."""
    from basilisk_trace.bundler.format.wasm.leb128 import decode_unsigned

    sections, offset = [], 8
    while offset < len(data):
        start = offset
        size, offset = decode_unsigned(data, offset + 1)
        offset += size
        sections.append(data[start:offset])
    ordered = [s for s in sections if s[0] != 0]
    first, second = sections.index(ordered[0]), sections.index(ordered[1])
    sections[first], sections[second] = sections[second], sections[first]
    return data[:8] + b"".join(sections)


@pytest.mark.parametrize(("name", "mangle", "words"), [
    ("not_wasm", lambda data: b"this is not wasm at all", "not a WebAssembly module"),
    ("truncated", lambda data: data[: len(data) // 2], "truncated"),
    ("reordered", _reordered, "order"),
])
def test_bad_templates(tmp_path, name, mangle, words):
    from wasm_templates import template

    path = tmp_path / f"{name}.wasm"
    path.write_bytes(mangle(template("with_data")))
    before = path.read_bytes()
    out = tmp_path / "out.wasm"
    out.write_bytes(b"previous output")
    done = run_cli("build", FIXTURES / "dynamic_import" / "main.py", "--template", path, "-o", out)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("basilisk-trace: error:") and str(path) in last, done.stderr
    assert words.lower() in last.lower()
    assert "Traceback" not in done.stderr
    assert path.read_bytes() == before and out.read_bytes() == b"previous output"


def test_two_builds_writing_the_same_output(tmp_path):
    from wasm_templates import template

    path = tmp_path / "t.wasm"
    path.write_bytes(template("with_data"))
    out = tmp_path / "out.wasm"
    results = []

    def build() -> None:
        results.append(run_cli("build", FIXTURES / "dynamic_import" / "main.py", "--template", path,
                               "-o", out, "--trace"))

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    import wasmtime

    wasmtime.Module.validate(wasmtime.Engine(), out.read_bytes())
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


class TestProjectLayouts:
    """An entry in src/ that imports src.* from the project root, as ic-basilisk's test canisters do."""

    PROJECT = Path(__file__).parent / "projects" / "dfx_two_canisters"

    def _src_only(self, tmp_path: Path) -> Path:
        # The same code with no project file above it, built from a folder that does not hold it.
        app = tmp_path / "app"
        shutil.copytree(self.PROJECT / "src", app / "src")
        (tmp_path / "elsewhere").mkdir()
        return app

    def test_the_project_root_is_on_the_path(self, tmp_path):
        project = tmp_path / "project"
        shutil.copytree(self.PROJECT, project)
        done = run_cli("bundle", "src/main.py", "-o", tmp_path / "b.zip", cwd=project)
        assert done.returncode == 0, done.stderr
        names = set(zipfile.ZipFile(tmp_path / "b.zip").namelist())
        assert {"main.py", "src/__init__.py", "src/posts.py", "src/guards.py", "src/audit.py"} <= names

    @pytest.mark.parametrize("command", [["bundle", "-o", "b.zip"], ["build", "--format", "basilisk-source", "-o", "b.py"]])
    def test_project_code_off_the_path_is_an_error(self, tmp_path, command):
        app = self._src_only(tmp_path)
        done = run_cli(command[0], app / "src" / "main.py", *command[1:], cwd=tmp_path / "elsewhere")
        assert done.returncode == 1 and "pip install" not in done.stderr and "fix the program" not in done.stderr
        assert done.stderr.splitlines() == [
            f"basilisk-trace: error: src, src.audit, src.guards, src.posts (imported by main -> src) are in {app}, "
            f"which is not on the import path (project root: {app / 'src'}); put the project's dfx.json, icp.yaml "
            f"or pyproject.toml in {app}, or run from there"]
        assert list((tmp_path / "elsewhere").iterdir()) == []

    def test_running_from_the_root_finds_it(self, tmp_path):
        app = self._src_only(tmp_path)
        done = run_cli("bundle", "src/main.py", "-o", tmp_path / "b.zip", cwd=app)
        assert done.returncode == 0, done.stderr

    def test_a_missing_project_module_is_an_error(self, tmp_path):
        app = self._src_only(tmp_path)
        (app / "dfx.json").write_text('{"canisters": {}}')
        entry = app / "src" / "main.py"
        entry.write_text(entry.read_text().replace("from src.posts import", "from src.postz import"))
        done = run_cli("bundle", entry, "-o", tmp_path / "b.zip")
        assert done.returncode == 1 and not (tmp_path / "b.zip").exists()
        assert f"src.postz is imported by main -> src.postz, but {app / 'src'} has no such module" in done.stderr
        assert "pip install" not in done.stderr


class TestComputedImports:
    """Imports of names computed at run time, in project code: reported with file:line, never guessed."""

    PROJECT = Path(__file__).parent / "projects" / "dfx_two_canisters"

    def test_trace_reports_the_call_site(self, tmp_path):
        done = run_cli("trace", "notes.py", "--json", tmp_path / "t.json", cwd=self.PROJECT)
        assert done.returncode == 0, done.stderr
        assert ("  notes.py:32  __import__(f'notes_lib.plugins.{plugin}', fromlist=['apply'])\n"
                "    bundle what it can load: --include notes_lib.plugins\n") in done.stdout
        report = json.loads((tmp_path / "t.json").read_text())
        # Only the project's own code: the ORM and logging packages it imports are not listed.
        assert [(c["path"], c["line"], c["prefix"]) for c in report["computed_imports"]] == [
            ("notes.py", 32, "notes_lib.plugins.")]

    def test_why_points_at_it(self):
        done = run_cli("why", "notes_lib.plugins.upper", "notes.py", cwd=self.PROJECT)
        assert done.returncode == 0, done.stderr
        assert "notes.py:32  __import__(f'notes_lib.plugins.{plugin}'" in done.stdout
        assert "pass --include notes_lib.plugins.upper" in done.stdout
        assert "pip install" not in done.stdout and "it is installed" not in done.stdout


def _static_pass():
    return load_path("static_pass", Path(__file__).parent.parent / "tracer" / "child" / "static.py")


@pytest.mark.parametrize(("source", "call", "prefix"), [
    ("import importlib\nimportlib.import_module(name)\n", "importlib.import_module(name)", ""),
    ("from importlib import import_module\nimport_module('core.' + name)\n", "import_module('core.' + name)", "core."),
    ("def load(kind):\n    return __import__(f'plugins.{kind}', fromlist=['x'])\n",
     "__import__(f'plugins.{kind}', fromlist=['x'])", "plugins."),
])
def test_computed_import_sites(source, call, prefix, tmp_path):
    static = _static_pass()
    path = tmp_path / "project_module.py"
    path.write_text(source)
    sites = static.computed_in(str(path))
    assert all(s.level == static.COMPUTED for s in sites)
    assert [(s.line, s.names) for s in sites] == [(source.count("\n"), (call, prefix))]


def test_literal_imports_are_not_computed(tmp_path):
    static = _static_pass()
    path = tmp_path / "project_module.py"
    path.write_text("import importlib\nimportlib.import_module('json')\n__import__('os')\n")
    assert static.computed_in(str(path)) == []


def test_why_a_project_module_never_seen_is_not_called_installed(tmp_path):
    project = _project(tmp_path, "from basilisk import query\n\n@query\ndef run() -> str:\n    return 'x'\n")
    (project / "core").mkdir()
    (project / "core" / "__init__.py").write_text("")
    (project / "core" / "payroll.py").write_text("RATE = 1\n")
    done = run_cli("why", "core.payroll", project / "main.py")
    assert done.returncode == 0, done.stderr
    assert "it is in your project, so it is probably imported dynamically" in done.stdout
    assert "installed" not in done.stdout


def test_include_takes_a_stdlib_name(tmp_path):
    # The program imports pprint by a name it computes: --include pprint ships it, with what it reads on import.
    out = tmp_path / "b.zip"
    done = run_cli("bundle", FIXTURES / "stdlib_include" / "main.py", "--include", "pprint", "-o", out)
    assert done.returncode == 0, done.stderr
    names = zip_names(out.read_bytes())
    assert {"pprint.py", "types.py"} <= set(names)
    verified = run_cli("verify", FIXTURES / "stdlib_include" / "main.py", "--include", "pprint", "--exercise")
    assert verified.returncode == 0, verified.stderr
    missing = run_cli("bundle", FIXTURES / "stdlib_include" / "main.py", "--include", "pprint.nothing", "-o", out)
    assert missing.returncode == 1 and "matches no module" in missing.stderr
