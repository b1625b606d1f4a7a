"""The bundler on real fixtures: what goes in, what stays out and why, determinism, atomic output."""

from __future__ import annotations

import shutil
from functools import cache

from conftest import traced
from helpers import FIXTURES, run_cli, tree_hash, zip_names

from basilisk_trace.bundler import PlanOptions, bundle_bytes, load_profile, plan_bundle
from basilisk_trace.bundler.plan.model import BundlePlan
from basilisk_trace.tracer import resolve_includes


@cache
def planned(name: str, target: str = "basilisk", exclude: tuple[str, ...] = (),
            include: tuple[str, ...] = ()) -> BundlePlan:
    trace = traced(name)
    options = PlanOptions(exclude=exclude)
    extra = resolve_includes(trace, include) if include else []
    return plan_bundle(trace, load_profile(target), options, extra)


def arcnames(plan: BundlePlan) -> set[str]:
    return {f.arcname for f in plan.files}


class TestWhatGoesIn:
    def test_entry_at_root_with_local_modules(self):
        plan = planned("relative_imports")
        assert {"main.py", "app/__init__.py", "app/helpers.py", "app/sub/__init__.py",
                "app/sub/leaf.py", "app/sub/sibling.py"} <= arcnames(plan)

    def test_dynamic_imports_only_what_ran(self):
        names = arcnames(planned("dynamic_import"))
        assert {"plugins/alpha.py", "plugins/beta.py", "plugins/__init__.py"} <= names
        assert "plugins/gamma.py" not in names

    def test_include_adds_a_module_nothing_imported(self):
        plan = planned("dynamic_import", include=("plugins.gamma",))
        assert "plugins/gamma.py" in arcnames(plan)
        assert plan.decision("plugins.gamma").reason == "included"

    def test_no_whole_package_trees(self):
        names = arcnames(planned("optional_natives"))
        assert "markupsafe/_native.py" in names
        assert not any(n.startswith("simplejson/tests/") for n in names)
        assert not any(n.endswith((".so", ".pyc")) or "__pycache__" in n for n in names)

    def test_editable_install_archived_by_module_name(self):
        names = arcnames(planned("editable_install"))
        assert {"editable_demo/__init__.py", "editable_demo/core.py"} <= names
        assert not any("editable_demo_src" in n or n.endswith("unused.py") for n in names)

    def test_package_data_read_and_probed(self):
        files = {f.arcname: f for f in planned("opened_not_read").files}
        zurich = files["pytz/zoneinfo/Europe/Zurich"]
        assert zurich.reason == "data" and zurich.size > 0
        probed = [f for f in files.values() if f.reason == "probed"]
        assert len(probed) > 400 and all(f.size == 0 and f.source is None for f in probed)

    def test_minimal_dist_info_for_metadata_read(self):
        names = arcnames(planned("metadata_read"))
        assert "six-1.17.0.dist-info/METADATA" in names
        assert "six-1.17.0.dist-info/RECORD" not in names


class TestWhatStaysOut:
    def test_optional_natives_left_out_with_a_warning(self):
        plan = planned("optional_natives")
        for name in ("markupsafe._speedups", "simplejson._speedups", "yaml._yaml"):
            assert plan.decision(name).reason == "optional-native"
            assert any(p.module == name for p in plan.warnings)
        # simplejson's `from decimal import Decimal` cannot work on ic-basilisk's runtime (neither _decimal
        # nor _pydecimal's contextvars is there): that, not a native fallback, is the one error.
        assert [p.module for p in plan.errors] == ["decimal"]
        assert "simplejson reads decimal while the program is imported" in plan.errors[0].message

    def test_type_checking_imports(self):
        plan = planned("type_checking")
        assert plan.decision("jinja2").reason == "type-checking"
        assert not any(n.startswith(("jinja2/", "yaml/")) for n in arcnames(plan))

    def test_runtime_package_is_provided(self):
        plan = planned("stub_runtime")
        assert plan.decision("basilisk").reason == "provided"
        assert not any(n.startswith("basilisk/") for n in arcnames(plan))

    def test_exclude_pattern(self):
        plan = planned("dynamic_import", exclude=("plugins.beta",))
        assert "plugins/beta.py" not in arcnames(plan)
        assert plan.decision("plugins.beta").reason == "excluded"

    def test_stdlib_stub_warning_names_the_cause_and_the_importer(self):
        plan = planned("verify_stdlib_cannot_ship")
        warning = next(p for p in plan.warnings if p.module == "re")
        assert "re (main)" in warning.message and "empty stub" in warning.message
        assert "main -> re" in plan.decision("re").detail

    def test_full_stdlib_targets_do_not_warn(self):
        plan = planned("verify_stdlib_stub", target="pyodide")
        assert plan.decision("colorsys").reason == "provided"
        assert not plan.warnings

    def test_secrets_and_outside_files_never_bundled(self):
        plan = planned("reads_secrets")
        assert arcnames(plan) == {"main.py"}
        texts = " ".join(p.message for p in plan.warnings)
        assert ".env" in texts and "/etc/os-release" in texts


