"""What the basilisk runtime provides, as the plan and the CLI say it: its own basilisk.*, and the stubs."""

from __future__ import annotations

from conftest import traced
from helpers import FIXTURES, run_cli

from basilisk_trace.bundler import PlanOptions, load_profile, plan_bundle
from basilisk_trace.bundler.plan.model import BundlePlan


def planned(name: str, **options: object) -> BundlePlan:
    return plan_bundle(traced(name), load_profile("basilisk"), PlanOptions(**options))  # type: ignore[arg-type]


def entry(name: str) -> str:
    return str(FIXTURES / name / "main.py")


class TestRuntimePackage:
    def test_required_module_the_runtime_lacks_is_one_error_with_its_chain(self, tmp_path):
        plan = planned("runtime_xrc_required")
        assert [p.module for p in plan.errors] == ["basilisk.canisters.xrc"]
        message = plan.errors[0].message
        assert "does not register basilisk.canisters.xrc" in message
        assert "main -> basilisk.canisters.xrc" in message
        assert plan.decision("basilisk.canisters.xrc").reason == "runtime-missing"
        done = run_cli("bundle", entry("runtime_xrc_required"), "-o", tmp_path / "b.zip")
        assert done.returncode == 3 and not (tmp_path / "b.zip").exists()  # the program fails there
        assert "does not register basilisk.canisters.xrc" in done.stderr
        assert "failed during the dry run" not in done.stderr  # the runtime error explains it

    def test_guarded_import_is_a_warning_and_the_bundle_is_written(self, tmp_path):
        plan = planned("runtime_xrc_guarded")
        assert not plan.errors
        assert any(w.module == "basilisk.canisters.xrc" for w in plan.warnings)
        done = run_cli("bundle", entry("runtime_xrc_guarded"), "-o", tmp_path / "b.zip")
        assert done.returncode == 0 and (tmp_path / "b.zip").exists()

    def test_registered_modules_are_provided_never_bundled(self):
        plan = planned("runtime_types")
        assert not plan.errors and not plan.warnings
        assert plan.decision("basilisk").reason == "provided"
        assert not [f for f in plan.files if f.arcname.startswith("basilisk")]


class TestStubWarnings:
    def test_a_dependency_import_that_never_ran_is_one_summary_line(self):
        plan = planned("opened_not_read")
        summary = next(w.message for w in plan.warnings if w.module is None and "imported only by" in w.message)
        assert "doctest (pytz)" in summary and "verify" in summary
        assert "--bundle-stdlib" not in summary

    def test_a_dependency_import_that_ran_but_cannot_work_names_its_cause(self):
        # ic_python_logging imports pickle at module level; pickle's own top-level code reads re.
        plan = planned("stdlib_unused_in_dependency")
        assert [w.module for w in plan.warnings] == ["pickle"]
        assert plan.warnings[0].message.startswith("re cannot run on the basilisk target")
        assert "pickle (ic_python_logging._handler)" in plan.warnings[0].message
        assert plan.decision("pickle").reason == "stdlib-cannot-ship"

    def test_the_programs_own_import_ships_the_host_source(self):
        plan = planned("verify_stdlib_stub")
        assert not plan.warnings and plan.decision("colorsys").reason == "stdlib"
        assert "main -> colorsys" in plan.decision("colorsys").detail

    def test_bundle_stdlib_never_recommends_itself(self):
        plan = planned("ic_python_db_canister", bundle_stdlib=True)
        assert plan.warnings and all("pass --bundle-stdlib" not in w.message for w in plan.warnings)
        assert len(plan.warnings) == len({w.message for w in plan.warnings})


class TestGuardedFallback:
    def test_fallback_that_fails_on_its_own_is_not_told_to_install(self):
        plan = planned("guarded_fallback_fails")
        assert not plan.errors
        assert not [w for w in plan.warnings if "install" in w.message]
        assert traced("guarded_fallback_fails").module("fastcodec_not_installed").optional


class TestExplain:
    def test_guarded_import_is_never_told_to_install_or_remove(self):
        from basilisk_trace.bundler.report.plan import explain

        guarded = explain(planned("runtime_xrc_guarded"), "basilisk.canisters.xrc", installed=False).text
        assert "fix: nothing to do: the import is guarded" in guarded and "pip install" not in guarded
        required = explain(planned("runtime_xrc_required"), "basilisk.canisters.xrc", installed=False).text
        assert "fix: remove the import or guard it" in required

    def test_a_name_the_runtime_lacks_is_not_called_missing_from_the_bundle(self):
        import io
        import zipfile

        from basilisk_trace.bundler.check.verify import verify_zip
        from basilisk_trace.bundler.report.plan import explain
        from basilisk_trace.bundler.report.verify import render_verify

        data = io.BytesIO()
        with zipfile.ZipFile(data, "w") as archive:
            archive.writestr("main.py", "from basilisk import query, NoSuchThing\n")
        result = verify_zip(data.getvalue(), "main", load_profile("basilisk"), exercise=False)
        assert not result.ok and result.bundle_failures[0].module == "basilisk"
        text = render_verify(result, lambda m: explain(planned("runtime_types"), m, installed=True))
        assert "basilisk is provided by the target runtime, but not with what the program imports" in text
        assert "missing from the bundle" not in text
