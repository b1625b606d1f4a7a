"""Real-shaped projects, laid out as their repositories are: each builds with `canister` and runs from its Wasm.

tests/projects/real_layouts/ holds small programs shaped like public Basilisk and Kybra projects
(the repository root above src/ with dfx.json or icp.yaml, the canister at src/NAME/main.py,
guarded self-imports under the repository's name, kybra-era dependencies from PyPI that try
`import kybra`), written for these tests. Each is built from its root as its dfx.json or
icp.yaml builds it, with `canister` in place of `python -m basilisk`; its python_source is read
back out of the Wasm and run as the template's init runs it, in the WASI CPython, and must
answer as the program does on the host.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from canister_e2e import CALLS, IC_API, ROOT, STUBS
from helpers import CLI
from wasm_templates import IC_BASILISK_TEMPLATE, compile_wat, read_slot

from basilisk_trace.bundler.check.wasi import run_python_source_in_wasi

LAYOUTS = ROOT / "tests" / "projects" / "real_layouts"
# The program on the host, in its full environment, with the runtime's stand-in basilisk first.
ON_HOST = CALLS + f'''
import os
root, entry, calls = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path[:0] = [{str(STUBS)!r}, os.path.dirname(entry), root]
setup_ic({str(IC_API)!r})
module = importlib.import_module(os.path.basename(entry)[:-3])
answers = []
for name, args in calls:
    try:
        answers.append([name, getattr(module, name)(*args)])
    except Exception as exc:
        answers.append([name, f"raised {{type(exc).__name__}}: {{exc}}"])
print(json.dumps(answers, default=repr))
'''


@dataclass(frozen=True)
class Layout:
    """One canister of a real-shaped project: where its build runs, what it is called, what to ask it."""

    project: str  # folder under tests/projects/real_layouts
    canister: str
    entry: str  # as the project's dfx.json or icp.yaml passes it, from `root`
    calls: list[tuple[str, list[Any]]]
    root: str = "."  # the folder holding dfx.json or icp.yaml, in the project
    options: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # what stderr must say
    bundled: tuple[str, ...] = ()  # files the bundle must hold
    left_out: tuple[str, ...] = ()  # files it must not

    def __str__(self) -> str:
        return f"{self.project}:{self.canister}"


REALMS = Layout(
    "realms", "realm_backend", "src/realm_backend/main.py",
    [("setup", ["Atlantis", "All for one"]), ("fund", ["main", 5]), ("fund", ["main", 7]), ("name", []),
     ("status", []), ("quarter", ["north"])],
    # `from realm_backend.ggg import ...` is the repository's host-test layout, a fallback that never runs.
    warnings=("warning: realm_backend, realm_backend.ggg (imported by main -> core.", "did not run, so they are left out"),
    bundled=("ggg/__init__.py", "ggg/finance/treasury.py", "ic_python_db/__init__.py", "pprint.py", "types.py"),
    left_out=("realm_backend/__init__.py",),
)
LAYOUTS_BUILT = [
    REALMS,
    # kybra-simple-vault, ported by changing `kybra` to `basilisk` in its own imports only: its PyPI
    # dependencies still try `from kybra import ic`; `from pprint import pformat` ships pprint.
    Layout("vault", "vault", "src/vault/main.py",
           [("deposit", ["alice", 5]), ("deposit", ["alice", 7]), ("get_balance", ["alice"]),
            ("get_balance", ["bob"]), ("status", [])],
           bundled=("vault/candid_types.py", "kybra_simple_db/__init__.py", "kybra_simple_logging/_handler.py",
                    "pprint.py", "types.py")),
    # kybra-simple-shell's test canister: dfx.json in tests/, `from tests import test_functions`.
    Layout("shell", "test", "src/main.py", [("greet", []), ("escaped", []), ("execute_code", ["1 + 1"])],
           root="tests", options=("--exercise",),
           warnings=("_ast is native code the basilisk target lacks", "ast (tests.test_functions)"),
           bundled=("tests/__init__.py", "tests/test_functions.py"), left_out=("ast.py",)),
    # ic-basilisk's examples: icp.yaml at the root, src/main.py, stdlib modules the runtime lacks.
    Layout("icp_stdlib", "stdlib", "src/main.py",
           [("test_base64", []), ("test_colorsys", []), ("test_heapq", []), ("test_json", []), ("test_urllib", [])],
           bundled=("colorsys.py", "heapq.py"), left_out=("base64.py", "json/__init__.py")),
    # Two canisters sharing src/common, imported from the project root as ic-basilisk's own tests do.
    Layout("monorepo", "backend", "src/backend/main.py", [("price", ["12.3"]), ("price", ["7"])],
           bundled=("src/common/money.py",)),
    Layout("monorepo", "worker", "src/worker/main.py", [("add", [5]), ("add", [1])], bundled=("src/common/money.py",)),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.wasm"
    path.write_bytes(compile_wat(IC_BASILISK_TEMPLATE))
    return path


def build(project: Path, layout: Layout, template: Path) -> subprocess.CompletedProcess[str]:
    """`basilisk-trace canister NAME ENTRY` from the folder the project's dfx.json or icp.yaml is in."""
    env = {k: v for k, v in os.environ.items() if k not in ("BASILISK_TEMPLATE_WASM", "CANISTER_CANDID_PATH")}
    env.update(BASILISK_TEMPLATE_WASM=str(template),
               CANISTER_CANDID_PATH=f".basilisk/{layout.canister}/{layout.canister}.did")
    return subprocess.run([CLI, "canister", layout.canister, layout.entry, *layout.options], cwd=project / layout.root,
                          capture_output=True, text=True, timeout=300, env=env)


