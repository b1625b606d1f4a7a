"""The static pass's import sites from bytecode agree with the AST scan wherever bytecode answers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from basilisk_trace.base.launch import LOADER
from basilisk_trace.tracer._dryrun import CHILD_DIR

Site = tuple[str, tuple[str, ...], int, int, tuple[bool, bool, bool, bool]]


def _child(name: str) -> ModuleType:
    """A child script loaded by path, as the dry run loads it: through the child's own loader."""
    if "_basilisk_trace_load" not in sys.modules:
        spec = importlib.util.spec_from_file_location("_basilisk_trace_load", LOADER)
        assert spec is not None and spec.loader is not None
        loader = importlib.util.module_from_spec(spec)
        sys.modules["_basilisk_trace_load"] = loader
        spec.loader.exec_module(loader)
        loader.DIRS[:] = [str(LOADER.parent), str(CHILD_DIR)]
    module: ModuleType = sys.modules["_basilisk_trace_load"].load(name)
    return module


sites = _child("sites")
static = _child("static")


def by_ast(source: str) -> list[Site]:
    return sorted({(s.module, tuple(s.names), s.level, s.line, (s.type_checking, s.optional, s.function, s.fallback))
                  for s in static.scan_source(source.encode(), "<case>")})


def by_code(source: str) -> list[Site] | None:
    found = sites.from_code(compile(source, "<case>", "exec", dont_inherit=True))
    return None if found is None else sorted(found)


# ---- generated programs: imports nested in every statement that can hold them -------------------

IMPORTS = st.sampled_from([
    "import a", "import a.b as c", "import a, b.c", "from a import b", "from a.b import c as d, e",
    "from . import x", "from ..p import (q,\n    r)", "from .m import *",
])
WRAPPERS = st.sampled_from([
    "def f():\n{body}", "async def f():\n{body}", "class C:\n{body}", "if TYPE_CHECKING:\n{body}",
    "if typing.TYPE_CHECKING:\n{body}", "if TYPE_CHECKING:\n    pass\nelse:\n{body}",
    "if not TYPE_CHECKING:\n{body}", "try:\n{body}\nexcept ImportError:\n    pass",
    "try:\n    pass\nexcept ImportError:\n{body}", "try:\n{body}\nfinally:\n    pass",
    "with open('x') as h:\n{body}", "try:\n{body}\nexcept (ValueError, ImportError):\n    pass",
    "try:\n{body}\nexcept ValueError:\n    pass", "try:\n{body}\nexcept ValueError:\n    pass\nexcept errors.ImportError as e:\n    pass",
    "try:\n{body}\nexcept:\n    pass", "try:\n{body}\nfinally:\n    h.close()",
    "if __name__ == '__main__':\n{body}", "if '__main__' == __name__:\n{body}\nelse:\n{body}",
    "if __name__ == '__main__':\n    pass\nelif x:\n{body}", "class K:\n    if __name__ == '__main__':\n{deeper}",
    "if __name__ == '__main__' and x:\n{body}", "if __name__ == '__main__' or x:\n{body}",
    "x = sys.modules['__main__']\n{body}",
    "try:\n{body}\nfinally:\n    if x:\n        h.close()\n    y = z()",
    "try:\n{body}\nexcept ImportError:\n    pass\nfinally:\n    h.close()",
    "try:\n    pass\nfinally:\n    h.close()\n{body}", "try:\n{body}\nexcept Exception as e:\n    pass\nelse:\n    pass",
    "try:\n    pass\nexcept ValueError:\n{body}\nelse:\n{body}", "try:\n{body}\nexcept* ImportError:\n    pass", "for i in range(3):\n{body}", "while x:\n{body}\n    break",
    "if x:\n{body}", "def g():\n    yield 1\n{body}", "match x:\n    case 1:\n{deeper}",
])


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


@st.composite
def programs(draw: st.DrawFn) -> str:
    statements = []
    for _ in range(draw(st.integers(1, 4))):
        body = draw(IMPORTS)
        for wrapper in draw(st.lists(WRAPPERS, max_size=3)):
            body = wrapper.format(body=_indent(body), deeper=_indent(_indent(body)))
        statements.append(body)
    return "from typing import TYPE_CHECKING\nimport typing\n" + "\n".join(statements) + "\n"


@settings(max_examples=300)
@given(programs())
def test_bytecode_sites_equal_the_ast_or_defer_to_it(source: str) -> None:
    try:
        compile(source, "<case>", "exec", dont_inherit=True)
    except SyntaxError:  # `import *` inside a function
        assume(False)
    found = by_code(source)
    if found is not None:
        assert found == by_ast(source), source


