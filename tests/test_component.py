"""componentize-py's host, end to end: real builds (componentize-py 0.25.1), real calls (wasmtime).

For each app of tests/components/: built by componentize-py alone, its calls fail (or its build
does); built by `basilisk-trace component`, every call answers in wasmtime what the app answers
on the host; `verify --component` names what the plain build lacks and passes on the tool's.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from component_builds import (
    APPS,
    Builds,
    call_in_wasmtime,
    call_on_host,
    evaluate_on_host,
    tree_digest,
)
from helpers import ROOT, run_cli

pytest.importorskip("componentize_py")
pytest.importorskip("wasmtime")


@dataclass(frozen=True)
class App:
    name: str
    calls: tuple[tuple[str, list[Any]], ...]  # (export, arguments) as wasmtime takes them
    on_host: tuple[str, ...]  # the same calls, as Python evaluated on the host (names: app, wit_world)
    missing: str  # what verify names on the plain build
    options: tuple[str, ...] = ("--exercise",)


def _record(**fields: Any) -> Any:
    from basilisk_trace.bundler.hosts.componentize_py.values import record

    return record(fields)


APPS_UNDER_TEST = (
    App("lazy_stdlib", (("to-json", ["k", [1, 2]]), ("quoted", ['say "hi"']), ("ascii-host", ["bücher.example"])),
        ("app.WitWorld().to_json('k', [1, 2])", "app.WitWorld().quoted('say \"hi\"')",
         "app.WitWorld().ascii_host('bücher.example')"), "json",
        # The dry run's calls pass ASCII names: the codec the other names need is named by hand.
        ("--exercise", "--include", "encodings.punycode")),
    App("lazy_helper", (("basilisk-trace:lazy-helper/greeter#greet", [_record(name="ada", times=3)]),),
        ("app.Greeter().greet(__import__('wit_world.exports.greeter').exports.greeter.Greeting('ada', 3))",),
        "helpers"),
    App("resource_data", (("word", [5]), ("count", [])),
        ("app.WitWorld().word(5)", "app.WitWorld().count()"), "importlib.resources"),
    App("computed_plugins", (("apply", ["upper", "abc"]), ("apply", ["reverse", "abc"])),
        ("app.WitWorld().apply(wit_world.Kind.UPPER, 'abc')", "app.WitWorld().apply(wit_world.Kind.REVERSE, 'abc')"),
        # Without --exercise the dry run makes no call: --include names what the computed import loads.
        "plugins", ("--include", "plugins")),
    App("optional_native", (("dumps", ["k", 2.5]),), ("app.WitWorld().dumps('k', 2.5)",), "simplejson"),
)
IDS = [a.name for a in APPS_UNDER_TEST]


@pytest.fixture(scope="session")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    return Builds(tmp_path_factory.mktemp("components"))


@pytest.fixture(scope="session")
def deps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, ...]]:
    """Each app's dependencies as a folder of their own (pip install --target's shape): simplejson."""
    folder = tmp_path_factory.mktemp("deps")
    spec = importlib.util.find_spec("simplejson")
    assert spec is not None and spec.submodule_search_locations
    shutil.copytree(spec.submodule_search_locations[0], folder / "simplejson",
                    ignore=shutil.ignore_patterns("__pycache__", "tests"))
    return {"optional_native": (folder,)}


def _plain(builds: Builds, deps: dict[str, tuple[Path, ...]], app: App) -> Any:
    return builds.plain(app.name, *deps.get(app.name, ()))


def _tool(builds: Builds, deps: dict[str, tuple[Path, ...]], app: App) -> Any:
    built = builds.tool(app.name, *app.options, deps=deps.get(app.name, ()))
    assert built.returncode == 0, built.stderr
    return built


@pytest.mark.parametrize("app", APPS_UNDER_TEST, ids=IDS)
def test_built_by_componentize_py_alone_every_call_fails(app: App, builds: Builds, deps: Any) -> None:
    plain = _plain(builds, deps, app)
    assert plain.returncode == 0, plain.stderr  # the build succeeds: the failures come at call time
    answers = call_in_wasmtime(plain.path, builds.root / "wasmtime", list(app.calls))
    assert [kind for kind, _ in answers] == ["trap"] * len(app.calls), answers
    # A codec's module missing is an "unknown encoding" (the encodings search function swallows the import error).
    assert all("No module named" in error or "unknown encoding" in error for _, error in answers), answers


@pytest.mark.parametrize("app", APPS_UNDER_TEST, ids=IDS)
def test_built_by_the_tool_every_call_answers_as_on_the_host(app: App, builds: Builds, deps: Any,
                                                              tmp_path: Path) -> None:
    before = tree_digest(APPS / app.name)
    built = _tool(builds, deps, app)
    assert tree_digest(APPS / app.name) == before  # componentize-py built from a copy: no bytecode written
    answers = call_in_wasmtime(built.path, builds.root / "wasmtime", list(app.calls))
    expected = call_on_host(app.name, list(app.on_host), tmp_path, *deps.get(app.name, ()))
    assert answers == [("ok", value) for value in expected]


@pytest.mark.parametrize("app", APPS_UNDER_TEST, ids=IDS)
def test_verify_names_what_the_plain_build_lacks_and_passes_the_tools(app: App, builds: Builds, deps: Any) -> None:
    failed = builds.verify(_plain(builds, deps, app).path, "--exercise")
    assert failed.returncode == 1, failed.stderr
    assert "FAILED calling" in failed.stderr and f"No module named '{app.missing}" in failed.stderr
    assert "is not in the component" in failed.stderr and "fix: build it with basilisk-trace component" in failed.stderr
    assert "Traceback" not in failed.stderr.replace("Traceback (most recent", "")  # the guest's, not ours
    passed = builds.verify(_tool(builds, deps, app).path, "--exercise")
    assert passed.returncode == 0, passed.stderr
    assert "verify: ok:" in passed.stdout and "built by basilisk-trace" in passed.stdout


def test_a_computed_import_is_reported_with_the_include_that_fixes_it(builds: Builds) -> None:
    built = builds.tool("computed_plugins")
    assert built.returncode == 0, built.stderr
    assert "app.py:11" in built.stderr and "--include plugins" in built.stderr
    failed = builds.verify(built.path)
    assert failed.returncode == 1
    assert "No module named 'plugins'" in failed.stderr and "--include plugins" in failed.stderr
    # With --exercise the dry run calls apply with each case of the enum: every plugin it names is in.
    exercised = builds.tool("computed_plugins", "--exercise")
    assert exercised.returncode == 0, exercised.stderr
    assert builds.verify(exercised.path, "--exercise").returncode == 0


def test_the_data_file_is_served_from_memory(builds: Builds, deps: Any) -> None:
    app = next(a for a in APPS_UNDER_TEST if a.name == "resource_data")
    built = _tool(builds, deps, app)
    assert "1 data files" in built.stdout
    answers = call_in_wasmtime(built.path, builds.root / "wasmtime", [("word", [i]) for i in range(4)])
    words = (APPS / "resource_data" / "app" / "words" / "list.txt").read_text().split()
    assert answers == [("ok", w) for w in words]


@pytest.fixture(scope="session")
def fastmath(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The required native app's C extension, compiled for this CPython: a folder holding fastmath.*.so."""
    import sysconfig

    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build the native extension")
    folder = tmp_path_factory.mktemp("fastmath")
    target = folder / f"fastmath{sysconfig.get_config_var('EXT_SUFFIX')}"
    subprocess.run([compiler, "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}",
                    str(APPS / "required_native" / "fastmath.c"), "-o", str(target)], check=True)
    return folder