def python_source(root: Path, name: str) -> str:
    """Our canister's python_source with every module as source (from its custom sections): the WASI
    CPython 3.12 cannot run the 3.13 code objects it ships."""
    import zlib

    from basilisk_trace.bundler.format.wasm import Module
    from basilisk_trace.bundler.format.wasm.custom import read_custom_section
    from basilisk_trace.bundler.write.canister_source import (
        BOOTSTRAP_SECTION,
        BUNDLE_SECTION,
        rewrite,
    )

    wasm = (root / ".basilisk" / name / f"{name}.wasm").read_bytes()
    module = Module.parse(wasm)
    bootstrap = zlib.decompress(read_custom_section(module, BOOTSTRAP_SECTION) or b"").decode()
    rewritten = rewrite(read_slot(wasm, "python_source").decode(), read_custom_section(module, BUNDLE_SECTION) or b"",
                        bootstrap, None)
    assert rewritten is not None
    return rewritten


def bundle_names(source: str) -> set[str]:
    from basilisk_trace.bundler.write.canister_source import read_canister_source

    found = read_canister_source(source)
    assert found is not None, "no basilisk-trace block in the python_source"
    return set(found.files)


def on_host(project: Path, layout: Layout) -> list[Any]:
    root = project / layout.root
    done = subprocess.run([sys.executable, "-B", "-c", ON_HOST, str(root), str(root / layout.entry),
                           json.dumps(layout.calls)], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    answers: list[Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answers


@pytest.mark.parametrize("layout", LAYOUTS_BUILT, ids=str)
def test_builds_and_runs_from_its_wasm(layout: Layout, template: Path, tmp_path: Path, wasi_cache: Path) -> None:
    project = tmp_path / layout.project
    shutil.copytree(LAYOUTS / layout.project, project)
    done = build(project, layout, template)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    for warning in layout.warnings:
        assert warning in done.stderr, done.stderr
    source = python_source(project / layout.root, layout.canister)
    names = bundle_names(source)
    assert set(layout.bundled) <= names, sorted(names)
    assert not set(layout.left_out) & names
    expected = on_host(project, layout)
    assert not [a for a in expected if str(a[1]).startswith("raised")], expected
    in_wasi = run_python_source_in_wasi(source, layout.calls, cache_dir=wasi_cache)
    assert in_wasi["failure"] is None, in_wasi["failure"]
    assert in_wasi["answers"] == expected


def test_realms_answers_what_realms_would(template: Path, tmp_path: Path, wasi_cache: Path) -> None:
    project = tmp_path / "realms"
    shutil.copytree(LAYOUTS / "realms", project)
    assert build(project, REALMS, template).returncode == 0
    answers = run_python_source_in_wasi(python_source(project, "realm_backend"), REALMS.calls,
                                        cache_dir=wasi_cache)["answers"]
    assert answers[:4] == [["setup", "Atlantis"], ["fund", 5], ["fund", 12], ["name", '"Atlantis"']]
    assert answers[5] == ["quarter", "north@Atlantis"]
    status = json.loads(answers[4][1])
    assert status["realms"] == ["Atlantis"] and "'balance': 12" in status["treasuries"][0]


def test_realms_from_a_folder_simply_named_realm_backend(template: Path, tmp_path: Path, wasi_cache: Path) -> None:
    # No dfx.json above it: the folder the build runs in is the project; realm_backend is its name outside it.
    folder = tmp_path / "checkout" / "realm_backend"
    shutil.copytree(LAYOUTS / "realms" / "src" / "realm_backend", folder)
    layout = Layout("realms", "realm_backend", "main.py", REALMS.calls)
    done = build(folder, layout, template)
    assert done.returncode == 0, done.stderr
    assert "warning: realm_backend, realm_backend.ggg (imported by main -> core." in done.stderr
    assert f"are in {tmp_path / 'checkout'}, which is not on the import path" in done.stderr
    in_wasi = run_python_source_in_wasi(python_source(folder, "realm_backend"), REALMS.calls, cache_dir=wasi_cache)
    assert in_wasi["failure"] is None and in_wasi["answers"][1:3] == [["fund", 5], ["fund", 12]]


def test_an_unguarded_import_off_the_path_is_still_an_error(template: Path, tmp_path: Path) -> None:
    # The same project code imported without a fallback: the canister would fail at start.
    project = tmp_path / "realms"
    shutil.copytree(LAYOUTS / "realms", project)
    setup = project / "src" / "realm_backend" / "core" / "setup.py"
    setup.write_text(setup.read_text() + "\nfrom realm_backend.ggg import Realm as _Realm  # noqa: E402\n")
    done = build(project, REALMS, template)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [error] = [line for line in done.stderr.splitlines() if line.startswith("basilisk-trace: error: ")]
    assert "realm_backend, realm_backend.ggg" in error and "which is not on the import path" in error
    assert not (project / ".basilisk" / "realm_backend" / "realm_backend.wasm").exists()
