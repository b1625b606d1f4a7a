"""verify --wasm: any built canister, whoever built it, run from its Wasm as the template's init runs it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from canister_builds import WAYS, build, verify_wasm, write_template
from helpers import ROOT, run_cli

from basilisk_trace.bundler.format.wasm import Module
from basilisk_trace.bundler.format.wasm.slots import read_slot

PROJECTS = ROOT / "tests" / "projects"
SCHEMA = json.loads((ROOT / "bundler" / "schemas" / "verify.schema.json").read_text())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """The two plugin programs, each built both ways."""
    work = tmp_path_factory.mktemp("canisters")
    template = write_template(work)
    return {(project, way): build(PROJECTS / project, work, way, template=template)
            for project in ("plugins_by_name", "plugins_whole") for way in WAYS}


@pytest.mark.parametrize("runtime", ["host", "wasi"])
def test_python_m_basilisk_misses_plugins_loaded_by_name(built: dict[tuple[str, str], Path], runtime: str) -> None:
    code, document, stderr = verify_wasm(built["plugins_by_name", "python -m basilisk"], "--runtime", runtime)
    assert code == 1, stderr
    jsonschema.validate(document, SCHEMA)
    [failure] = document["failures"]
    assert failure["where"] == "import" and failure["module"] == "plugins.alpha", failure
    assert "FAILED running the canister's init: ModuleNotFoundError: No module named 'plugins'" in stderr
    assert "plugins.alpha is missing from the canister" in stderr
    assert "basilisk-trace canister" in stderr and "--include plugins.alpha" in stderr


@pytest.mark.parametrize("runtime", ["host", "wasi"])
def test_ours_runs_the_plugins_it_traced(built: dict[tuple[str, str], Path], runtime: str) -> None:
    code, document, stderr = verify_wasm(built["plugins_by_name", "basilisk-trace canister"], "--runtime", runtime,
                                         "--exercise")
    assert code == 0, stderr
    jsonschema.validate(document, SCHEMA)
    assert document["ok"] and document["failures"] == [] and document["methods"] >= 2
    assert ("cost" in document) == (runtime == "wasi")


def test_a_package_python_m_basilisk_copies_whole_passes(built: dict[tuple[str, str], Path]) -> None:
    code, document, stderr = verify_wasm(built["plugins_whole", "python -m basilisk"], "--exercise")
    assert code == 0, stderr
    assert document["ok"] and document["runtime"] == "host"


def test_a_failure_inside_a_method_names_the_module_it_asked_for(tmp_path: Path) -> None:
    # The example canister loads its plugins inside transform: python -m basilisk's build fails at the call.
    wasm = build(ROOT / "examples" / "canister", tmp_path, WAYS[1], template=write_template(tmp_path))
    code, document, stderr = verify_wasm(wasm, "--exercise")
    assert code == 1
    assert [(f["where"], f["module"]) for f in document["failures"] if f["caused_by_bundle"]] == [
        ("transform", "plugins.upper")]
    # Without --exercise only the init runs, and the init imports no plugin.
    assert verify_wasm(wasm)[0] == 0


def test_the_python_source_is_read_from_the_data_segment_both_builders_write(
        built: dict[tuple[str, str], Path]) -> None:
    for way in WAYS:
        module = Module.parse(built["plugins_by_name", way].read_bytes())
        source = read_slot(module, "python_source")
        assert source is not None and b"NAMES = (\"alpha\", \"beta\")" in source
        meta = json.loads(read_slot(module, "method_meta") or b"")
        assert [m["name"] for m in meta["methods"]] == ["apply", "__get_candid_interface_tmp_hack"]
        assert read_slot(module, "no_such_slot") is None


def test_a_wasm_without_python_source_is_one_line(tmp_path: Path) -> None:
    plain = write_template(tmp_path).with_name("plain.wasm")
    plain.write_bytes(Module.parse(write_template(tmp_path).read_bytes()).to_bytes()[:8])  # header only
    done = run_cli("verify", "--wasm", plain)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"basilisk-trace: error: {plain} has no python_source: verify --wasm reads canisters built by basilisk-trace "
        "canister or python -m basilisk (ic-basilisk's template); verify a bundle with --bundle"]
    garbage = tmp_path / "garbage.wasm"
    garbage.write_bytes(b"not wasm")
    done = run_cli("verify", "--wasm", garbage)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1 and "not a canister Wasm" in done.stderr


def test_a_figure_past_half_its_limit_is_warned_with_the_limit() -> None:
    from basilisk_trace.bundler.check.cost import Cost, MethodCost

    cost = Cost(160_000_000_000, 2_700_000_000, (MethodCost("heavy", "query", 2_600_000_000),
                                                 MethodCost("light", "query", 2_400_000_000),
                                                 MethodCost("write", "update", 21_000_000_000)))
    warnings = cost.warnings()
    assert len(warnings) == 3
    assert "init costs 160.00 billion instructions, 53% of the IC's install/upgrade limit of 300.00 billion" in warnings[0]
    assert "method heavy" in warnings[1] and "query limit of 5.00 billion" in warnings[1]
    assert "method write" in warnings[2] and "update limit of 40.00 billion" in warnings[2]


def test_the_guest_meter_and_the_host_agree_on_the_tag() -> None:
    import runpy

    from basilisk_trace.bundler.check.wasi import METER_TAG

    assert runpy.run_path(str(ROOT / "bundler" / "check" / "guest" / "meter.py"))["TAG"] == METER_TAG
