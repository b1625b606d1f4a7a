"""A program that attacks the build machine during the dry run or verify: every attempt fails.

Each case runs twice: in the bubblewrap sandbox (the first layer) and with the audit hooks
alone (BASILISK_TRACE_SANDBOX=0, the fallback where bubblewrap cannot run). Cases only a
sandbox can stop run in the sandbox alone.
"""

from __future__ import annotations

import os
import shutil
import textwrap
import uuid
from pathlib import Path

import pytest

from basilisk_trace import tracer
from basilisk_trace.base import sandbox as _sandbox
from tests.helpers import run_cli, tree_hash

HELPER = {"helper.py": "X = 1\n"}
HERE = "import os\nhere = os.path.dirname(os.path.abspath(__file__))\n"

# name -> the program's files; the entry is main.py, or src/main.py when there is one
CHANGES_PROJECT = {
    "delete": {"main.py": HERE + "os.remove(os.path.join(here, 'helper.py'))\n", **HELPER},
    "rename": {"main.py": HERE + "os.rename(os.path.join(here, 'helper.py'), os.path.join(here, 'moved.py'))\n", **HELPER},
    "truncate": {"main.py": HERE + "os.close(os.open(os.path.join(here, 'helper.py'), os.O_RDONLY | os.O_TRUNC))\n", **HELPER},
    "chmod": {"main.py": HERE + "os.chmod(os.path.join(here, 'helper.py'), 0o777)\n", **HELPER},
    "replace_entry": {"main.py": HERE + textwrap.dedent("""
        import tempfile
        fd, tmp = tempfile.mkstemp(dir=tempfile.gettempdir())
        os.write(fd, b"print('replaced')\\n"); os.close(fd)
        os.replace(tmp, __file__)
        """)},
    "dir_fd": {"main.py": HERE + textwrap.dedent("""
        fd = os.open(here, os.O_RDONLY)
        os.chdir("/")
        try:
            os.unlink("helper.py", dir_fd=fd)
        finally:
            w = os.open("pwned", os.O_WRONLY | os.O_CREAT, dir_fd=fd)
        """), **HELPER},
    "symlink_in_tmp": {"main.py": HERE + textwrap.dedent("""
        import tempfile
        link = os.path.join(tempfile.mkdtemp(), "link")
        os.symlink(os.path.join(here, "helper.py"), link)
        open(link, "w").write("pwned")
        """), **HELPER},
    "thread": {"main.py": HERE + textwrap.dedent("""
        import threading
        errors = []
        def later():
            try:
                open(os.path.join(here, "pwned"), "w").write("x")
            except OSError as exc:
                errors.append(exc)
        t = threading.Thread(target=later); t.start(); t.join()
        if errors:
            raise errors[0]
        """)},
    "src_entry_writes_the_repository": {"src/main.py": HERE + textwrap.dedent("""
        root = os.path.dirname(here)
        try:
            open(os.path.join(root, "README.md"), "w").write("pwned")
        finally:
            os.makedirs(os.path.join(root, ".git", "hooks"), exist_ok=True)
        """), "README.md": "readme\n", ".git/HEAD": "ref: refs/heads/main\n"},
    "forkpty": {"main.py": HERE + textwrap.dedent("""
        pid, fd = os.forkpty()
        if pid == 0:
            open(os.path.join(here, "pwned"), "w").write("x"); os._exit(0)
        os.waitpid(pid, 0)
        """)},
    "pty_fork": {"main.py": HERE + textwrap.dedent("""
        import pty
        pid, fd = pty.fork()
        if pid == 0:
            open(os.path.join(here, "pwned"), "w").write("x"); os._exit(0)
        os.waitpid(pid, 0)
        """)},
    "multiprocessing_spawn": {"main.py": textwrap.dedent("""
        import multiprocessing, worker
        if __name__ != "__mp_main__":
            p = multiprocessing.get_context("spawn").Process(target=worker.run); p.start(); p.join()
        """), "worker.py": HERE + textwrap.dedent("""
        def run():
            open(os.path.join(here, "pwned"), "w").write("x")
            os.remove(os.path.join(here, "helper.py"))
        """), **HELPER},
}
REPORTED = {"delete": "write", "rename": "write", "truncate": "write", "chmod": "write",
            "replace_entry": "write", "dir_fd": "write", "symlink_in_tmp": "write", "thread": "write",
            "src_entry_writes_the_repository": "write", "forkpty": "subprocess", "pty_fork": "subprocess",
            "multiprocessing_spawn": "subprocess"}