def test_a_required_native_is_refused_in_one_line_with_its_chain(builds: Builds, fastmath: Path,
                                                                 tmp_path: Path) -> None:
    output = tmp_path / "kept.wasm"
    output.write_bytes(b"the previous build")
    done = run_cli("component", "-d", APPS / "required_native" / "wit", "-w", "required-native", "app",
                   "-p", APPS / "required_native" / "app", "-p", fastmath, "-o", output, env=builds.env)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("basilisk-trace: error:")]
    assert len(errors) == 1 and "fastmath" in errors[0] and "app -> fastmath" in errors[0], done.stderr
    assert "backtrace" not in done.stderr.lower() and "Traceback" not in done.stderr
    assert output.read_bytes() == b"the previous build"
    plain = builds.plain("required_native", fastmath)
    assert plain.returncode != 0 and "No module named 'fastmath'" in plain.stderr


def test_the_componentize_py_examples_build_and_answer(builds: Builds, tmp_path: Path) -> None:
    examples = _examples(tmp_path)
    cli = tmp_path / "cli.wasm"
    done = run_cli("component", "-d", examples / "wit", "-w", "wasi:cli/command@0.2.0", "componentize", "app",
                   "-o", cli, cwd=examples / "examples" / "cli", env=builds.env, timeout=900)
    assert done.returncode == 0, done.stderr
    from basilisk_trace.bundler.hosts.componentize_py.instance import Session

    with Session(cli, builds.root / "wasmtime") as session:
        (run,) = [e for e in session.exports if e.function == "run"]
        outcome = session.call(run, [])
    assert outcome.trap is None and outcome.stdout == "Hello, world!\n"
    sandbox = tmp_path / "sandbox.wasm"
    guest = examples / "examples" / "sandbox"
    done = run_cli("component", "-d", guest / "sandbox.wit", "-w", "sandbox", "componentize", "--stub-wasi", "guest",
                   "-o", sandbox, cwd=guest, env=builds.env, timeout=900)
    assert done.returncode == 0, done.stderr
    answers = call_in_wasmtime(sandbox, builds.root / "wasmtime", [("eval", ["[1, 2][-1] * 21"]), ("eval", ["1/0"])])
    assert answers == [("ok", ["ok", "42"]), ("ok", ["err", "ZeroDivisionError: division by zero"])]
    assert builds.verify(sandbox).returncode == 0