@pytest.mark.parametrize("source", [
    "def f():\n    import a\n",
    "if TYPE_CHECKING:\n    import a\nelse:\n    import b\n",
    "class C:\n    import a\n    def m(self):\n        from . import b\n",
    "with open('x'):\n    import a\n",
    "def g():\n    yield 1\n    import a\n",
])
def test_bytecode_answers_without_the_source(source: str) -> None:
    source = "from typing import TYPE_CHECKING\n" + source
    assert by_code(source) == by_ast(source)


@pytest.mark.parametrize("source", [
    "try:\n    import a\nexcept ImportError:\n    a = None\n",
    "try:\n    def f():\n        import a\nexcept Exception:\n    pass\n",
    "try:\n    import a\nexcept ValueError:\n    pass\nexcept:\n    pass\n",
    "try:\n    import a\nfinally:\n    pass\n",
])
def test_bytecode_reads_the_handlers(source: str) -> None:
    source = "from typing import TYPE_CHECKING\n" + source
    assert by_code(source) == by_ast(source)


@pytest.mark.parametrize("source", [
    "if not TYPE_CHECKING:\n    import a\n",
    "try:\n    import a\nexcept* ImportError:\n    pass\n",
    "if TYPE_CHECKING:\n    try:\n        import a\n    except ImportError:\n        import b\n",
])
def test_negated_checks_and_except_star_go_to_the_source(source: str) -> None:
    assert by_code("from typing import TYPE_CHECKING\n" + source) is None


@pytest.mark.parametrize("source", [
    "try:\n    from ggg import Realm\nexcept ImportError:\n    from realm_backend.ggg import Realm\n",
    "def f():\n    try:\n        import a\n    except ValueError:\n        pass\n    except ImportError:\n        import b\n",
    "try:\n    import a\nfinally:\n    import b\n",
])
def test_imports_in_except_clauses_go_to_the_source(source: str) -> None:
    # Only the source tells which clause an import is in: the fallback of an import in the try or not.
    assert by_code(source) is None


def test_a_main_block_runs_no_import_when_imported() -> None:
    # pickle ends with `if __name__ == "__main__": import argparse`: importing pickle never runs it.
    source = 'import a\nif __name__ == "__main__":\n    import b\nelse:\n    import c\n'
    assert {s.module: s.function for s in static.scan_source(source.encode(), "<case>")} == {
        "a": False, "b": True, "c": False}
    assert by_code(source) == by_ast(source)  # bytecode reads it too: the body the test jumps over
    # Any other use of "__main__" goes to the source.
    assert by_code('import sys\nif sys.modules["__main__"]:\n    import b\n') is None
    assert by_code('if __name__ != "__main__":\n    import b\n') is None


def test_the_handler_of_an_empty_try_is_no_fallback() -> None:
    # `try: pass` has nothing to fail: its handler never runs, and bytecode and source agree on that.
    source = ("from typing import TYPE_CHECKING\ntry:\n    pass\nexcept ImportError:\n    try:\n"
              "        import a\n    except ImportError:\n        pass\n")
    assert _fallbacks(source)["a"] is False
    found = by_code(source)
    assert found is None or found == by_ast(source)


def _fallbacks(source: str) -> dict[str, bool]:
    return {s.module: s.fallback for s in static.scan_source(source.encode(), "<case>")}


def test_the_fallback_of_an_import_is_marked() -> None:
    # Realms: the first branch wins on the canister; the second is the repository's host-test layout.
    source = ("def realm():\n    try:\n        from ggg import Realm\n    except ImportError:\n"
              "        try:\n            from realm_backend.ggg import Realm\n        except ImportError:\n"
              "            from legacy import Realm\n    return Realm\n"
              "try:\n    import a\nexcept ValueError:\n    import b\nexcept ImportError:\n    import c\n"
              "import d\n")
    assert _fallbacks(source) == {"ggg": False, "realm_backend.ggg": True, "legacy": True, "a": False,
                                  "b": False, "c": True, "d": False}


def test_dead_branches_hold_no_imports() -> None:
    # `if False:` is the old typing-only idiom: the compiler drops the block, and so do we.
    assert by_code("if False:\n    import numpy\n") == []


def test_every_tracer_module_agrees() -> None:
    root = Path(static.__file__).resolve().parents[1]
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        found = by_code(source)
        if found is not None:
            assert found == by_ast(source), path


