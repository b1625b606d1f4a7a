"""A command run again with nothing changed is replayed: same output, nothing written, no dry run.

Each change to something the outputs depend on must build again instead: the entry, a module
only --include brings, a source ic-basilisk's build reads but the program never imports, the
template, a settings file above the entry, an output on disk, the environment.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from helpers import CLI, FIXTURES
from wasm_templates import IC_BASILISK_TEMPLATE, compile_wat

from basilisk_trace import tracer
from basilisk_trace.bundler.cli import replay
from basilisk_trace.tracer import _cache

MAIN = '''from basilisk import query, text

import helpers


@query
def greet(name: text) -> text:
    return helpers.greeting(name)
'''


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    app = root / "src" / "app"
    app.mkdir(parents=True)
    (root / "dfx.json").write_text('{"canisters": {}}\n')
    (app / "main.py").write_text(MAIN)
    (app / "helpers.py").write_text("def greeting(name):\n    return 'hello ' + name\n")
    (app / "unused.py").write_text("from basilisk import query, text\n")  # read by ic-basilisk's build only
    (root / "template.wasm").write_bytes(compile_wat(IC_BASILISK_TEMPLATE))
    return root


def build(project: Path, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "XDG_CACHE_HOME": str(project.parent / "cache"),
            "BASILISK_TEMPLATE_WASM": str(project / "template.wasm"),
            "CANISTER_CANDID_PATH": ".basilisk/app/app.did", **env}
    done = subprocess.run([CLI, "canister", "app", "src/app/main.py", *extra], cwd=project, capture_output=True,
                          text=True, timeout=300, env=full)
    assert done.returncode == 0, done.stderr
    return done


def stamp(project: Path) -> tuple[int, ...]:
    return tuple(p.stat().st_mtime_ns for p in (project / ".basilisk/app/app.wasm", project / ".basilisk/app/app.did"))


def records(project: Path) -> list[Path]:
    return sorted((project.parent / "cache" / "basilisk-trace").glob("replay-*.json"))


def test_a_rebuild_with_nothing_changed_is_replayed(project: Path) -> None:
    first = build(project)
    build(project)  # the trace is now reused, and its run remembered
    before = stamp(project)
    again = build(project)
    assert (again.stdout, again.stderr) == (first.stdout, first.stderr)
    assert stamp(project) == before  # nothing written
    assert len(records(project)) == 1


@pytest.mark.parametrize("change", [
    "entry", "helper", "read_by_build", "template", "pyproject", "wasm", "did", "python_source", "new_source",
])
def test_a_change_builds_again(project: Path, change: str) -> None:
    build(project)
    build(project)
    before = stamp(project)
    app = project / "src" / "app"
    if change == "entry":
        (app / "main.py").write_text(MAIN + "\n\n@query\ndef other() -> text:\n    return 'x'\n")
    elif change == "helper":
        (app / "helpers.py").write_text("def greeting(name):\n    return 'hi ' + name\n")
    elif change == "read_by_build":  # never imported: only ic-basilisk's method extraction reads it
        (app / "unused.py").write_text("from basilisk import query, text\n\n\n@query\ndef more() -> text:\n    return ''\n")
    elif change == "template":
        body = b"\x06custom" + b"data"  # a custom section: a template as valid as before, other bytes
        (project / "template.wasm").write_bytes((project / "template.wasm").read_bytes() + bytes([0, len(body)]) + body)
    elif change == "pyproject":
        (project / "pyproject.toml").write_text('[tool.basilisk-trace]\nexclude = ["nothing"]\n')
    elif change == "wasm":
        (project / ".basilisk/app/app.wasm").write_bytes(b"\0asm")
    elif change == "did":
        (project / ".basilisk/app/app.did").unlink()
    elif change == "python_source":
        (project / ".basilisk/app/python_source/extra.py").write_text("")
    elif change == "new_source":
        (project / "src" / "other").mkdir()
        (project / "src" / "other" / "main.py").write_text("x = 1\n")
    build(project)
    assert stamp(project) != before


def test_another_environment_is_another_record(project: Path) -> None:
    build(project)
    build(project)
    build(project, CANISTER_CANDID_PATH=".basilisk/app/other.did")
    assert (project / ".basilisk/app/other.did").exists()  # built, not replayed from the first record
    assert len(records(project)) == 2


def test_a_damaged_record_builds_as_usual(project: Path) -> None:
    build(project)
    build(project)
    for record in records(project):
        record.write_text("{not json")
    before = stamp(project)
    build(project)
    assert stamp(project) != before


def test_records_hold_no_plain_digest_of_what_was_read(project: Path) -> None:
    import hashlib

    build(project)
    build(project)
    text = records(project)[0].read_text()
    for source in (project / "src" / "app").glob("*.py"):
        data = source.read_bytes()
        assert hashlib.sha256(data).hexdigest() not in text and hashlib.blake2b(data, digest_size=20).hexdigest() not in text


def test_replay_tests_a_trace_as_the_trace_cache_does(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "dynamic_import", project, ignore=shutil.ignore_patterns("__pycache__", "no_gamma"))
    cache = tmp_path / "cache"
    for _ in range(3):  # a trace is not cached when a file it read changed while it ran (the suite runs on)
        assert tracer.trace(project / "main.py", tracer.DryRunOptions(cache_dir=cache)).ok
        if list(cache.glob("trace-*.json")):
            break
    key = next(cache.glob("trace-*.json")).name[6:-5]
    fingerprint = _cache.saved_fingerprint(cache, key)
    secret = _cache._secret(cache)
    assert fingerprint is not None and secret is not None

    def agree() -> bool:
        ours, theirs = replay.trace_holds(fingerprint, secret), _cache._still_valid(fingerprint, secret)
        assert ours == theirs
        return ours

    assert agree()
    (project / ".hidden").write_text("")  # a dot-name is never imported
    assert agree()
    (project / "plugins" / "delta.py").write_text("")
    assert not agree()
    (project / "plugins" / "delta.py").unlink()
    assert agree()
    (project / "plugins" / "alpha.py").write_text("def run():\n    return 'changed'\n")
    assert not agree()
    assert not replay.trace_holds({**fingerprint, "modes": {}}, secret)  # a kind it does not know


def test_replay_digests_files_as_the_trace_cache_does(tmp_path: Path) -> None:
    # A FIFO is described, never opened for reading (that would block); so is a folder.
    secret = b"k" * 32
    (tmp_path / "file").write_bytes(b"content")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    for name in ("file", "fifo", "missing"):
        path = str(tmp_path / name)
        assert replay.digest(path, secret) == _cache._digest(path, secret), name
    assert replay.digest(str(tmp_path / "folder"), secret) == f"{stat.S_IFDIR}:{(tmp_path / 'folder').stat().st_size}"
    assert replay.listing(str(tmp_path), secret, dots=False) == _cache._listing(str(tmp_path), secret)


def test_a_replayed_bundle_and_trace(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    entry = FIXTURES / "ic_python_db_canister" / "main.py"
    for command in (["trace", str(entry)], ["bundle", str(entry), "-o", str(tmp_path / "b.zip")]):
        runs = [subprocess.run([CLI, *command], capture_output=True, text=True, timeout=300, env=env) for _ in range(3)]
        assert all(r.returncode == 0 for r in runs)
        assert (runs[2].stdout, runs[2].stderr) == (runs[1].stdout, runs[1].stderr)
    saved = [json.loads(p.read_text()) for p in (tmp_path / "cache" / "basilisk-trace").glob("replay-*.json")]
    assert len(saved) == 2 and all(oct(p.stat().st_mode)[-3:] == "600"
                                   for p in (tmp_path / "cache" / "basilisk-trace").glob("replay-*.json"))


def test_the_entry_point_knows_which_commands_replay() -> None:
    from basilisk_trace.bundler.cli import app

    assert app._REPLAYED == replay.COMMANDS


def test_a_record_that_is_a_fifo_is_a_miss_not_a_hang(project: Path) -> None:
    build(project)
    build(project)
    for record in records(project):
        record.unlink()
        os.mkfifo(record)
    before = stamp(project)
    build(project)  # within the test's timeout: the FIFO is never opened for a blocking read
    assert stamp(project) != before
