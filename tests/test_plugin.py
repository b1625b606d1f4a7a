"""basilisk-trace as a plugin of the real ic-basilisk CLI (entry-point group basilisk.commands)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers import FIXTURES

BASILISK = str(Path(sys.executable).with_name("basilisk"))


def basilisk(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BASILISK, *map(str, args)], capture_output=True, text=True, timeout=240)


def test_help_lists_the_commands():
    done = basilisk("help")
    for command in ("trace", "bundle", "verify", "why"):
        assert any(line.split()[:1] == [command] and "basilisk-trace" in line
                   for line in done.stdout.splitlines()), done.stdout


def test_basilisk_trace(tmp_path):
    done = basilisk("trace", FIXTURES / "dynamic_import" / "main.py", "--json", tmp_path / "t.json")
    assert done.returncode == 0, done.stderr
    assert "plugins.alpha" in done.stdout and (tmp_path / "t.json").exists()


def test_basilisk_bundle_and_verify(tmp_path):
    out = tmp_path / "b.zip"
    # cpython-wasi: the basilisk runtime has no importlib package, which this fixture uses.
    assert basilisk("bundle", FIXTURES / "dynamic_import" / "main.py", "-o", out,
                    "--target", "cpython-wasi").returncode == 0
    done = basilisk("verify", "--bundle", out)
    assert done.returncode == 0 and done.stdout.startswith("verify: ok"), done.stderr


def test_basilisk_plugin_errors_are_one_line(tmp_path):
    done = basilisk("bundle", tmp_path / "missing.py")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("basilisk-trace: error:")
