"""What each canister's init costs, both builders side by side in one run: Wasm instructions (wasmtime
fuel) in the WASI CPython verify pins, above the interpreter's start and the runtime layer, with the
python_source's bytes (what init parses) and the Wasm's bytes (what is uploaded and kept).

Columns: python -m basilisk's canister; ours before (built and measured by basilisk-trace at BASELINE,
main when issue 20's second part began: code objects of every module as hex beside the bundle ZIP);
ours after (this tree). Ours are measured as they run where the code objects' magic number matches
(verify compiles the same sources with its WASI CPython first).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "benchmarks")]
from bench_trace import write_results  # noqa: E402
from canister_builds import WAYS, build, write_template  # noqa: E402
from genproject import generate  # noqa: E402
from helpers import CLI  # noqa: E402
from test_init_cost import importing_main  # noqa: E402

from basilisk_trace.bundler.format.wasm import Module  # noqa: E402
from basilisk_trace.bundler.format.wasm.slots import read_slot  # noqa: E402

BASELINE = "64700fc"
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
        ("200 modules, used in a method", lazy, "main.py", ()),
    ]


def baseline_cli(work: Path) -> str:
    """basilisk-trace as it was at BASELINE, from this repository's history, run by this interpreter."""
    package = work / "baseline" / "basilisk_trace"
    package.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASELINE], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(package)], input=archive, check=True)
    script = work / "baseline" / "basilisk-trace"
    script.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(package.parent)!r})\n"
                      "from basilisk_trace.bundler.cli.app import main\nsys.exit(main())\n", encoding="utf-8")
    script.chmod(0o755)
    return str(script)


def measure(cli: str, wasm: Path) -> dict[str, int]:
    """init instructions (verify --wasm --runtime wasi of `cli`), python_source bytes, Wasm bytes."""
    done = subprocess.run([cli, "verify", "--wasm", str(wasm), "--runtime", "wasi", "--timeout", "600", "--json", "-"],
                          capture_output=True, text=True, timeout=900, env=dict(os.environ))
    document: dict[str, Any] = json.loads(done.stdout)
    source = read_slot(Module.parse(wasm.read_bytes()), "python_source") or b""
    return {"init": document["cost"]["init_instructions"], "source": len(source), "wasm": wasm.stat().st_size}


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-init-") as tmp:
        work = Path(tmp)
        template, before_cli = write_template(work), baseline_cli(work)
        for name, project, entry, options in programs(work):
            theirs = build(project, work / "theirs", WAYS[1], template=template, entry=entry)
            before = build(project, work / "before", WAYS[0], *options, template=template, entry=entry, cli=before_cli)
            after = build(project, work / "after", WAYS[0], *options, template=template, entry=entry)
            rows.append({"program": name, "theirs": measure(CLI, theirs), "before": measure(before_cli, before),
                         "after": measure(CLI, after)})
    print(f"{'program':31} {'init (B): theirs':>16} {'before':>7} {'after':>7} {'after/theirs':>12}   "
          f"{'python_source (KB): theirs':>26} {'before':>7} {'after':>6}   {'Wasm (KB): theirs':>17} {'before':>7} "
          f"{'after':>6}")
    for row in rows:
        t, b, a = row["theirs"], row["before"], row["after"]
        print(f"{row['program']:31} {t['init'] / 1e9:16.3f} {b['init'] / 1e9:7.3f} {a['init'] / 1e9:7.3f} "
              f"{a['init'] / t['init']:11.2f}x   {t['source'] / 1e3:26.0f} {b['source'] / 1e3:7.0f} "
              f"{a['source'] / 1e3:6.0f}   {t['wasm'] / 1e3:17.0f} {b['wasm'] / 1e3:7.0f} {a['wasm'] / 1e3:6.0f}")
    print("B: billions of Wasm instructions above the interpreter's start and the runtime layer (WASI CPython 3.12); "
          f"before: basilisk-trace at {BASELINE}")
    write_results("bench_init", {"baseline": BASELINE, "rows": rows})


if __name__ == "__main__":
    main()
