"""Caches that cannot lie, leak or crash: private, keyed on content, damaged entries are misses."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from basilisk_trace import tracer
from basilisk_trace.tracer import _cache
from basilisk_trace.tracer._dryrun import default_cache_dir

OLD = 1_600_000_000  # a fixed past mtime


def _project(tmp_path: Path, main: str, **files: str) -> Path:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    for name, text in {"main.py": main, **files}.items():
        (project / name).write_text(text)
        os.utime(project / name, (OLD, OLD))
    settle()
    return project


def settle() -> None:
    """Let the files just written age past the trace's start: one changed as the run began is not cached."""
    time.sleep(0.05)


def _trace(project: Path, cache: Path) -> tracer.Trace:
    return tracer.trace(project / "main.py", tracer.DryRunOptions(cache_dir=cache))


def _names(trace: tracer.Trace) -> set[str]:
    return {m.name for m in trace.modules}


def test_cache_is_private(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o755)
    os.chmod(cache, 0o755)
    _trace(_project(tmp_path, "import json\n"), cache)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    files = list(cache.iterdir())
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def test_cache_holds_no_plain_digest_of_what_was_read(tmp_path):
    import hashlib

    project = _project(tmp_path, "import os\nDATA = open(os.path.join(os.path.dirname(__file__), 'secret.txt')).read()\n",
                       **{"secret.txt": "hunter2\n"})
    cache = tmp_path / "cache"
    _trace(project, cache)
    text = "".join(p.read_text() for p in cache.glob("trace-*.json"))
    assert text and hashlib.sha256(b"hunter2\n").hexdigest() not in text


def test_cache_owned_by_someone_else_is_not_used(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    cache = tmp_path / "cache"
    cache.mkdir()
    os.chown(cache, 12345, 12345)
    trace = _trace(_project(tmp_path, "import json\n"), cache)
    assert trace.ok and list(cache.iterdir()) == []


@pytest.mark.parametrize("document", [
    {"schema": _cache.CACHE_SCHEMA, "fingerprint": [], "trace": 3},
    {"schema": _cache.CACHE_SCHEMA, "fingerprint": {"files": [], "dirs": {}}, "trace": {}},
    {"schema": _cache.CACHE_SCHEMA, "fingerprint": {"files": {}, "dirs": {}}, "trace": {"entry": 5}},
    {"schema": _cache.CACHE_SCHEMA, "fingerprint": {"files": {}, "dirs": {}},
     "trace": {"entry": "main.py", "modules": "x"}},
    [1, 2, 3],
])
def test_a_damaged_entry_is_a_miss(tmp_path, document):
    project = _project(tmp_path, "import json\n")
    cache = tmp_path / "cache"
    _trace(project, cache)
    entries = list(cache.glob("trace-*.json"))
    assert len(entries) == 1
    entries[0].write_text(json.dumps(document))
    again = _trace(project, cache)
    assert again.ok and not again.cached and "json" in _names(again)


def test_relative_xdg_cache_home_is_ignored(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", "rel")
    assert default_cache_dir() == Path(os.path.expanduser("~"), ".cache", "basilisk-trace")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "abs"))
    assert default_cache_dir() == tmp_path / "abs" / "basilisk-trace"


def test_full_disk_leaves_no_temporary_file(tmp_path):
    disk = tmp_path / "full"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)],
                             capture_output=True)
    if mounted.returncode:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        cache = disk / "cache"
        assert _cache.prepare(cache)
        (disk / "filler").write_bytes(b"\0" * (64 * 1024 - 8192))
        big = {"entry": "x", "modules": [], "files": [], "project_root": str(tmp_path),
               "padding": "y" * 200_000}
        _cache.store(cache, "k" * 64, big, 0)
        assert sorted(p.name for p in cache.iterdir()) == ["secret"]
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_non_utf8_file_name_in_the_project(tmp_path):
    project = _project(tmp_path, "import json\n")
    (project / os.fsdecode(b"bad\xff.txt")).write_text("x")
    cache = tmp_path / "cache"
    first = _trace(project, cache)
    second = _trace(project, cache)
    assert first.ok and second.cached


def test_static_cache_is_keyed_on_content(tmp_path):
    project = _project(tmp_path, "def f():\n    import yaml\n")
    cache = tmp_path / "cache"
    assert "yaml" in _names(_trace(project, cache))
    # Same size, same mtime, other import: only the content tells them apart.
    (project / "main.py").write_text("def f():\n    import pytz\n")
    os.utime(project / "main.py", (OLD, OLD))
    names = _names(_trace(project, cache))
    assert "pytz" in names and "yaml" not in names