@pytest.fixture(params=["bubblewrap", "hooks"])
def containment(request, monkeypatch):
    """Which containment the children get; the fallback is forced by the documented variable."""
    _sandbox._containment.cache_clear()
    if request.param == "hooks":
        monkeypatch.setenv(_sandbox.SANDBOX_VARIABLE, "0")
    else:
        monkeypatch.delenv(_sandbox.SANDBOX_VARIABLE, raising=False)
        if shutil.which("bwrap") is None:
            pytest.skip("bubblewrap is not installed (./dev setup installs it)")
    assert _sandbox.containment().kind == request.param, _sandbox.containment().detail
    yield request.param
    _sandbox._containment.cache_clear()


def sandbox_only(containment):
    if containment != "bubblewrap":
        pytest.skip("only a sandbox can stop this; the fallback's limits are documented")


def make_project(tmp_path: Path, files: dict[str, str]) -> tuple[Path, Path]:
    root = tmp_path / "project"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root, root / ("src/main.py" if "src/main.py" in files else "main.py")


def trace(entry: Path, tmp_path: Path, **options) -> tracer.Trace:
    # On the host's whole stdlib: under ic-basilisk's preamble, subprocess and multiprocessing are
    # empty stubs (as on the canister) before an escape could even be tried.
    return tracer.trace(entry, tracer.DryRunOptions(use_cache=False, layer=tracer.Layer(preamble=False), **options))


@pytest.mark.parametrize("case", sorted(CHANGES_PROJECT))
def test_the_project_is_never_changed(tmp_path, containment, case):
    root, entry = make_project(tmp_path, CHANGES_PROJECT[case])
    before = tree_hash(root)
    result = trace(entry, tmp_path, project_root=entry.parent)
    assert tree_hash(root) == before
    assert not result.ok
    assert REPORTED[case] in {e.kind for e in result.events}, result.events
    assert containment.startswith("bubble") == result.containment.startswith("bubblewrap")


def test_atexit_handler_cannot_change_the_project(tmp_path, containment):
    root, entry = make_project(tmp_path, {"main.py": HERE + textwrap.dedent("""
        import atexit
        atexit.register(lambda: open(os.path.join(here, "pwned"), "w").write("x"))
        """)})
    before = tree_hash(root)
    assert trace(entry, tmp_path).ok
    assert tree_hash(root) == before


def test_absolute_paths_canisters_write_stay_in_the_sandbox(tmp_path, containment):
    sandbox_only(containment)
    marker = f"/basilisk-trace-test-{uuid.uuid4().hex}"
    home_marker = os.path.join(os.path.expanduser("~"), f".basilisk-trace-test-{uuid.uuid4().hex}")
    tmp_marker = f"/tmp/basilisk-trace-test-{uuid.uuid4().hex}"
    _, entry = make_project(tmp_path, {"main.py": textwrap.dedent(f"""
        import os
        for directory in ({marker!r}, {home_marker!r}, {tmp_marker!r}):
            os.makedirs(directory)
            open(os.path.join(directory, "x.txt"), "w").write("x")
        """)})
    assert trace(entry, tmp_path).ok
    assert not any(os.path.exists(p) for p in (marker, home_marker, tmp_marker))


@pytest.mark.parametrize("call", ["socket.gethostbyname('example.com')", "socket.getnameinfo(('127.0.0.1', 80), 0)",
                                  "socket.socket().bind(('0.0.0.0', 0))"])
