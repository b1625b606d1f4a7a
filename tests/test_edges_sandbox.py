"""What the sandbox holds beyond its mounts: limits, Unix sockets, the home folder's secrets, the cache.

Through the real command line, in bubblewrap (these are the sandbox's to stop; the audit hooks
alone are documented as no wall against a hostile program, and the notice says so).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import pytest
from helpers import run_cli

from basilisk_trace.base.limits import LIMITS, seccomp_filter

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
SANDBOX = {"BASILISK_TRACE_SANDBOX": "1"}


def _project(tmp_path: Path, main: str) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / ".git").mkdir()
    (project / "main.py").write_text(textwrap.dedent(main))
    return project


def _trace(project: Path, tmp_path: Path, *args: str, **env: str):
    return run_cli("trace", "main.py", *args, cwd=project,
                   env={**SANDBOX, "XDG_CACHE_HOME": str(tmp_path / "cache"), **env})


# The tool itself started isolated (-I), so that its own imports ignore PYTHONPATH; its children get it.
ISOLATED_CLI = "import sys; from basilisk_trace.bundler.cli.app import main; sys.argv[0] = 'basilisk-trace'; main()"


def _said(done) -> str:
    """What the program raised: the last line of its traceback, as trace prints it."""
    return done.stdout + done.stderr


@pytest.mark.skipif(seccomp_filter() is None, reason="no seccomp filter for this machine")
def test_no_new_processes_even_past_the_hooks(tmp_path):
    project = _project(tmp_path, """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        started = 0
        for _ in range(20):
            pid = libc.fork()
            if pid == 0:
                os._exit(0)
            started += pid > 0
        raise SystemExit(f"started {started}")
        """)
    done = _trace(project, tmp_path, "--timeout", "30")
    assert "SystemExit: started 0" in _said(done), _said(done)


def test_memory_is_limited_and_the_limit_named(tmp_path):
    # bytes() of zeros takes address space only: without a limit it "succeeds" at no cost.
    project = _project(tmp_path, f"DATA = bytes({LIMITS.memory + (1 << 30)})\n")
    done = _trace(project, tmp_path)
    assert done.returncode == 3 and "MemoryError" in _said(done), _said(done)
    assert f"limit of {LIMITS.memory // (1 << 20)} MiB of memory" in done.stderr, done.stderr


def test_file_size_is_limited_and_the_limit_named(tmp_path):
    project = _project(tmp_path, f"""
        import os, tempfile
        with open(os.path.join(tempfile.gettempdir(), "big"), "wb") as handle:
            handle.truncate({LIMITS.file_size + (44 << 20)})  # sparse: no memory, yet past the limit
        """)
    done = _trace(project, tmp_path)
    assert done.returncode == 3 and "File too large" in _said(done), _said(done)
    assert "MiB per file written" in done.stderr, done.stderr


def test_scratch_space_is_limited_and_the_limit_named(tmp_path):
    chunk = 64 << 20
    count = LIMITS.scratch // chunk + 2
    project = _project(tmp_path, f"""
        import os, tempfile
        block = b"x" * {chunk}
        for n in range({count}):
            with open(os.path.join(tempfile.gettempdir(), f"fill{{n}}"), "wb") as handle:
                handle.write(block)
        """)
    done = _trace(project, tmp_path)
    assert done.returncode == 3 and "No space left on device" in _said(done), _said(done)
    assert "for /tmp" in done.stderr, done.stderr


def test_the_run_folder_takes_nothing_but_the_results(tmp_path):
    project = _project(tmp_path, """
        import os, sys
        run_dir = os.path.dirname(sys.argv[-1])
        try:
            with open(os.path.join(run_dir, "big"), "wb") as handle:
                handle.truncate(300 << 20)
            outcome = "written"
        except OSError as exc:
            outcome = type(exc).__name__
        raise SystemExit(outcome)
        """)
    done = _trace(project, tmp_path)
    assert "SystemExit: OSError" in _said(done), _said(done)


@pytest.fixture
def unix_socket(tmp_path):
    """A listening Unix socket in the project's repository, which the sandbox shows read-only."""
    path = tmp_path / "project" / "agent.sock"
    path.parent.mkdir(parents=True)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(4)
    accepted: list[bytes] = []

    def serve() -> None:
        server.settimeout(60)
        try:
            conn, _ = server.accept()
            accepted.append(conn.recv(64))
            conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield path, accepted
    server.close()