# componentize-py 0.25.1's released source (PyPI's sdist: its examples/ and wit/), fetched with its
# pinned sha256 by `./dev setup`; the tests themselves run offline.
SDIST = ROOT / ".cache" / "componentize_py-0.25.1.tar.gz"
SDIST_SHA256 = "e4087e916b06171303f803c8ffdd5f177e2422e87d9bed6ffe55cc41b2248aa8"


def _examples(tmp_path: Path) -> Path:
    """examples/cli, examples/sandbox and wit/ of componentize-py 0.25.1, as released."""
    import hashlib
    import tarfile

    if not SDIST.is_file():
        pytest.skip(f"{SDIST} is missing: ./dev setup fetches componentize-py 0.25.1's sdist from PyPI")
    assert hashlib.sha256(SDIST.read_bytes()).hexdigest() == SDIST_SHA256
    folder = tmp_path / "componentize-py"
    prefix = "componentize_py-0.25.1/"
    with tarfile.open(SDIST) as archive:
        wanted = [m for m in archive.getmembers() if m.isfile() and m.name.startswith(
            tuple(prefix + p for p in ("examples/cli/", "examples/sandbox/", "wit/")))]
        for member in wanted:
            member.name = member.name.removeprefix(prefix)
        archive.extractall(folder, members=wanted, filter="data")
    return folder


def test_bundle_for_the_componentize_py_target_points_to_the_component_command(tmp_path: Path) -> None:
    done = run_cli("bundle", APPS / "lazy_stdlib" / "app" / "app.py", "--target", "componentize-py",
                   "-o", tmp_path / "x.zip")
    assert done.returncode == 1
    assert done.stderr.strip() == ("basilisk-trace: error: the componentize-py target is built with its own "
                                   "command: basilisk-trace component (see basilisk-trace component --help)")


def test_an_app_not_on_the_python_path_is_one_line(tmp_path: Path) -> None:
    done = run_cli("component", "-d", APPS / "lazy_stdlib" / "wit", "-w", "lazy-stdlib", "nothere",
                   "-p", APPS / "lazy_stdlib" / "app", "-o", tmp_path / "x.wasm")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"basilisk-trace: error: no module nothere.py in the python path ({APPS / 'lazy_stdlib' / 'app'}); "
        "pass -p with the folder that holds it"]
    assert not (tmp_path / "x.wasm").exists()


