"""What a canister's init costs (Wasm instructions in the pinned WASI CPython), built both ways.

Real programs in their layouts: the example canister, the ORM canisters of the fixtures and the
two-canister project, a hello world with ic-python-logging, and a generated 200-module project whose
entry uses its modules at init, and the same project with genproject's own entry, which uses them only
in a method. Ours ships code objects for the runtime's CPython (3.13) of the modules its init runs;
verify measures them as they run where the magic number matches (compiled by its WASI CPython 3.12
from the sources in the Wasm's custom section first). The last tests prove the other paths: another
magic number, a tracing interpreter of another version, a Wasm without the section.
"""

from __future__ import annotations

import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from canister_builds import WAYS, build, verify_wasm, write_template
from helpers import CLI, ROOT

from basilisk_trace.base.launch import run_child
from basilisk_trace.bundler.check.verify import GUEST_SCRIPTS, runtime_layer_json
from basilisk_trace.bundler.check.wasi import compile_in_wasi, run_python_source_in_wasi
from basilisk_trace.bundler.format.wasm import Module, SectionId
from basilisk_trace.bundler.format.wasm.custom import read_custom_section
from basilisk_trace.bundler.format.wasm.slots import read_slot
from basilisk_trace.bundler.write.canister_source import (
    BOOTSTRAP_SECTION,
    BUNDLE_SECTION,
    code_python,
    read_canister_source,
    render_canister_source,
    rewrite,
)
from basilisk_trace.bundler.write.code_objects import CodeItem, CompiledCode

sys.path.insert(0, str(ROOT / "benchmarks"))
from genproject import generate  # noqa: E402

PROJECTS = ROOT / "tests" / "projects"
# (name, project, entry, options of ours): each program as its user builds it.
PROGRAMS = [
    ("example", ROOT / "examples" / "canister", "main.py", ("--exercise",)),
    ("orm fixture", ROOT / "fixtures" / "ic_python_db_canister", "main.py", ("--exercise",)),
    ("notes (ORM, plugins)", PROJECTS / "dfx_two_canisters", "notes.py", ("--include", "notes_lib.plugins")),
    ("hello, ic-python-logging", PROJECTS / "hello_logging", "main.py", ()),
    ("200 modules", None, "main.py", ()),
    ("200 modules, used in a method", None, "main.py", ()),
]


def importing_main(root: Path) -> str:
    """The generated project's entry, using every module it imports at init, as a canister that
    registers its entities does (Realms' entry imports its models). Its own main.py imports the
    package but uses it only inside a method: both loaders are lazy, so nothing of it runs at init
    (python -m basilisk's runs every module at the first call instead)."""
    leaves = sorted(p for p in (root / "app").rglob("mod*.py"))
    names = [".".join(p.relative_to(root).with_suffix("").parts) for p in leaves]
    lines = [f"from {name} import Record as Record{i}" for i, name in enumerate(names)]
    return ('"""Generated canister entry: uses its modules at init."""\n' + "\n".join(lines) + "\n\n"
            "from basilisk import query, nat\n\n\n@query\ndef records() -> nat:\n"
            f"    return {len(names)}\n")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("init-cost")
    main = generate(work / "generated", 200)
    main.write_text(importing_main(main.parent), encoding="utf-8")
    generate(work / "generated-own-main", 200)
    return work


@pytest.fixture(scope="module")
def costs(work: Path) -> dict[str, dict[str, int]]:
    """init_instructions of each program, by builder, from verify --wasm --runtime wasi --json -."""
    template = write_template(work)
    found: dict[str, dict[str, int]] = {}
    for name, project, entry, options in PROGRAMS:
        source = project or work / ("generated-own-main" if "method" in name else "generated")
        for way in WAYS:
            wasm = build(source, work, way, *(options if way == WAYS[0] else ()), template=template, entry=entry)
            code, document, stderr = verify_wasm(wasm, "--runtime", "wasi")
            assert code == 0, stderr
            found.setdefault(name, {})[way] = document["cost"]["init_instructions"]
    return found


@pytest.mark.parametrize("program", [p[0] for p in PROGRAMS])
def test_ours_costs_no_more_at_init(costs: dict[str, dict[str, int]], program: str) -> None:
    ours, theirs = costs[program][WAYS[0]], costs[program][WAYS[1]]
    assert 0 < ours <= theirs, costs[program]


def test_a_large_program_costs_far_less(costs: dict[str, dict[str, int]]) -> None:
    ours, theirs = costs["200 modules"][WAYS[0]], costs["200 modules"][WAYS[1]]
    assert ours <= 0.6 * theirs, costs["200 modules"]


@pytest.fixture(scope="module")
def example(work: Path) -> tuple[str, bytes, str]:
    """Our example canister: its python_source, and the bundle and loader source of its custom sections."""
    wasm = build(ROOT / "examples" / "canister", work / "example", WAYS[0], "--exercise",
                 template=write_template(work))
    module = Module.parse(wasm.read_bytes())
    source, bundle = read_slot(module, "python_source"), read_custom_section(module, BUNDLE_SECTION)
    bootstrap = read_custom_section(module, BOOTSTRAP_SECTION)
    assert source is not None and bundle and bootstrap
    return source.decode(), bundle, zlib.decompress(bootstrap).decode()