def test_name_lookups_and_listening_are_refused(tmp_path, containment, call):
    _, entry = make_project(tmp_path, {"main.py": f"import socket\n{call}\n"})
    result = trace(entry, tmp_path)
    assert result.outcome == "exception" and "PermissionError" in (result.traceback or "")
    assert [e.kind for e in result.events] == ["network"]


def test_no_network_even_past_the_hooks(tmp_path, containment):
    sandbox_only(containment)
    # Only the loopback interface exists in the sandbox's own network namespace.
    _, entry = make_project(tmp_path, {"main.py": "import socket\nraise SystemExit(','.join(n for _, n in socket.if_nameindex()))\n"})
    result = trace(entry, tmp_path)
    assert result.outcome == "exit" and result.traceback.strip().endswith("SystemExit: lo")


def test_root_cannot_remount_the_host_writable(tmp_path, containment):
    sandbox_only(containment)
    _, entry = make_project(tmp_path, {"main.py": textwrap.dedent("""
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        MS_REMOUNT, MS_BIND = 32, 4096
        raise SystemExit(str(libc.mount(None, b"/usr", None, MS_REMOUNT | MS_BIND, None)))
        """)})
    result = trace(entry, tmp_path, block_natives=False)
    assert result.outcome == "exit" and result.traceback.strip().endswith("SystemExit: -1")


def _alive_in(root: Path) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/cwd").startswith(str(root)):
                found.append(int(pid))
        except OSError:
            pass
    return found


def test_no_worker_survives_the_timeout(tmp_path, containment):
    # A worker forked behind the hooks' back (ctypes), in a session of its own in the sandbox.
    setsid = "libc.setsid()" if containment == "bubblewrap" else "pass"
    root, entry = make_project(tmp_path, {"main.py": textwrap.dedent(f"""
        import ctypes, time
        libc = ctypes.CDLL(None)
        if libc.fork() == 0:
            {setsid}
            time.sleep(120)
        while True:
            pass
        """)})
    try:
        result = trace(entry, tmp_path, timeout=1, block_natives=False)
        assert result.outcome == "timeout"
        assert _alive_in(root) == []
    finally:
        for pid in _alive_in(root):
            os.kill(pid, 9)


SHADOWS = {"typing": "import os\nopen(os.path.join(os.path.dirname(__file__), 'pwned'), 'w').write('x')\n",
           **{name: f"raise RuntimeError('the project {name}.py ran')\n"
              for name in ("ast", "signal", "tempfile", "traceback", "json", "dis", "re")}}


@pytest.mark.parametrize("name", sorted(SHADOWS))
def test_a_project_module_named_like_the_tools_own_never_runs(tmp_path, containment, name):
    root, entry = make_project(tmp_path, {"main.py": "X = 1\n", f"{name}.py": SHADOWS[name]})
    before = tree_hash(root)
    result = trace(entry, tmp_path, exercise=True)
    assert result.ok, result.traceback
    assert tree_hash(root) == before
    assert result.module(name) is None


def test_the_programs_own_imports_of_the_tools_modules_are_recorded(tmp_path, containment):
    _, entry = make_project(tmp_path, {"main.py": "import typing, json, ast\n"})
    result = trace(entry, tmp_path)
    for name in ("typing", "json", "ast"):
        assert result.module(name) is not None and result.module(name).importer == "main", name


VERIFY_ATTACK = textwrap.dedent("""
    import os, socket, subprocess
    here = os.path.dirname(os.path.abspath(__file__))
    if "basilisk-verify" in here:  # only in verify's run: the dry run must succeed
        results = []
        for name, attempt in (("write", lambda: open({pwned!r}, "w").write("x")),
                              ("subprocess", lambda: subprocess.run(["true"])),
                              ("tcp", lambda: socket.create_connection(("127.0.0.1", 9), timeout=2))):
            try:
                attempt()
                results.append(name + " done")
            except OSError as exc:
                results.append(name + " refused")
        raise RuntimeError("RESULT " + ", ".join(results))
    """)


