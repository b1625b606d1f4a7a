"""Bad input gets one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from helpers import CLI, run_cli

from basilisk_trace.bundler.settings import ConfigError, find_pyproject, load_pyproject


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / ".git").mkdir()
    for name, text in files.items():
        (project / name).write_text(text)
    return project


def _one_line_error(done, *words: str) -> None:
    assert done.returncode not in (0, None), done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("basilisk-trace: error:")]
    assert len(errors) == 1, done.stderr
    for word in words:
        assert word in errors[0], errors[0]


@pytest.mark.parametrize("args", [
    ("build", "main.py", "--template", "/dev/zero", "-o", "out.wasm"),
    ("verify", "--bundle", "/dev/zero"),
    ("why", "json", "--bundle", "/dev/zero"),
    ("why", "main.py", "--log", "/dev/zero"),
    ("bundle", "main.py", "--runtime-modules", "/dev/zero", "-o", "out.zip"),
])
def test_dev_zero_is_one_line(tmp_path, args):
    project = _project(tmp_path, {"main.py": "import json\n"})
    _one_line_error(run_cli(*args, cwd=project), "/dev/zero", "MiB")


@pytest.mark.parametrize(("text", "words"), [
    ('tool = "x"\n', "must be a table"),
    ("[tool]\nbasilisk-trace = 1\n", "must be a table"),
    ("[tool.basilisk-trace]\ntimeout = inf\n", "timeout"),
    ("[tool.basilisk-trace]\ntimeout = nan\n", "timeout"),
    ("[tool.basilisk-trace]\ntimeout = 1e300\n", "timeout"),
    ("[tool.basilisk-trace]\ntimeout = -5\n", "timeout"),
    ("[tool.basilisk-trace]\ntimeout = 0\n", "timeout"),
    ("[tool.basilisk-trace]\nmax-size = -1\n", "max-size"),
])
def test_bad_pyproject_values(tmp_path, text, words):
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words):
        load_pyproject(path)


@pytest.mark.parametrize("value", ["inf", "nan", "1e300"])
def test_bad_timeout_on_the_command_line(tmp_path, value):
    project = _project(tmp_path, {"main.py": "import json\n"})
    done = run_cli("trace", "main.py", "--timeout", value, cwd=project)
    # The option parser may refuse it first (a usage error, exit 2); either way, no traceback.
    assert done.returncode in (1, 2) and "Traceback" not in done.stderr and "--timeout" in done.stderr


def test_bad_pyproject_through_the_cli(tmp_path):
    project = _project(tmp_path, {"main.py": "import json\n", "pyproject.toml": "[tool.basilisk-trace]\ntimeout = nan\n"})
    _one_line_error(run_cli("bundle", "main.py", cwd=project), "pyproject.toml", "timeout")


def test_pyproject_above_the_repository_is_not_applied(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.basilisk-trace]\ntarget = "pyodide"\n')
    project = _project(tmp_path, {"main.py": "import json\n"})
    assert find_pyproject(project / "main.py") is None
    done = run_cli("bundle", "main.py", "-o", "b.zip", cwd=project)
    assert done.returncode == 0 and "target basilisk" in done.stdout


def test_pyproject_inside_the_repository_still_applies(tmp_path):
    project = _project(tmp_path, {"pyproject.toml": '[tool.basilisk-trace]\ntarget = "pyodide"\n'})
    (project / "src").mkdir()
    (project / "src" / "main.py").write_text("import json\n")
    assert find_pyproject(project / "src" / "main.py") == project / "pyproject.toml"


@pytest.mark.parametrize("name", ["os", "json", "codecs"])
@pytest.mark.parametrize("command", ["bundle", "verify"])
def test_entry_named_like_a_stdlib_module(tmp_path, name, command):
    project = _project(tmp_path, {f"{name}.py": "import yaml\nprint('ran')\n"})
    done = run_cli(command, f"{name}.py", cwd=project)
    _one_line_error(done, f"{name}.py", "standard library", "rename")
    assert not (project / "bundle.zip").exists()


def test_import_failure_names_the_users_file_and_line(tmp_path):
    project = _project(tmp_path, {"main.py": "import helper\n", "helper.py": "X = 1\nraise ValueError('boom')\n"})
    done = run_cli("bundle", "main.py", cwd=project)
    _one_line_error(done, "ValueError: boom", "helper.py, line 2")
    traced = run_cli("trace", "main.py", cwd=project)
    assert traced.returncode == 3 and "helper.py, line 2" in traced.stderr


def test_verify_target_is_checked_against_the_bundle(tmp_path):
    project = _project(tmp_path, {"main.py": "import json\n"})
    assert run_cli("bundle", "main.py", "--target", "cpython-wasi", "-o", "b.zip", cwd=project).returncode == 0
    _one_line_error(run_cli("verify", "--bundle", "b.zip", "--target", "basilisk", cwd=project),
                    "cpython-wasi", "basilisk")
    assert run_cli("verify", "--bundle", "b.zip", "--target", "cpython-wasi", cwd=project).returncode == 0


def test_non_utf8_file_name_read_by_the_program(tmp_path):
    project = _project(tmp_path, {"main.py": (
        "import os\nhere = os.path.dirname(os.path.abspath(__file__))\n"
        "for name in os.listdir(here):\n"
        "    path = os.path.join(here, name)\n"
        "    if os.path.isfile(path):\n"
        "        open(path, 'rb').read()\n")})
    (project / os.fsdecode(b"bad\xff.txt")).write_text("x")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        # The report prints the name's bytes as they are, as ls does: read them leniently.
        return subprocess.run([CLI, *args], cwd=project, capture_output=True, text=True, errors="replace")

    traced = run("trace", "main.py", "--json", "t.json")
    assert traced.returncode == 0, traced.stderr
    assert json.loads((project / "t.json").read_text())["outcome"] == "ok"
    done = run("bundle", "main.py", "-o", "b.zip")
    assert done.returncode == 0 and "not valid UTF-8" in done.stderr


def test_full_tmpdir_is_one_line(tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(full)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        project = _project(tmp_path, {"main.py": "import json\n"})
        env = {**os.environ, "TMPDIR": str(full), "XDG_CACHE_HOME": str(tmp_path / "cache")}
        done = subprocess.run([CLI, "trace", "main.py"], cwd=project, env=env, capture_output=True, text=True)
        _one_line_error(done, "TMPDIR")
        assert list(full.iterdir()) == []
    finally:
        subprocess.run(["umount", str(full)], check=True)


def test_failure_site_skips_a_virtual_environment_inside_the_project():
    from basilisk_trace.tracer.model import Trace

    text = ('Traceback (most recent call last):\n'
            '  File "/p/main.py", line 3, in <module>\n    import helper\n'
            '  File "/p/helper.py", line 7, in <module>\n    yaml.load(x)\n'
            '  File "/p/.venv/lib/python3.13/site-packages/yaml/__init__.py", line 80, in load\n'
            'ValueError: boom\n')
    trace = Trace(entry="/p/main.py", entry_module="main", project_root="/p", python="3.13", executable="python",
                  site_packages=("/p/.venv/lib/python3.13/site-packages",), outcome="exception", modules=(),
                  traceback=text)
    assert trace.failure_site == "helper.py, line 7"


@pytest.mark.parametrize(("files", "words"), [
    ({"a": b"", "a/b.py": b""}, "both a file and a directory"),
    ({"x" * 300 + ".py": b""}, "over 255 bytes"),
    ({"/".join(["d"] * 3000) + "/m.py": b""}, "deeper than"),
    ({"main.py": b"", "basilisk-bundle.json": b'{"schema": 1, "files": [], "entry": 5}'}, "wrong type"),
])
@pytest.mark.parametrize("command", [("verify", "--bundle", "b.zip"), ("why", "json", "--bundle", "b.zip")])
def test_hostile_bundles_are_one_line(tmp_path, files, words, command):
    import zipfile

    project = _project(tmp_path, {})
    with zipfile.ZipFile(project / "b.zip", "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    _one_line_error(run_cli(*command, cwd=project), "b.zip", words)


@pytest.mark.parametrize("args", [
    ("trace", "fifo.py"),
    ("bundle", "fifo.py", "-o", "out.zip"),
    ("verify", "--bundle", "fifo.py"),
    ("why", "json", "--bundle", "fifo.py"),
    ("why", "main.py", "--log", "fifo.py"),
    ("bundle", "main.py", "--runtime-modules", "fifo.py", "-o", "out.zip"),
    ("build", "main.py", "--template", "fifo.py", "-o", "out.wasm"),
])
def test_a_fifo_input_is_one_line_at_once(tmp_path, args):
    project = _project(tmp_path, {"main.py": "import json\n"})
    os.mkfifo(project / "fifo.py")
    done = run_cli(*args, cwd=project, timeout=60)  # a FIFO opened for reading waits for a writer: never here
    _one_line_error(done, "fifo.py", "FIFO")


@pytest.mark.parametrize(("name", "text"), [
    ("pyproject.toml", "[tool.basilisk-trace]\nx = " + "[" * 5000 + "]" * 5000 + "\n"),
    ("dfx.json", '{"canisters": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    ("icp.yaml", "canisters: " + "[" * 100_000 + "]" * 100_000 + "\n"),
])
def test_deeply_nested_project_files_are_one_line(tmp_path, name, text):
    project = _project(tmp_path, {name: text})
    _one_line_error(run_cli("bundle", cwd=project), name)


def test_an_icp_yaml_that_is_not_utf8_is_one_line(tmp_path):
    project = _project(tmp_path, {})
    (project / "icp.yaml").write_bytes(b"canisters:\n  - name: caf\xe9\n")
    _one_line_error(run_cli("bundle", cwd=project), "icp.yaml", "UTF-8")
