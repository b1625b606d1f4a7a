"""Tests for bundler.profiles: builtin profile data, provides(), runtime-modules files, the generator."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from helpers import load_path
from hypothesis import given
from hypothesis import strategies as st

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.bundler.hosts import HostError, host_names, load_host, load_profile
from basilisk_trace.bundler.plan.profile import Profile, ProfileError

PROFILE_NAMES = host_names()

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "tools" / "gen_basilisk_profile.py"


def _generator() -> ModuleType:
    return load_path("gen_basilisk_profile", GENERATOR)


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


class TestBuiltinProfiles:
    @pytest.mark.parametrize("name", PROFILE_NAMES)
    def test_loads_with_provenance_for_every_entry(self, name: str) -> None:
        profile = load_profile(name)
        assert profile.name == name
        # componentize-py's runtime is its own build of CPython 3.14; the others are 3.13.
        assert profile.python == ("3.14" if name == "componentize-py" else "3.13")
        assert profile.source == (f"bundler/hosts/{load_host(name).folder.name}/profile.json",)
        for module, why in {**profile.provided, **profile.unavailable}.items():
            assert module and why.strip(), module
        hash(profile)  # frozen, and usable as a dict key despite its mappings

    def test_default_is_basilisk(self) -> None:
        assert load_profile().name == "basilisk"

    def test_unknown_name_lists_valid_names(self) -> None:
        with pytest.raises(HostError) as info:
            load_profile("emscripten")
        assert isinstance(info.value, BasiliskTraceError)
        assert "'emscripten'" in str(info.value)
        for name in PROFILE_NAMES:
            assert name in str(info.value)

    @pytest.mark.parametrize(
        ("name", "native", "stdlib"),
        [
            ("basilisk", "refuse", "partial"),
            ("cpython-wasi", "refuse", "full"),
            ("pyodide", "refuse", "full"),
            ("wasix", "wasix-wheels", "full"),
            ("componentize-py", "refuse", "build-time"),
        ],
    )
    def test_capabilities(self, name: str, native: str, stdlib: str) -> None:
        profile = load_profile(name)
        assert (profile.native, profile.stdlib) == (native, stdlib)


class TestBasiliskProvides:
    profile = load_profile("basilisk")

    @pytest.mark.parametrize(
        ("module", "cites"),
        [
            ("json", "frozen_stdlib_preamble.py"),
            ("urllib.parse", "frozen_stdlib_preamble.py"),
            ("os.path", "frozen_stdlib_preamble.py"),
            ("basilisk", "python_init.rs"),
            ("bsk", "python_init.rs"),
            ("basilisk.canisters.management.http", "frozen_stdlib_preamble.py"),
            ("_basilisk_ic", "ic_api.rs"),
            ("_json", "cpython_config.c"),
            ("sys", "interpreter core"),
            ("encodings.utf_8", "inferred"),
            ("zipimport", "use_frozen_modules"),
        ],
    )
    def test_provided_with_the_file_that_says_so(self, module: str, cites: str) -> None:
        why = self.profile.provides(module, is_stdlib=True)
        assert why is not None and cites in why

    @pytest.mark.parametrize("module", ["json.decoder", "logging", "email.mime.text", "requests"])
    def test_not_provided(self, module: str) -> None:
        assert self.profile.provides(module, is_stdlib=module != "requests") is None

    def test_inert_stub_is_marked(self) -> None:
        assert "inert" in self.profile.provided["_sre"]
        assert "inert" not in self.profile.provided["_json"]

    @pytest.mark.parametrize(
        ("module", "cites"),
        [
            ("re", "_sre"),
            ("re._parser", "_sre"),
            ("threading", "README"),
            ("socket", "README"),
            ("zlib", "_PyImport_DynLoadFiletab"),
            ("_ssl", "_PyImport_DynLoadFiletab"),
        ],
    )
    def test_unavailable(self, module: str, cites: str) -> None:
        why = self.profile.unavailable_reason(module)
        assert why is not None and cites in why
        assert self.profile.provides(module, is_stdlib=True) is None

    def test_preamble_replacements_win_over_removed_natives(self) -> None:
        # math, time and itertools are cut from libpython but re-registered in Python.
        for module in ("math", "time", "itertools"):
            assert self.profile.unavailable_reason(module) is None
            assert "preamble" in (self.profile.provides(module, is_stdlib=True) or "")

    def test_stubs_missing_stdlib(self) -> None:
        assert self.profile.stubs_missing_stdlib is True
        assert self.profile.describes.startswith("ic-basilisk ")
        assert self.profile.runtime_packages == ("basilisk", "bsk")

    @given(st.lists(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), max_size=4))
    def test_runtime_package_is_what_the_shim_registers(self, parts: list[str]) -> None:
        # Either the runtime registers it, or it lacks it: a host copy is never the answer.
        module = ".".join(["basilisk", *parts])
        provided = self.profile.provides(module, is_stdlib=False)
        lacks = self.profile.runtime_lacks(module)
        assert (provided is None) != (lacks is None)
        assert provided is None or "python_init.rs" in provided

    @pytest.mark.parametrize("module", ["basilisk.canisters.xrc", "basilisk.canisters.icrc"])
    def test_canisters_the_runtime_does_not_register(self, module: str) -> None:
        assert self.profile.provides(module, is_stdlib=False) is None
        why = self.profile.runtime_lacks(module) or ""
        assert f"does not register {module}" in why
        assert "basilisk.canisters.ledger, basilisk.canisters.management" in why

    @pytest.mark.parametrize("module", ["importlib.util", "importlib.machinery"])
    def test_frozen_submodule_of_a_missing_package_is_not_provided(self, module: str) -> None:
        assert self.profile.provides(module, is_stdlib=True) is None
        assert "parent package importlib is not provided" in (self.profile.unavailable_reason(module) or "")


class TestFullStdlib:
    @pytest.mark.parametrize("name", ["cpython-wasi", "pyodide", "wasix"])
    def test_every_stdlib_module_but_not_third_party(self, name: str) -> None:
        profile = load_profile(name)
        assert profile.provides("json.decoder", is_stdlib=True)
        assert profile.provides("re", is_stdlib=True)
        assert profile.provides("requests", is_stdlib=False) is None
        assert profile.provides("basilisk", is_stdlib=False) is None

    def test_componentize_py_has_the_stdlib_at_build_time_only(self) -> None:
        profile = load_profile("componentize-py")
        assert "at build time" in (profile.provides("json.decoder", is_stdlib=True) or "")
        # What its CPython could not import at build time (tools/gen_componentize_profile.py asked it).
        assert profile.provides("ssl", is_stdlib=True) is None
        assert "import failed at build time" in (profile.unavailable_reason("ctypes.util") or "")
        assert profile.provides("componentize_py_types", is_stdlib=False)

    def test_pyodide_lacks_tkinter(self) -> None:
        profile = load_profile("pyodide")
        assert profile.provides("tkinter.ttk", is_stdlib=True) is None
        assert "python_stdlib.zip" in (profile.unavailable_reason("tkinter") or "")


class TestRuntimeModulesFile:
    def test_canister_query_output_overrides(self, tmp_path: Path) -> None:
        path = _write(
            tmp_path / "observed.json",
            {
                "format": "basilisk-runtime-modules/1",
                "describes": "my canister",
                "python": "3.13.0 (main) [Clang 18]",
                "real": {"re": "<frozen re>", "logging": "/lib/logging/__init__.py"},
                "stubbed": ["json"],
                "failed": {"socket": "ModuleNotFoundError: No module named '_socket'"},
            },
        )
        profile = load_profile("basilisk", runtime_modules=path)
        assert "my canister" in (profile.provides("re", is_stdlib=True) or "")
        assert profile.unavailable_reason("re") is None
        assert profile.provides("json", is_stdlib=True) is None
        assert "wasi-stub" in (profile.unavailable_reason("json") or "")
        assert "_socket" in (profile.unavailable_reason("socket") or "")
        assert profile.source == ("bundler/hosts/basilisk/profile.json", str(path))

    def test_plain_lists_and_a_quoted_json_string(self, tmp_path: Path) -> None:
        inner = json.dumps({"provided": ["zlib"], "stubbed": ["sqlite3"]})
        path = _write(tmp_path / "quoted.json", inner)
        profile = load_profile("cpython-wasi", runtime_modules=path)
        assert profile.provides("zlib", is_stdlib=True)
        assert profile.provides("sqlite3.dbapi2", is_stdlib=True) is None

    @pytest.mark.parametrize(
        ("content", "problem"),
        [
            ("{not json", "not valid JSON"),
            ("[]", "expected a JSON object"),
            ('{"provided": ["a"], "modules": []}', "unknown keys modules"),
            ('{"describes": "x"}', "lists no modules"),
            ('{"provided": "json"}', "must be a list"),
            ('{"provided": ["json-x"]}', "not a module name"),
            ('{"failed": {"json": 3}}', "must be a string"),
            ('{"provided": ["a"], "failed": ["a"]}', "listed both"),
            ('{"python": "3.11.4", "provided": ["a"]}', "Python 3.11"),
            ('{"python": "three", "provided": ["a"]}', "expected a version"),
            ('{"format": "other/2", "provided": ["a"]}', "format"),
        ],
    )
    def test_bad_file_names_file_and_problem(
        self, tmp_path: Path, content: str, problem: str
    ) -> None:
        path = tmp_path / "bad.json"
        path.write_text(content, encoding="utf-8")
        with pytest.raises(ProfileError) as info:
            load_profile("basilisk", runtime_modules=path)
        assert str(path) in str(info.value)
        assert problem in str(info.value)

    def test_missing_file(self, tmp_path: Path) -> None:
        path = tmp_path / "nope.json"
        with pytest.raises(ProfileError, match="nope.json: cannot read"):
            load_profile("basilisk", runtime_modules=path)


class TestProfileData:
    base = {"name": "x", "python": "3.13", "native": "refuse", "stdlib": "full"}

    @pytest.mark.parametrize(
        ("change", "problem"),
        [
            ({"native": "maybe"}, "'native' must be one of"),
            ({"stdlib": "some"}, "'stdlib' must be one of"),
            ({"python": 3.13}, "'python'"),
            ({"provided": {"a": ""}}, "non-empty provenance"),
            ({"provided": {"a": "x"}, "unavailable": {"a": "y"}}, "both provided and unavailable"),
            ({"schema": 9}, "unsupported schema"),
        ],
    )
    def test_malformed(self, change: dict[str, object], problem: str) -> None:
        with pytest.raises(ProfileError, match=problem) as info:
            Profile.from_dict({**self.base, **change}, "some/file.json")
        assert str(info.value).startswith("some/file.json: ")


class TestGenerator:
    def test_committed_basilisk_json_is_current(self) -> None:
        # Fails when ic-basilisk changes or someone edits the JSON by hand: rerun the tool.
        gen = _generator()
        root = Path(importlib.util.find_spec("basilisk").submodule_search_locations[0])  # type: ignore[union-attr,index]
        committed = json.loads(
            (ROOT / "bundler/hosts/basilisk/profile.json").read_text(encoding="utf-8")
        )
        assert gen.build(root) == committed

    def test_reads_a_synthetic_runtime(self, tmp_path: Path) -> None:
        root = _fake_basilisk(tmp_path)
        data = _generator().build(root)
        provided, unavailable = data["provided"], data["unavailable"]
        assert "frozen_stdlib_preamble.py:4 in _register_foo()" in provided["foo"]
        # Registered, but their parent package is not: importing them imports pkg first.
        assert not {"pkg.a", "pkg.b"} & set(provided)
        assert "parent package pkg is not provided" in unavailable["pkg.a"]
        assert "python_init.rs:3 in <module>()" in provided["runtime_pkg"]
        assert "inert" in provided["_sre"] and "inert" not in provided["posix"]
        assert "_fake_native" in provided and "encodings.utf_8" in provided
        assert "dynamic" not in json.dumps(provided)  # a variable key names no module
        assert data["runtime_packages"] == ["runtime_pkg"]
        assert "re" in unavailable and "_ssl" in unavailable
        assert "Setup.local" in unavailable["_legacy_thing"]
        assert "foo" not in unavailable

    def test_main_writes_json(self, tmp_path: Path) -> None:
        out = tmp_path / "out.json"
        assert (
            _generator().main(["--basilisk-dir", str(_fake_basilisk(tmp_path)), "--out", str(out)])
            == 0
        )
        assert (
            Profile.from_dict(json.loads(out.read_text(encoding="utf-8")), str(out)).name
            == "basilisk"
        )


def _fake_basilisk(tmp_path: Path) -> Path:
    """A minimal tree with the same file layout the generator reads in ic-basilisk."""
    root = tmp_path / "basilisk"
    files = {
        "frozen_stdlib_preamble.py": (
            "import sys as _sys\n\n"
            "def _register_foo():\n"
            "    _sys.modules['foo'] = object()\n"
            "for _sub in ('a', 'b'):\n"
            "    _sys.modules[f'pkg.{_sub}'] = object()\n"
            "def _wasi_safe_import(name):\n"
            "    _sys.modules[name] = 'dynamic'\n"
        ),
        "compiler/cpython_canister_template/src/python_init.rs": (
            'const BASILISK_PYTHON_SHIM: &str = r#"\nimport sys as _sys\n'
            '_sys.modules["runtime_pkg"] = object()\n"#;\n'
        ),
        "compiler/cpython_canister_template/src/fake.rs": 'MODULE_DEF.m_name = b"_fake_native\\0";\n',
        "compiler/basilisk_cpython/src/cpython_config.c": (
            "static PyMethodDef _sre_stub_methods[] = {{NULL, NULL, 0, NULL}};\n"
            "const char *_PyImport_DynLoadFiletab[] = { NULL };\n"
            "struct _inittab _PyImport_Inittab[] = {\n"
            '    {"posix", PyInit_posix},\n'
            '    {"_sre", PyInit__sre},  /* stub */\n'
            "    {0, 0}\n};\n"
        ),
        "compiler/basilisk_cpython/src/cpython_init_helper.c": (
            "config.use_frozen_modules = 1;\n/* patch 0002-freeze-encodings */\n"
        ),
        "compiler/basilisk_cpython/stdlib/encodings/__init__.py": "",
        "compiler/basilisk_cpython/stdlib/encodings/utf_8.py": "",
        "compiler/cpython/build_cpython_wasm.sh": "cat <<'EOF'\n*disabled*\n_legacy_thing\nEOF\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


class TestDocumentedQuery:
    def test_query_output_is_a_valid_runtime_modules_file(self, tmp_path: Path) -> None:
        # Run the query source from the docs on this interpreter, with a small module list,
        # one module faked as a <wasi-stub> and one that does not exist.
        doc = (ROOT / "docs" / "runtime-modules.md").read_text(encoding="utf-8")
        source = next(b for b in doc.split("```python\n")[1:] if "@query" in b).split("```")[0]
        script = tmp_path / "run_query.py"
        script.write_text(
            "import sys, types\n"
            "sys.stdlib_module_names = frozenset({'json', 'no_such_module_xyz', 'fakestub'})\n"
            "stub = types.ModuleType('fakestub'); stub.__file__ = '<wasi-stub>'\n"
            "sys.modules['fakestub'] = stub\n" + source + "\nprint(runtime_modules())\n",
            encoding="utf-8",
        )
        done = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
        )
        out = _write(tmp_path / "observed.json", json.loads(done.stdout))
        profile = load_profile("basilisk", runtime_modules=out)
        assert profile.provides("json.decoder", is_stdlib=True)  # imported for real here
        assert "wasi-stub" in (profile.unavailable_reason("fakestub") or "")
        assert "ModuleNotFoundError" in (profile.unavailable_reason("no_such_module_xyz") or "")
