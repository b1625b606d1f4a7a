"""What each canister's init costs, both builders side by side in one run: Wasm instructions (wasmtime
fuel) in the WASI CPython verify pins, above the interpreter's start and the runtime layer.

Columns: python -m basilisk's canister; ours before (the same traced bundle with sources only, the
python_source `canister` wrote before code objects: the bootstrap and every module compiled at init);
ours after (code objects for the runtime's CPython, measured where the magic number matches: the same
sources compiled by the WASI CPython first); and the dearest call with --exercise of theirs and ours.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "benchmarks")]
from bench_trace import write_results  # noqa: E402
from canister_builds import WAYS, build, write_template  # noqa: E402
from genproject import generate  # noqa: E402
from test_init_cost import importing_main  # noqa: E402

from basilisk_trace.bundler.check.canister import verify_canister_in_wasi  # noqa: E402
from basilisk_trace.bundler.check.cost import Cost  # noqa: E402
from basilisk_trace.bundler.format.wasm import Module  # noqa: E402
from basilisk_trace.bundler.format.wasm.slots import read_slot  # noqa: E402
from basilisk_trace.bundler.pipeline.verify_wasm import methods_of  # noqa: E402
from basilisk_trace.bundler.write.basilisk_source import retarget_code  # noqa: E402
from basilisk_trace.bundler.write.code_objects import CompiledCode  # noqa: E402
from basilisk_trace.tracer import default_cache_dir  # noqa: E402

PROJECTS = ROOT / "tests" / "projects"


def programs(work: Path) -> list[tuple[str, Path, str, tuple[str, ...]]]:
    lazy = generate(work / "generated-own-main", 200).parent
    eager = generate(work / "generated", 200)
    eager.write_text(importing_main(eager.parent), encoding="utf-8")
    return [
        ("examples/canister", ROOT / "examples" / "canister", "main.py", ("--exercise",)),
        ("fixtures/ic_python_db_canister", ROOT / "fixtures" / "ic_python_db_canister", "main.py", ("--exercise",)),
        ("dfx_two_canisters notes (ORM)", PROJECTS / "dfx_two_canisters", "notes.py", ("--include", "notes_lib.plugins")),
        ("hello world, ic-python-logging", PROJECTS / "hello_logging", "main.py", ()),
        ("200 modules, used at init", eager.parent, "main.py", ()),
        ("200 modules, genproject's main", lazy, "main.py", ()),
    ]


def measure(wasm: Path, source: str | None = None) -> Cost:
    module = Module.parse(wasm.read_bytes())
    text = source if source is not None else (read_slot(module, "python_source") or b"").decode()
    result = verify_canister_in_wasi(text, methods_of(wasm, read_slot(module, "method_meta")),
                                     cache_dir=default_cache_dir() / "wasi", timeout=600)
    assert result.cost is not None, result.failures  # python -m basilisk's may fail at a call (a plugin missing)
    return result.cost


def sources_only(wasm: Path) -> str:
    text = (read_slot(Module.parse(wasm.read_bytes()), "python_source") or b"").decode()
    return retarget_code(text, lambda items: CompiledCode(b"", "", b"")).replace(
        "_basilisk_code_magic = b''  # CPython \n", "_basilisk_code_magic = b''\n") if "# CPython" in text else text


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-init-") as tmp:
        work = Path(tmp)
        template = write_template(work)
        for name, project, entry, options in programs(work):
            theirs_wasm = build(project, work / "theirs", WAYS[1], template=template, entry=entry)
            ours_wasm = build(project, work / "ours", WAYS[0], *options, template=template, entry=entry)
            theirs, before, after = measure(theirs_wasm), measure(ours_wasm, sources_only(ours_wasm)), measure(ours_wasm)
            rows.append({"program": name, "theirs": theirs.init_instructions, "ours_before": before.init_instructions,
                         "ours_after": after.init_instructions,
                         "theirs_dearest_call": max((m.instructions for m in theirs.methods), default=0),
                         "ours_dearest_call": max((m.instructions for m in after.methods), default=0)})
    print(f"{'program':34} {'python -m basilisk':>19} {'ours before':>12} {'ours after':>11} {'after/theirs':>13}"
          f" {'dearest call: theirs':>21} {'ours':>8}")
    for row in rows:
        print(f"{row['program']:34} {row['theirs'] / 1e9:17.3f} B {row['ours_before'] / 1e9:10.3f} B "
              f"{row['ours_after'] / 1e9:9.3f} B {row['ours_after'] / row['theirs']:12.2f}x "
              f"{row['theirs_dearest_call'] / 1e9:19.3f} B {row['ours_dearest_call'] / 1e9:6.3f} B")
    print("B: billions of Wasm instructions above the interpreter's start and the runtime layer (WASI CPython 3.12)")
    write_results("bench_init", {"rows": rows})


if __name__ == "__main__":
    main()