CALLS = [("add_note", ["first", 3]), ("count_notes", []), ("transform", ["upper", "hi"])]
ANSWERS = [["add_note", "1"], ["count_notes", 1], ["transform", "HI"]]


def test_only_what_init_runs_ships_compiled(example: tuple[str, bytes, str]) -> None:
    source, _, _ = example
    found = read_canister_source(source)
    assert found is not None and found.python == code_python(source) == "3.13"
    compiled = {name for name, content in found.files.items() if content is None}
    assert "ic_python_db/entity.py" in compiled and "ic_python_logging/__init__.py" in compiled
    # The sources of what runs at init are in the custom section only; the manifest too.
    assert "class Entity" not in source and "basilisk-bundle.json" not in found.files


def test_another_magic_number_says_so_and_verify_compiles_the_sections_sources(
        example: tuple[str, bytes, str], wasi_cache: Path) -> None:
    # Code objects for CPython 3.13 in the WASI CPython 3.12: the init says what to do.
    source, bundle, bootstrap = example
    ran = run_python_source_in_wasi(source, CALLS, cache_dir=wasi_cache)
    assert ran["failure"] is not None and "magic number" in ran["failure"]["error"]
    # The fallback: every source, from the custom section, compiled where it runs.
    sources_only = rewrite(source, bundle, bootstrap, None)
    assert sources_only is not None and code_python(sources_only) is None
    ran = run_python_source_in_wasi(sources_only, CALLS, cache_dir=wasi_cache)
    assert ran["failure"] is None and ran["answers"] == ANSWERS
    assert "ic_python_db.entity" in ran["compiled"] and "ic_python_logging" in ran["compiled"]


def test_a_matching_magic_number_compiles_nothing_at_init(example: tuple[str, bytes, str], wasi_cache: Path) -> None:
    source, bundle, bootstrap = example
    made: list[CompiledCode] = []

    def in_wasi(items: list[CodeItem]) -> CompiledCode:
        made.append(compile_in_wasi(items, cache_dir=wasi_cache))
        return made[-1]

    retargeted = rewrite(source, bundle, bootstrap, in_wasi)
    assert retargeted is not None and code_python(retargeted) == "3.12" and made[0].python == "3.12"
    ran = run_python_source_in_wasi(retargeted, CALLS, cache_dir=wasi_cache)
    assert ran["failure"] is None and ran["answers"] == ANSWERS
    assert ran["compiled"] == []


def _on_host(source: str, folder: Path) -> dict[str, object]:
    path = folder / "python_source.py"
    path.write_text(source)
    config = {"program": str(path), "runtime_layer": runtime_layer_json(preamble=True), "calls": CALLS}
    run = run_child("canister_init", config, scripts=GUEST_SCRIPTS, python=sys.executable, flags=("-I", "-S", "-B"),
                    cwd=folder, timeout=120, visible=[folder])
    assert run.result is not None, run.stderr_tail
    return run.result


def test_on_the_host_the_magic_number_decides(example: tuple[str, bytes, str], tmp_path: Path) -> None:
    source, bundle, bootstrap = example
    assert _on_host(source, tmp_path)["compiled"] == []  # this interpreter's: nothing compiled at init
    wrong = source.replace(repr(read_canister_source(source).magic), repr(b"\x00\x00\r\n"), 1)  # type: ignore[union-attr]
    failed = _on_host(wrong, tmp_path)["failure"]
    assert failed is not None and "magic number" in failed["error"]  # type: ignore[index]
    ran = _on_host(rewrite(wrong, bundle, bootstrap, None) or "", tmp_path)
    assert ran["failure"] is None and ran["answers"] == ANSWERS and "ic_python_db.entity" in ran["compiled"]  # type: ignore[operator]


def test_a_tracing_interpreter_of_another_version_ships_sources(example: tuple[str, bytes, str], tmp_path: Path) -> None:
    source, bundle, _ = example
    entry = (ROOT / "examples" / "canister" / "main.py").read_text()
    other = render_canister_source(bundle, entry, python="3.99", init=["ic_python_db/entity.py"])
    found = read_canister_source(other)
    assert found is not None and found.python is None and None not in found.files.values()
    ran = _on_host(other, tmp_path)
    assert ran["failure"] is None and ran["answers"] == ANSWERS and "ic_python_db.entity" in ran["compiled"]  # type: ignore[operator]


def test_verify_names_the_missing_section(work: Path, tmp_path: Path) -> None:
    wasm = build(ROOT / "examples" / "canister", work / "stripped", WAYS[0], template=write_template(work))
    module = Module.parse(wasm.read_bytes())
    module.sections = [s for s in module.sections if s.id != SectionId.CUSTOM or not bytes(s.content).startswith(
        bytes([len(BUNDLE_SECTION)]) + BUNDLE_SECTION.encode())]
    stripped = tmp_path / "stripped.wasm"
    stripped.write_bytes(module.to_bytes())
    done = subprocess.run([CLI, "verify", "--wasm", str(stripped), "--runtime", "wasi"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode != 0 and BUNDLE_SECTION in done.stderr and "Traceback" not in done.stderr
    code, document, _ = verify_wasm(stripped)  # on the host, whose magic number matches, it runs
    assert code == 0, document
