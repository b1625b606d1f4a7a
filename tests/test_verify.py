"""verify and why: one fixture per failure class; verify names the cause, and the fix makes it pass."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from helpers import FIXTURES, ROOT, run_cli

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]


def entry(name: str) -> str:
    return str(FIXTURES / name / "main.py")


class TestFailureClasses:
    def test_dynamic_import_in_a_method_needs_exercise(self, tmp_path):
        bundle = tmp_path / "b.zip"
        assert run_cli("bundle", entry("verify_method_plugin"), "-o", bundle).returncode == 0
        failed = run_cli("verify", "--bundle", bundle, "--exercise")
        assert failed.returncode == 1
        assert "plugins is missing from the bundle, used by main" in failed.stderr
        assert "--exercise" in failed.stderr  # the suggested fix
        fixed = run_cli("verify", entry("verify_method_plugin"), "--exercise")
        assert fixed.returncode == 0, fixed.stderr
        assert fixed.stdout.startswith("verify: ok")

    def test_every_missing_module_named_from_the_exercise_trace(self, tmp_path):
        bundle = tmp_path / "b.zip"
        assert run_cli("bundle", entry("verify_every_missing"), "-o", bundle).returncode == 0
        failed = run_cli("verify", entry("verify_every_missing"), "--bundle", bundle, "--exercise")
        assert failed.returncode == 1
        assert "ops is missing from the bundle" in failed.stderr  # where the run stopped
        assert "ops.add (main -> ops.add)" in failed.stderr and "ops.mul (main -> ops.mul)" in failed.stderr
        assert run_cli("verify", entry("verify_every_missing"), "--exercise").returncode == 0

    def test_stdlib_module_the_target_stubs(self):
        failed = run_cli("verify", entry("verify_stdlib_cannot_ship"))
        assert failed.returncode == 1
        assert "re is an empty stub module on the target" in failed.stderr
        assert "re cannot run on the basilisk target" in failed.stderr
        assert run_cli("verify", entry("verify_stdlib_cannot_ship"), "--bundle-stdlib").returncode == 1

    def test_stdlib_module_the_target_lacks_ships_without_a_flag(self):
        done = run_cli("verify", entry("stdlib_needed_ships"), "--exercise")
        assert done.returncode == 0, done.stderr
        assert run_cli("verify", entry("verify_stdlib_stub")).returncode == 0

    def test_optional_native_whose_fallback_is_missing(self, tmp_path):
        bundle = tmp_path / "b.zip"
        assert run_cli("bundle", entry("verify_optional_native"), "-o", bundle).returncode == 0
        failed = run_cli("verify", "--bundle", bundle, "--exercise")
        assert failed.returncode == 1 and "accel_fallback is missing from the bundle" in failed.stderr
        assert run_cli("verify", entry("verify_optional_native"), "--exercise").returncode == 0

    def test_module_excluded_by_the_user(self):
        # cpython-wasi: six itself needs `types`, which the basilisk runtime stubs.
        failed = run_cli("verify", entry("verify_excluded"), "--exclude", "six", "--target", "cpython-wasi")
        assert failed.returncode == 1
        assert "six is missing from the bundle" in failed.stderr
        assert "matched by --exclude" in failed.stderr and "remove the --exclude" in failed.stderr
        assert run_cli("verify", entry("verify_excluded"), "--target", "cpython-wasi").returncode == 0

    def test_package_not_installed(self):
        failed = run_cli("verify", entry("verify_not_installed"), "--exercise")
        assert failed.returncode == 1
        assert "vni_helper is missing from the bundle" in failed.stderr
        assert "pip install vni_helper" in failed.stderr
        package = FIXTURES / "verify_not_installed" / "package"
        subprocess.run([*PIP, "install", str(package)], check=True, cwd=ROOT)
        try:
            fixed = run_cli("verify", entry("verify_not_installed"), "--exercise")
            assert fixed.returncode == 0, fixed.stderr
        finally:
            subprocess.run([*PIP, "uninstall", "-y", "vni-helper"], check=True)
            # pip builds in the source tree: leave the fixture as it was.
            for leftover in [*package.glob("**/*.egg-info"), package / "build"]:
                shutil.rmtree(leftover, ignore_errors=True)


def _cpython_error(code: str, path: str = "") -> str:
    """The last line CPython itself prints for `code` (with `path` first on sys.path)."""
    code = f"import sys; sys.path.insert(0, {path!r}); {code}" if path else code
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
    return done.stderr.strip().splitlines()[-1]


class TestWhyError:
    @pytest.mark.parametrize(("code", "module"), [
        ("import plugins_gamma_nowhere", "plugins_gamma_nowhere"),
        ("from markupsafe import nothing_here_at_all", "markupsafe.nothing_here_at_all"),
        ("import types; types.__dict__.clear(); import sys; m = type(sys)('colorsys'); m.hsv", "colorsys"),
    ])
    def test_modules_found_in_real_cpython_errors(self, code, module):
        from basilisk_trace.bundler.check.canister_log import modules_in

        text = _cpython_error(code)
        assert module in [m.module for m in modules_in(text)], text

    def test_why_error_explains_against_a_fresh_trace(self):
        text = _cpython_error("import plugins.gamma", str(FIXTURES / "dynamic_import" / "no_gamma"))
        assert text == "ModuleNotFoundError: No module named 'plugins.gamma'"
        done = run_cli("why", "--error", text, entry("dynamic_import"))
        assert done.returncode == 0, done.stderr
        assert "plugins.gamma: never seen" in done.stdout and "--include plugins.gamma" in done.stdout

    def test_why_log_with_stub_error(self, tmp_path):
        log = tmp_path / "canister.log"
        log.write_text("[init] loading\nAttributeError: module 're' has no attribute 'compile'\n")
        done = run_cli("why", "--log", log, entry("verify_stdlib_cannot_ship"))
        assert "re: excluded (stdlib-cannot-ship)" in done.stdout and "re cannot run on the basilisk target" in done.stdout
        assert "no bundle can make it work there" in done.stdout

    def test_why_bundle_answers_from_the_manifest(self, tmp_path):
        bundle = tmp_path / "b.zip"
        # For a full stdlib: on basilisk's, simplejson's decimal cannot start (test_bundle.py).
        assert run_cli("bundle", entry("optional_natives"), "--target", "cpython-wasi", "-o", bundle).returncode == 0
        inside = run_cli("why", "--bundle", bundle, "markupsafe._native")
        assert "in the bundle as markupsafe/_native.py" in inside.stdout
        outside = run_cli("why", "--bundle", bundle, "markupsafe._speedups")
        assert "not in the bundle (optional-native)" in outside.stdout

    def test_why_module_included_and_excluded(self):
        included = run_cli("why", "yaml.loader", entry("optional_natives"))
        assert "yaml.loader: included (traced)" in included.stdout
        assert "chain: main -> yaml" in included.stdout
        excluded = run_cli("why", "numpy", entry("type_checking"))
        assert "numpy: never seen" in excluded.stdout or "type-checking" in excluded.stdout


class TestZipWithoutManifest:
    """A ZIP another tool made (no basilisk-bundle.json): verify reads what it can, or says in one line what it needs."""

    @staticmethod
    def _zip(path, files):
        import zipfile

        with zipfile.ZipFile(path, "w") as archive:
            for name, text in files.items():
                archive.writestr(name, text)
        return path

    def test_its_main_runs_from_its_files(self, tmp_path):
        source = (FIXTURES / "runtime_types" / "main.py").read_text()
        bundle = self._zip(tmp_path / "other.zip", {"main.py": source})
        done = run_cli("verify", "--bundle", bundle, "--exercise")
        assert done.returncode == 0, done.stderr
        assert "has no basilisk-bundle.json: running main from its files alone" in done.stderr
        assert "methods called" in done.stdout

    def test_a_missing_module_is_named_without_a_reason_it_cannot_know(self, tmp_path):
        bundle = self._zip(tmp_path / "other.zip", {"main.py": "import helper\n"})
        done = run_cli("verify", "--bundle", bundle)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert "helper is missing from the bundle, used by main" in done.stderr
        assert "no basilisk-bundle.json to say why" in done.stderr

    def test_without_main_py_one_line_says_what_it_needs(self, tmp_path):
        bundle = self._zip(tmp_path / "other.zip", {"app.py": "x = 1\n"})
        done = run_cli("verify", "--bundle", bundle)
        assert done.returncode == 1
        [line] = done.stderr.strip().splitlines()
        assert line.startswith("basilisk-trace: error: ") and "pass the entry file" in line
        given = run_cli("verify", tmp_path / "app.py", "--bundle", bundle)
        assert "running app from its files alone" in given.stderr
