"""canister: python -m basilisk's outputs, built by ic-basilisk's own steps with the traced bundle, end to end."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from canister_e2e import CALLS, IC_API, ROOT, RUNTIME_ONLY, STUBS
from helpers import CLI, tree_hash
from wasm_templates import IC_BASILISK_TEMPLATE, TEMPLATES, compile_wat, instantiate, read_slot

from basilisk_trace.bundler.check.wasi import run_python_source_in_wasi
from basilisk_trace.bundler.format.wasm import Module
from basilisk_trace.bundler.format.wasm.custom import read_custom_section
from basilisk_trace.bundler.write.canister_source import (
    BOOTSTRAP_SECTION,
    BUNDLE_SECTION,
    read_canister_source,
    rewrite,
)

PROJECT = ROOT / "tests" / "projects" / "dfx_two_canisters"
PREAMBLE = Path(importlib.util.find_spec("basilisk").origin).parent / "frozen_stdlib_preamble.py"  # type: ignore[arg-type,union-attr]
ENTRIES = {"posts": "src/main.py", "notes": "notes.py"}
# As in the project's dfx.json: the posts canister imports inside a method, the notes canister by a
# name made at run time, which no dry run can guess (notes.py's transform): --include names it.
OPTIONS = {"posts": ["--exercise"], "notes": ["--include", "notes_lib.plugins"]}
# The calls each canister answers, in order; both runs must give the same answers.
METHOD_CALLS = {
    "posts": [["create_post", ["hello", ["a", "b"]]], ["create_post", ["second", []]], ["get_post", [0]],
              ["get_post", [7]], ["count", []], ["audit_log", [5]]],
    "notes": [["add_note", ["first", 3]], ["add_note", ["second", 5]], ["count_notes", []],
              ["transform", ["upper", "hello"]], ["transform", ["reverse", "hello"]], ["transform", ["nope", "x"]]],
}
RUN_CALLS = CALLS + '''
def run_calls(get, calls):
    answers = []
    for name, args in calls:
        try:
            answers.append([name, get(name)(*args)])
        except Exception as exc:  # a method's failure is an answer too
            answers.append([name, f"raised {type(exc).__name__}: {exc}"])
    return json.dumps({"answers": answers, "printed": list(builtins._basilisk_ic.printed)}, default=repr)
'''
# The program in its full environment: the host's site-packages, the project on the path, and the
# runtime's basilisk (the stand-in) ahead of the host package, as a canister sees it.
ON_HOST = RUN_CALLS + f'''
import os
root, entry, calls = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path[:0] = [{str(STUBS)!r}, os.path.dirname(entry), root]
setup_ic({str(IC_API)!r})
module = importlib.import_module(os.path.basename(entry)[:-3])
print(run_calls(lambda name: getattr(module, name), calls))
'''
# The python_source read out of the Wasm, run as the template runs it: one namespace, no path; with
# a third argument, ic-basilisk's own stdlib preamble first (it replaces __import__ and open()).
FROM_WASM = RUN_CALLS + RUNTIME_ONLY + '''
source, calls = open(sys.argv[1]).read(), json.loads(sys.argv[2])
if len(sys.argv) > 3:
    preamble = open(sys.argv[3]).read()
    exec(compile(preamble, "frozen_stdlib_preamble.py", "exec"), {"__name__": "__main__"})
    assert builtins.__import__.__name__ == "_wasi_safe_import", "the preamble did not take over imports"
namespace = {"__name__": "__main__"}
exec(compile(source, "python_source", "exec"), namespace)
print(run_calls(namespace.__getitem__, calls))
'''


def _env(template: Path | None, candid: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BASILISK_TEMPLATE_WASM", "CANISTER_CANDID_PATH")}
    if template is not None:
        env["BASILISK_TEMPLATE_WASM"] = str(template)
    if candid is not None:
        env["CANISTER_CANDID_PATH"] = candid
    return {**env, **extra}


def canister(cwd: Path, name: str, entry: str, *extra: str, template: Path | None = None,
             candid: str | None = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """basilisk-trace canister NAME ENTRY in `cwd`, with the Candid path python -m basilisk's users set."""
    chosen = f".basilisk/{name}/{name}.did" if candid == "" else candid
    return subprocess.run([CLI, "canister", name, entry, *extra], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env or _env(template, chosen))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.wasm"
    path.write_bytes(compile_wat(IC_BASILISK_TEMPLATE))
    return path


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory, template: Path) -> dict[str, Path]:
    """The project built both ways, each in its own copy: by canister (traced) and by python -m basilisk."""
    copies = {}
    for way in ("trace", "basilisk"):
        copy = tmp_path_factory.mktemp(way) / "project"
        shutil.copytree(PROJECT, copy)
        for name, entry in ENTRIES.items():
            if way == "trace":
                done = canister(copy, name, entry, *OPTIONS[name], template=template)
            else:
                done = subprocess.run([sys.executable, "-m", "basilisk", name, entry], cwd=copy, capture_output=True,
                                      text=True, timeout=300, env=_env(template, f".basilisk/{name}/{name}.did"))
            assert done.returncode == 0, done.stdout + done.stderr
        copies[way] = copy
    return copies