def test_the_stdlib_and_installed_packages_agree() -> None:
    """Real code, in every shape it comes in: where bytecode answers, its answer is the AST's."""
    import sysconfig

    stdlib = Path(sysconfig.get_path("stdlib"))
    site = Path(sysconfig.get_path("purelib"))
    roots = [stdlib, *(site / name for name in ("jinja2", "markupsafe", "simplejson", "yaml", "ic_python_db",
                                                 "ic_python_logging", "basilisk", "typer", "click", "hypothesis"))]
    answered = 0
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if {"test", "tests", "site-packages", "lib2to3", "idlelib"} & set(path.relative_to(root).parts):
                continue
            try:
                source = path.read_text(encoding="utf-8")
                found = by_code(source)
            except (SyntaxError, UnicodeDecodeError, ValueError):
                continue
            if found is not None:
                answered += 1
                dead = _dead_lines(source)  # `if False:` blocks: the compiler drops them, and so do we
                # Literal import_module("...") calls: read from the text, beside the bytecode, as site_sources does.
                dynamic = {(d.module, d.names, d.level, d.line, (d.type_checking, d.optional, d.function, d.fallback))
                           for d in static.dynamic(source.encode())}
                assert found == [s for s in by_ast(source) if s[3] not in dead and s not in dynamic], path
    assert answered > 500


def _dead_lines(source: str) -> set[int]:
    import ast

    return {line for node in ast.walk(ast.parse(source)) if isinstance(node, ast.If)
            and isinstance(node.test, ast.Constant) and not node.test.value
            for child in node.body for line in range(child.lineno, (child.end_lineno or child.lineno) + 1)}


# ---- the static cache: keyed on content, kept per project -----------------------------------------

def test_the_static_cache_is_keyed_on_content(tmp_path: Path) -> None:
    import json
    import shutil

    from helpers import FIXTURES

    from basilisk_trace import tracer

    cache = tmp_path / "cache"
    traces = []
    for name in ("one", "two"):  # the same program at two paths: two projects, whose caches hold the same keys
        shutil.copytree(FIXTURES / "function_imports", tmp_path / name)
        traces.append(tracer.trace(tmp_path / name / "main.py", tracer.DryRunOptions(cache_dir=cache)))
    first, second = (set(json.loads(f.read_text())) for f in sorted(cache.glob("static-*.json")))
    assert first and first == second
    static = [sorted((m.name, m.found_by) for m in t.modules if m.found_by == "static") for t in traces]
    assert static[0] and static[0] == static[1]


def test_a_full_static_cache_keeps_what_the_run_used(tmp_path: Path) -> None:
    path = str(tmp_path / "static.json")
    cache = _child("site_sources").Cache(path, static.StaticImport, path)
    cache.LIMIT = 2
    for n in range(4):
        cache.put(f"import m{n}\n".encode(), static.scan_source(f"import m{n}\n".encode()))
    cache.save()
    again = _child("site_sources").Cache(path, static.StaticImport, path)
    assert len(again.entries) == 4  # the run used all four
    assert again.get(b"import m1\n") is not None
    again.LIMIT = 2
    again.put(b"import m9\n", [])
    again.save()
    kept = _child("site_sources").Cache(path, static.StaticImport, path)
    assert set(kept.entries) == {kept.key(b"import m1\n"), kept.key(b"import m9\n")}


# Calls that import a computed name, spelled every way the parser reads them: plain, through an
# attribute, and in characters NFKC folds into the ASCII name (fullwidth i, the "fi" ligature).
_CALLS = st.sampled_from([
    "import_module(name)", "importlib.import_module('a.' + name)", "__import__(f'p.{name}')",
    "\uff49mport_module(name)", "__\uff49mport__(name)", "importlib.import_module(name, 'x')",
    "import_module('json')", "__import__('os')", "load(name)", "x = 'import_module'",
])
_LINES = st.lists(st.one_of(_CALLS, st.sampled_from(["pass", "name = 'k'", "# \u00e9t\u00e9", "import os"])),
                  max_size=6)


@settings(max_examples=200, deadline=None)
@given(lines=_LINES)
def test_a_file_skipped_without_parsing_has_no_computed_import(lines: list[str], tmp_path_factory: pytest.TempPathFactory) -> None:
    """computed_in skips parsing only where the parse would find nothing."""
    import ast

    source = "\n".join(lines) + "\n"
    path = tmp_path_factory.mktemp("computed") / "module.py"
    path.write_text(source, encoding="utf-8")
    parsed = list(static._computed(ast.parse(source)))
    assert [(s.line, s.names) for s in static.computed_in(str(path))] == [(s.line, s.names) for s in parsed]