def test_a_wrong_world_is_one_line(tmp_path: Path) -> None:
    done = run_cli("component", "-d", APPS / "lazy_stdlib" / "wit", "-w", "nope", "app",
                   "-p", APPS / "lazy_stdlib" / "app", "-o", tmp_path / "x.wasm")
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert "world 'nope'" in line and "not found" in line and "backtrace" not in line.lower()


def test_every_kind_of_wit_value_is_passed_in_the_dry_run_and_in_wasmtime(builds: Builds) -> None:
    """Each export imports its own stdlib module: the component holds them all only if the dry run
    called every export with values of its types; verify then calls them with every case."""
    import re

    built = builds.tool("every_type", "--exercise")
    assert built.returncode == 0, built.stderr
    verified = builds.verify(built.path, "--exercise")
    assert verified.returncode == 0, verified.stderr
    found = re.search(r"answered (\d+) calls", verified.stdout)
    assert found and int(found.group(1)) > 10 + 8, verified.stdout  # the other cases and values too
    plain = builds.plain("every_type")
    failed = builds.verify(plain.path)
    assert failed.returncode == 1
    assert failed.stderr.count("FAILED calling") == 10, failed.stderr


def test_verify_component_json_follows_its_schema(builds: Builds) -> None:
    import json

    import jsonschema

    from basilisk_trace.bundler.report.schema import VERIFY, schema_file

    done = builds.verify(builds.plain("lazy_stdlib").path, "--json", "-")
    assert done.returncode == 1
    document = json.loads(done.stdout)
    jsonschema.validate(document, json.loads(schema_file(VERIFY).read_text(encoding="utf-8")))
    assert (document["runtime"], document["target"], document["ok"]) == ("component", "componentize-py", False)
    assert {f["module"] for f in document["failures"]} == {"json", "email", "encodings.idna"}


def test_the_readme_s_worked_example_answers_every_route(builds: Builds, tmp_path: Path) -> None:
    """examples/component: a Spin-style HTTP handler; --exercise reaches its routes through the app's own
    string constants, so the template it reads at call time is served from memory."""
    import shlex

    from component_builds import readme_recipe

    from basilisk_trace.bundler.hosts.componentize_py.values import plain, record

    example = Path(__file__).resolve().parent.parent / "examples" / "component"
    out = tmp_path / "app.wasm"
    (after,) = [line for line in readme_recipe("component").splitlines() if line.endswith("# after")]
    command = [str(out) if word == "app.wasm" else word for word in shlex.split(after.partition("#")[0])]
    assert command[:2] == ["basilisk-trace", "component"]
    done = run_cli(*command[1:], cwd=example, env=builds.env, timeout=900)
    assert done.returncode == 0, done.stderr
    assert "1 data files" in done.stdout
    routes = [("get", "/hello?name=ada", None), ("get", "/page?title=Docs", None), ("post", "/echo", b"hi"),
              ("get", "/nope", None)]
    export = "example:spin-style/inbound-http@0.1.0#handle-request"
    calls = [(export, [record({"method": m, "uri": u, "headers": [], "params": [], "body": b})]) for m, u, b in routes]
    answers = call_in_wasmtime(out, builds.root / "wasmtime", calls)
    on_host = [f"vars(app.InboundHttp().handle_request(__import__('wit_world.imports.http_types').imports.http_types"
               f".Request(__import__('wit_world.imports.http_types').imports.http_types.Method.{m.upper()}, {u!r}, "
               f"[], [], {b!r})))" for m, u, b in routes]
    expected = evaluate_on_host(example / "wit", "http-app", (example,), [f"{{k: (v.decode() if isinstance(v, bytes) "
                                f"else v) for k, v in {e}.items()}}" for e in on_host], tmp_path / "bindings")
    assert answers == [("ok", plain(record(e))) for e in expected]