def test_host_unix_sockets_are_out_of_reach_even_through_ctypes(tmp_path, unix_socket):
    path, accepted = unix_socket
    (path.parent / ".git").mkdir()
    (path.parent / "main.py").write_text(textwrap.dedent(f"""
        import ctypes, struct
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.socket(1, 1, 0)
        address = struct.pack("H", 1) + {str(path).encode()!r}.ljust(108, b"\\0")
        connected = fd >= 0 and libc.connect(fd, address, len(address)) == 0
        if connected:
            libc.write(fd, b"reached", 7)
        raise SystemExit("connected" if connected else f"refused {{ctypes.get_errno()}}")
        """))
    done = _trace(path.parent, tmp_path)
    assert "SystemExit: refused" in _said(done), _said(done)
    assert accepted == []


def test_the_home_folder_secrets_stay_hidden(tmp_path):
    home = tmp_path / "home"
    for name, text in {".ssh/id_rsa": "ssh-secret-1", ".npmrc": "npm-secret-2", ".config/gh/hosts.yml": "gh-secret-3"}.items():
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_text(text)
    project = _project(tmp_path, f"""
        import os
        found = []
        for name in (".ssh/id_rsa", ".npmrc", ".config/gh/hosts.yml"):
            try:
                found.append(open(os.path.join({str(home)!r}, name)).read())
            except OSError as exc:
                found.append(type(exc).__name__)
        raise SystemExit(" ".join(found))
        """)
    done = _trace(project, tmp_path, HOME=str(home))
    assert "SystemExit: FileNotFoundError FileNotFoundError FileNotFoundError" in _said(done), _said(done)
    assert not any(f"-secret-{n}" in _said(done) for n in (1, 2, 3))


def test_pythonpath_tmp_does_not_show_the_hosts_tmp(tmp_path):
    secret = Path("/tmp") / f"basilisk-trace-test-{uuid.uuid4().hex}.txt"
    secret.write_text("tmp-secret-4")
    try:
        project = _project(tmp_path, f"""
            try:
                text = open({str(secret)!r}).read()
            except OSError as exc:
                text = type(exc).__name__
            raise SystemExit(text)
            """)
        done = subprocess.run([sys.executable, "-I", "-c", ISOLATED_CLI, "trace", "main.py"], cwd=project,
                              capture_output=True, text=True, timeout=240,
                              env={**os.environ, **SANDBOX, "XDG_CACHE_HOME": str(tmp_path / "cache"),
                                   "PYTHONPATH": "/tmp"})
        assert "SystemExit: FileNotFoundError" in _said(done), _said(done)
    finally:
        secret.unlink()


def test_the_cache_secret_and_other_traces_stay_hidden(tmp_path):
    other = _project(tmp_path, "import json\n")
    assert _trace(other, tmp_path).returncode == 0
    cache = tmp_path / "cache" / "basilisk-trace"
    assert (cache / "secret").is_file() and list(cache.glob("trace-*.json"))
    spy = tmp_path / "spy"
    spy.mkdir()
    (spy / ".git").mkdir()
    (spy / "main.py").write_text(textwrap.dedent(f"""
        import os
        try:
            seen = sorted(os.listdir({str(cache)!r}))
        except OSError as exc:
            seen = [type(exc).__name__]
        raise SystemExit(",".join(seen) or "empty")
        """))
    done = _trace(spy, tmp_path)
    said = _said(done)
    assert "SystemExit:" in said and "secret" not in said.split("SystemExit:")[-1] and "trace-" not in said, said


def test_the_fallback_says_it_is_no_wall(tmp_path):
    project = _project(tmp_path, "import json\n")
    done = run_cli("trace", "main.py", cwd=project,
                   env={"BASILISK_TRACE_SANDBOX": "0", "XDG_CACHE_HOME": str(tmp_path / "cache")})
    notes = [line for line in done.stderr.splitlines() if "without a sandbox" in line]
    assert len(notes) == 1 and "not against a hostile program" in notes[0], done.stderr


def test_an_entry_the_sandbox_cannot_read_is_one_line(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only root reads a file its owner may not")
    project = _project(tmp_path, "import json\n")
    (project / "main.py").chmod(0)
    done = _trace(project, tmp_path)
    assert done.returncode == 1 and "cannot read the entry" in done.stderr and "chmod u+r" in done.stderr, done.stderr
    assert "fix the program" not in done.stderr