def test_verify_runs_the_program_contained(tmp_path, containment):
    root, entry = make_project(tmp_path, {})
    entry.parent.mkdir(parents=True)
    entry.write_text(VERIFY_ATTACK.format(pwned=str(root / "pwned")))
    done = run_cli("verify", entry, "--target", "cpython-wasi", cwd=tmp_path)
    assert "RESULT write refused, subprocess refused, tcp refused" in done.stderr, done.stderr
    assert not (root / "pwned").exists()
    assert f"verify: containment: {'bubblewrap' if containment == 'bubblewrap' else 'audit hooks only'}" in done.stderr


def test_the_report_names_the_containment(tmp_path, containment, monkeypatch):
    _, entry = make_project(tmp_path, {"main.py": "X = 1\n"})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    done = run_cli("trace", entry, "--json", tmp_path / "trace.json")
    text = run_cli("trace", entry).stdout
    assert done.returncode == 0, done.stderr
    expected = "bubblewrap sandbox" if containment == "bubblewrap" else "audit hooks only: BASILISK_TRACE_SANDBOX=0"
    assert expected in (tmp_path / "trace.json").read_text() and f"containment: {expected}" in text


def test_where_bubblewrap_cannot_start_the_hooks_run_with_a_notice(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(_sandbox.SANDBOX_VARIABLE, raising=False)
    _sandbox._containment.cache_clear()
    try:
        assert _sandbox.containment().kind == "hooks"
        assert "No permissions to create new namespace" in _sandbox.containment().detail
    finally:
        _sandbox._containment.cache_clear()
    _, entry = make_project(tmp_path, {"main.py": "X = 1\n"})
    done = run_cli("trace", entry)
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if "without a sandbox" in line]
    assert len(notes) == 1 and "No permissions" in notes[0]
    assert "containment: audit hooks only: bubblewrap cannot start" in done.stdout


def test_the_static_pass_cache_is_kept_though_the_child_cannot_write_it(tmp_path, containment):
    # helper.py never runs: the static pass reads it from source, and keeps its sites by content.
    _, entry = make_project(tmp_path, {"main.py": "def later():\n    import helper\n",
                                       "helper.py": "import json\n"})
    cache = tmp_path / "cache"
    tracer.trace(entry, tracer.DryRunOptions(cache_dir=cache))
    saved = list(cache.glob("static-*.json"))
    # Keyed on content, holding no paths: the entry's scan is there under its digest.
    text = saved[0].read_text() if len(saved) == 1 else ""
    assert '"json"' in text and str(entry) not in text


def test_verify_in_pyodide_runs_node_contained(tmp_path, containment):
    # Pyodide is no wall on its own: `import js` reaches node's fs and child_process.
    sandbox_only(containment)
    root, entry = make_project(tmp_path, {"main.py": textwrap.dedent(f"""
        try:
            import js  # only in Pyodide: the dry run on the host goes past
        except ImportError:
            js = None
        if js is not None:
            try:
                js.process.getBuiltinModule("fs").writeFileSync({str(tmp_path / "pwned")!r}, "x")
            finally:
                js.process.getBuiltinModule("child_process").execSync("touch {tmp_path / "pwned-exec"}")
        """)})
    done = run_cli("verify", entry, "--runtime", "pyodide", cwd=tmp_path)
    assert "FAILED importing the entry" in done.stderr, done.stderr
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned-exec").exists()


def test_static_only_sees_the_project_and_none_of_the_tools_modules(tmp_path, containment):
    _, entry = make_project(tmp_path, {"main.py": "import helper\n", "helper.py": "import json\n",
                                       "ast.py": SHADOWS["ast"]})
    result = trace(entry, tmp_path, static_only=True)
    assert result.ok and result.module("helper").kind == "source" and result.module("json") is not None
    assert {"tempfile", "typing", "traceback", "signal"}.isdisjoint(m.name for m in result.modules)