def python_source(project: Path, name: str) -> str:
    return read_slot((project / ".basilisk" / name / f"{name}.wasm").read_bytes(), "python_source").decode()


def sources_only(project: Path, name: str) -> str:
    """Our python_source with every module as source (from the custom sections): for the WASI CPython 3.12,
    which cannot run the 3.13 code objects it ships."""
    module = Module.parse((project / ".basilisk" / name / f"{name}.wasm").read_bytes())
    bootstrap = zlib.decompress(read_custom_section(module, BOOTSTRAP_SECTION) or b"").decode()
    rewritten = rewrite(python_source(project, name), read_custom_section(module, BUNDLE_SECTION) or b"", bootstrap, None)
    assert rewritten is not None
    return rewritten


def section_bundle(project: Path, name: str) -> zipfile.ZipFile:
    """The bundle our canister carries in its Wasm's custom section (the python_source carries no manifest)."""
    module = Module.parse((project / ".basilisk" / name / f"{name}.wasm").read_bytes())
    return zipfile.ZipFile(io.BytesIO(read_custom_section(module, BUNDLE_SECTION) or b""))


def _answers(script: str, *args: str, cwd: Path, isolated: bool) -> dict[str, object]:
    flags = ["-I", "-S", "-B"] if isolated else ["-B"]
    done = subprocess.run([sys.executable, *flags, "-c", script, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    answers: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return answers


@pytest.mark.parametrize("name", sorted(ENTRIES))
class TestLikeIcBasilisk:
    def test_candid_is_ic_basilisks(self, builds: dict[str, Path], name: str) -> None:
        did = Path(".basilisk") / name / f"{name}.did"
        ours = (builds["trace"] / did).read_text()
        assert ours == (builds["basilisk"] / did).read_text()
        assert f'"{"create_post" if name == "posts" else "add_note"}" :' in ours

    def test_same_method_exports(self, builds: dict[str, Path], name: str) -> None:
        exports = {}
        for way, project in builds.items():
            inst = instantiate((project / ".basilisk" / name / f"{name}.wasm").read_bytes())
            exports[way] = sorted(inst.instance.exports(inst.store))
            assert f"canister_query {'count' if name == 'posts' else 'count_notes'}" in exports[way]
        assert exports["trace"] == exports["basilisk"]

    @pytest.mark.parametrize("preamble", [False, True], ids=["bare", "ic-basilisk-preamble"])
    def test_python_source_from_the_wasm_answers_like_the_host(self, builds: dict[str, Path], name: str,
                                                               tmp_path: Path, preamble: bool) -> None:
        project, calls = builds["trace"], json.dumps(METHOD_CALLS[name])
        (tmp_path / "python_source.py").write_text(python_source(project, name))
        on_host = _answers(ON_HOST, str(project), str(project / ENTRIES[name]), calls, cwd=project, isolated=False)
        extra = [str(PREAMBLE)] if preamble else []
        from_wasm = _answers(FROM_WASM, str(tmp_path / "python_source.py"), calls, *extra, cwd=tmp_path,
                             isolated=True)
        assert from_wasm == on_host
        assert not any(str(answer).startswith("raised") for _, answer in on_host["answers"])  # type: ignore[union-attr]

    def test_python_source_from_the_wasm_answers_like_the_host_in_wasi(self, builds: dict[str, Path], name: str,
                                                                       wasi_cache: Path) -> None:
        # The template's init in the WASI CPython: _basilisk_ic, ic-basilisk's preamble (its in-memory
        # filesystem kept), shim and fix-ups, then the python_source, all in one namespace; the
        # guest has the stdlib and nothing else, so every project and dependency module is the bundle's.
        project = builds["trace"]
        on_host = _answers(ON_HOST, str(project), str(project / ENTRIES[name]), json.dumps(METHOD_CALLS[name]),
                           cwd=project, isolated=False)
        calls = [(call, args) for call, args in METHOD_CALLS[name]]
        in_wasi = run_python_source_in_wasi(sources_only(project, name), calls, cache_dir=wasi_cache)
        assert in_wasi["failure"] is None, in_wasi["failure"]
        assert in_wasi["platform"] == "wasi"
        assert in_wasi["layer"] == {"import": "_wasi_safe_import", "open": "_persistent_open"}  # the preamble's
        assert {"answers": in_wasi["answers"], "printed": in_wasi["printed"]} == on_host
        assert not any(str(answer).startswith("raised") for _, answer in in_wasi["answers"])

    def test_python_source_carries_fewer_sources_and_the_entry_once(self, builds: dict[str, Path], name: str) -> None:
        ours, theirs = python_source(builds["trace"], name), python_source(builds["basilisk"], name)
        # The traced sources are fewer bytes than all modulefinder found (the code objects beside
        # them are what init runs instead of compiling: tests/test_init_cost.py).
        bundle = section_bundle(builds["trace"], name)
        assert sum(i.file_size for i in bundle.infolist()) < len(theirs.encode())
        assert len(ours.encode()) < len(theirs.encode())  # what init parses, and what is uploaded
        entry_text = (PROJECT / ENTRIES[name]).read_text()
        assert ours.count(entry_text) == 1
        assert Path(ENTRIES[name]).name not in bundle.namelist() and "basilisk-bundle.json" in bundle.namelist()
        found = read_canister_source(ours)
        assert found is not None and "basilisk-bundle.json" not in found.files

    def test_outputs_where_python_m_basilisk_writes_them(self, builds: dict[str, Path], name: str) -> None:
        written = builds["trace"] / ".basilisk" / name
        assert sorted(p.name for p in written.iterdir()) == sorted([f"{name}.did", f"{name}.wasm", "python_source"])
        stem = Path(ENTRIES[name]).stem
        assert [p.name for p in (written / "python_source").iterdir()] == [f"{stem}.py"]


def test_in_wasi_a_bundle_without_the_computed_import_answers_otherwise(tmp_path: Path, template: Path,
                                                                        wasi_cache: Path) -> None:
    # Without --include the plugins are not in the bundle, and the guest has nowhere else to find them.
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    assert canister(project, "notes", "notes.py", template=template).returncode == 0
    in_wasi = run_python_source_in_wasi(sources_only(project, "notes"), METHOD_CALLS["notes"], cache_dir=wasi_cache)
    assert in_wasi["failure"] is None, in_wasi["failure"]
    assert [answer for name, answer in in_wasi["answers"] if name == "transform"] == [
        "raised ModuleNotFoundError: No module named 'notes_lib.plugins'"] * 2 + [None]


def test_the_plugin_builds_too(tmp_path: Path, template: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    done = subprocess.run([str(Path(sys.executable).with_name("basilisk")), "canister", "posts", "src/main.py"],
                          cwd=project, capture_output=True, text=True, timeout=300,
                          env=_env(template, ".basilisk/posts/posts.did"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("built canister posts: .basilisk/posts/posts.wasm (")


def test_pyproject_settings_apply(tmp_path: Path, template: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    (project / "pyproject.toml").write_text('[tool.basilisk-trace]\ninclude = ["notes_lib.plugins"]\n')
    assert canister(project, "notes", "notes.py", template=template).returncode == 0
    names = section_bundle(project, "notes").namelist()
    assert {"notes_lib/plugins/upper.py", "notes_lib/plugins/reverse.py"} <= set(names)


def test_verbose_shows_ic_basilisks_own_output(tmp_path: Path, template: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    env = _env(template, ".basilisk/posts/posts.did", BASILISK_VERBOSE="true")
    done = canister(project, "posts", "src/main.py", env=env)
    assert done.returncode == 0, done.stderr
    # ic-basilisk's own lines, with the final folder where the build wrote into a staging one.
    assert "Extracted 4 canister methods from Python source" in done.stdout
    assert "Modified wasm written to .basilisk/posts/posts.wasm" in done.stdout
    quiet = canister(project, "posts", "src/main.py", template=template)
    assert "Extracted" not in quiet.stdout and quiet.stdout.count("\n") == 1


class TestRefusals:
    """Each is one line naming what to fix, exit 1, and nothing written."""

    @pytest.fixture
    def project(self, tmp_path: Path) -> Path:
        copy = tmp_path / "project"
        shutil.copytree(PROJECT, copy)
        return copy

    def _refused(self, done: subprocess.CompletedProcess[str], project: Path, message: str,
                 before: str | None = None) -> None:
        assert done.returncode == 1, done.stdout + done.stderr
        lines = done.stderr.strip().splitlines()
        assert lines[-1].startswith("basilisk-trace: error: ") and message in lines[-1], done.stderr
        assert "Traceback" not in done.stderr
        if before is None:
            assert not (project / ".basilisk").exists() or not any((project / ".basilisk").rglob("*.wasm"))
        else:
            assert tree_hash(project / ".basilisk") == before

    def test_no_candid_path(self, project: Path, template: Path) -> None:
        done = canister(project, "posts", "src/main.py", template=template, candid=None)
        self._refused(done, project, "CANISTER_CANDID_PATH is not set")

    def test_template_variable_names_no_file(self, project: Path) -> None:
        done = canister(project, "posts", "src/main.py", template=project / "absent.wasm")
        self._refused(done, project, "absent.wasm, which is not a file")

    @pytest.mark.parametrize(("wat", "message"), [
        (TEMPLATES["no_data"], "does not export the function execute_query_method"),
        (IC_BASILISK_TEMPLATE.replace('(data (i32.const 16) "stand-in template")', ""), "has no data section"),
    ])
    def test_template_ic_basilisk_would_break(self, project: Path, tmp_path: Path, wat: str, message: str) -> None:
        bad = tmp_path / "bad.wasm"
        bad.write_bytes(compile_wat(wat))
        self._refused(canister(project, "posts", "src/main.py", template=bad), project, message)

    def test_a_failed_build_leaves_the_last_one(self, project: Path, template: Path, tmp_path: Path) -> None:
        assert canister(project, "posts", "src/main.py", template=template).returncode == 0
        before = tree_hash(project / ".basilisk")
        bad = tmp_path / "bad.wasm"
        bad.write_bytes(b"\0asm\1\0\0\0")
        self._refused(canister(project, "posts", "src/main.py", template=bad), project, "bad.wasm", before)
        assert sorted(p.name for p in (project / ".basilisk").iterdir()) == ["posts"]  # no staging left behind

    @pytest.mark.parametrize("name", ["../../escaped", ".", "a/b"])
    def test_a_name_cannot_leave_basilisk_dir(self, project: Path, template: Path, name: str) -> None:
        done = canister(project, name, "src/main.py", template=template, candid="out.did")
        self._refused(done, project, "cannot be a file name under .basilisk/")
        assert not (project.parent / "escaped").exists()

    def test_future_import_in_the_entry(self, project: Path, template: Path) -> None:
        entry = project / "src" / "main.py"
        entry.write_text("from __future__ import annotations\n" + entry.read_text())
        self._refused(canister(project, "posts", "src/main.py", template=template), project,
                      "src/main.py:1: 'from __future__ import' cannot run after ic-basilisk's module loader")

    def test_unsupported_ic_basilisk(self, project: Path, template: Path, tmp_path: Path) -> None:
        # A distribution found first on the path answers importlib.metadata, as a real older install would.
        info = tmp_path / "older" / "ic_basilisk-0.15.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ic-basilisk\nVersion: 0.15.0\n")
        env = _env(template, ".basilisk/posts/posts.did", PYTHONPATH=str(info.parent))
        done = canister(project, "posts", "src/main.py", env=env)
        self._refused(done, project, "ic-basilisk 0.15.0 is installed, but canister supports only 0.16.1")


def readme_recipe(kind: str) -> str:
    """The code block after `<!-- recipe: KIND -->` in the README."""
    text = (ROOT / "README.md").read_text()
    after = text.split(f"<!-- recipe: {kind} -->\n", 1)[1]
    return after.split("```", 2)[1].split("\n", 1)[1]


class TestRecipes:
    """Each README recipe, as dfx or icp would run it, on the src/ canister of the test project."""

    @pytest.fixture
    def project(self, tmp_path: Path) -> Path:
        copy = tmp_path / "app"
        shutil.copytree(PROJECT / "src", copy / "src")
        return copy

    def _shell(self, command: str, project: Path, template: Path, **extra: str) -> None:
        # dfx and icp run build commands through a shell, with the project's tools on PATH.
        env = _env(template, None, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **extra)
        done = subprocess.run(["sh", "-c", command], cwd=project, capture_output=True, text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stdout + done.stderr

    def test_dfx_json(self, project: Path, template: Path) -> None:
        from basilisk_trace.bundler.cli.canisters import find_canisters

        (project / "dfx.json").write_text(readme_recipe("dfx.json"))
        spec = json.loads(readme_recipe("dfx.json"))["canisters"]["app"]
        assert [(c.name, c.entry) for c in find_canisters(project)] == [("app", project / "src" / "main.py")]
        self._shell(spec["build"], project, template)
        assert (project / spec["wasm"]).is_file()
        assert '"create_post" : (text, vec text) -> (Post);' in (project / spec["candid"]).read_text()

    def test_icp_yaml(self, project: Path, template: Path, tmp_path: Path) -> None:
        import yaml

        from basilisk_trace.bundler.cli.canisters import find_canisters

        (project / "icp.yaml").write_text(readme_recipe("icp.yaml"))
        assert [(c.name, c.entry) for c in find_canisters(project)] == [("app", project / "src" / "main.py")]
        step = yaml.safe_load(readme_recipe("icp.yaml"))["canisters"][0]["build"]["steps"][0]
        output = tmp_path / "icp-out.wasm"
        for command in step["commands"]:
            self._shell(command, project, template, ICP_WASM_OUTPUT_PATH=str(output))
        assert output.read_bytes() == (project / ".basilisk" / "app" / "app.wasm").read_bytes()
        assert '"audit_log" : (nat32) -> (vec text) query;' in (project / ".basilisk" / "app" / "app.did").read_text()