class TestRequiredNative:
    def test_error_names_module_distribution_and_chain(self):
        plan = planned("required_native")
        [error] = plan.errors
        assert "markupsafe._speedups (MarkupSafe" in error.message
        assert "main -> mathutil" in error.message and "basilisk target" in error.message

    def test_cli_exits_non_zero_and_writes_nothing(self, tmp_path):
        out = tmp_path / "bundle.zip"
        out.write_bytes(b"previous")
        done = run_cli("bundle", FIXTURES / "required_native" / "main.py", "-o", out)
        assert done.returncode == 1
        assert "is native code and cannot run on the basilisk target" in done.stderr
        assert "Traceback" not in done.stderr
        assert out.read_bytes() == b"previous"


class TestZip:
    def test_same_bytes_from_another_directory(self, tmp_path):
        copy = tmp_path / "elsewhere" / "dynamic_import"
        shutil.copytree(FIXTURES / "dynamic_import", copy)
        first = run_cli("bundle", FIXTURES / "dynamic_import" / "main.py", "-o", tmp_path / "a.zip")
        second = run_cli("bundle", copy / "main.py", "-o", tmp_path / "b.zip", cwd=tmp_path)
        assert first.returncode == second.returncode == 0, first.stderr + second.stderr
        assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
        sha = first.stdout.split("sha256 ")[1].strip()
        assert sha in second.stdout

    def test_stored_by_default_and_manifest_lists_reasons(self):
        import io
        import json
        import zipfile

        data = bundle_bytes(planned("dynamic_import"), "main.py")
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}
            manifest = json.loads(archive.read("basilisk-bundle.json"))
        paths = {f["path"]: f for f in manifest["files"]}
        assert paths["plugins/alpha.py"]["reason"].startswith("traced")
        assert manifest["target"] == "basilisk" and manifest["entry_module"] == "main"

    def test_max_size_lists_biggest_contributors(self, tmp_path):
        out = tmp_path / "b.zip"
        done = run_cli("bundle", FIXTURES / "optional_natives" / "main.py", "-o", out, "--max-size", "1000")
        assert done.returncode == 1 and not out.exists()
        assert "over --max-size 1000" in done.stderr and "yaml/" in done.stderr

    def test_source_tree_untouched(self, tmp_path):
        before = tree_hash(FIXTURES / "optional_natives")
        assert run_cli("bundle", FIXTURES / "optional_natives" / "main.py", "--exercise", "--target", "cpython-wasi",
                       "-o", tmp_path / "b.zip").returncode == 0
        assert tree_hash(FIXTURES / "optional_natives") == before
        assert zip_names((tmp_path / "b.zip").read_bytes())


def test_every_required_native_listed_at_once(tmp_path):
    done = run_cli("bundle", FIXTURES / "required_natives_all" / "main.py", "-o", tmp_path / "b.zip")
    errors = [line for line in done.stderr.splitlines() if line.startswith("basilisk-trace: error:")]
    assert done.returncode == 1 and not (tmp_path / "b.zip").exists()
    assert any("markupsafe._speedups (MarkupSafe" in e for e in errors)
    assert any("yaml._yaml (PyYAML" in e and "main -> yaml -> yaml.cyaml -> yaml._yaml" in e for e in errors)