def test_static_cache_damaged_entries_are_misses(tmp_path):
    project = _project(tmp_path, "def f():\n    import yaml\n")
    cache = tmp_path / "cache"
    _trace(project, cache)
    (static,) = cache.glob("static-*.json")
    entries = json.loads(static.read_text())
    static.write_text(json.dumps({key: [[5, "x", None, [], 7]] for key in entries}))
    for trace_file in cache.glob("trace-*.json"):
        trace_file.unlink()
    assert "yaml" in _names(_trace(project, cache))


def test_a_file_edited_during_the_run_is_not_cached(tmp_path):
    project = _project(tmp_path, "import time\nimport helper\ntime.sleep(1.5)\n",
                       **{"helper.py": "import json\n"})
    cache = tmp_path / "cache"

    def edit() -> None:
        (project / "helper.py").write_text("import csv\n")

    _edited_during_the_run(project, cache, edit)


def _edited_during_the_run(project: Path, cache: Path, edit: Callable[[], None]) -> None:
    """`edit` runs while the dry run does (after the child imported helper, before it ends): the next
    trace is not a cache hit, and sees the edit."""

    def later() -> None:
        time.sleep(0.8)
        edit()

    editor = threading.Thread(target=later)
    editor.start()
    assert _trace(project, cache).ok
    editor.join()
    second = _trace(project, cache)
    assert not second.cached and "csv" in _names(second)


@pytest.mark.parametrize("damage", ["no entry", "modules a number", "module without a name", "entry a list"])
def test_a_damaged_trace_inside_a_good_entry_is_a_miss(tmp_path, damage):
    project = _project(tmp_path, "import json\n")
    cache = tmp_path / "cache"
    _trace(project, cache)
    (entry,) = cache.glob("trace-*.json")
    document = json.loads(entry.read_text())
    trace = document["trace"]
    if damage == "no entry":
        del trace["entry"]
    elif damage == "modules a number":
        trace["modules"] = 5
    elif damage == "module without a name":
        del trace["modules"][0]["name"]
    else:
        trace["entry"] = ["main.py"]
    entry.write_text(json.dumps(document))
    again = _trace(project, cache)
    assert again.ok and not again.cached and "json" in _names(again)


def _bundle(project: Path, cache_home: Path) -> subprocess.CompletedProcess[str]:
    from helpers import run_cli

    return run_cli("bundle", "main.py", "-o", "out.zip", cwd=project, env={"XDG_CACHE_HOME": str(cache_home)})


def test_a_bundle_entry_without_its_summary_is_a_miss(tmp_path):
    project = _project(tmp_path, "import json\n")
    (project / ".git").mkdir()
    assert _bundle(project, tmp_path).returncode == 0
    (saved,) = (tmp_path / "basilisk-trace").glob("bundle-*.json")
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    document = json.loads(saved.read_text())
    del document["summary"]
    saved.write_text(json.dumps(document))
    again = _bundle(project, tmp_path)
    assert again.returncode == 0 and "Traceback" not in again.stderr and "wrote" in again.stdout, again.stderr


def test_a_full_cache_disk_leaves_no_temporary_file_of_bundle(tmp_path):
    disk = tmp_path / "full"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        project = _project(tmp_path, "import json\n")
        (project / ".git").mkdir()
        assert _bundle(project, disk).returncode == 0  # the trace is kept, with room to spare
        # Then the disk fills up (the open itself fails when the trace left no room).
        with contextlib.suppress(OSError), open(disk / "filler", "wb") as filler:
            while True:
                filler.write(b"\0" * 4096)
                filler.flush()
        from helpers import run_cli

        # Another output: the trace is reused (nothing to write), the bundle's own entry cannot be written.
        done = run_cli("bundle", "main.py", "-o", str(tmp_path / "other.zip"), cwd=project,
                       env={"XDG_CACHE_HOME": str(disk)})
        assert done.returncode == 0, done.stderr
        left = [p.name for p in (disk / "basilisk-trace").iterdir() if p.name.endswith(".tmp")]
        assert left == []
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_an_edit_with_its_mtime_set_back_is_not_a_stale_hit(tmp_path):
    project = _project(tmp_path, "import time\nimport helper\ntime.sleep(1.5)\n", **{"helper.py": "import json\n"})
    cache = tmp_path / "cache"
    helper = project / "helper.py"
    stamp = helper.stat()

    def edit() -> None:
        helper.write_text("import csv\n")
        os.utime(helper, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # as a tool restoring stamps does

    _edited_during_the_run(project, cache, edit)


def test_a_truncated_secret_does_not_turn_the_cache_off(tmp_path):
    project = _project(tmp_path, "import json\n")
    cache = tmp_path / "cache"
    _trace(project, cache)
    (cache / "secret").write_bytes(b"short")
    assert not _trace(project, cache).cached  # the old entries were keyed with the old secret
    assert len((cache / "secret").read_bytes()) == 32
    assert _trace(project, cache).cached
