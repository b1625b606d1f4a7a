"""Nothing leaves the project that should not: symbolic links are resolved before anything is bundled."""

from __future__ import annotations

from pathlib import Path

import pytest

from basilisk_trace import tracer
from basilisk_trace.bundler.format.manifest import MANIFEST_NAME
from basilisk_trace.bundler.hosts import load_profile
from basilisk_trace.bundler.plan.containment import BUNDLE_MANIFEST, escape, own_output, real_roots
from basilisk_trace.bundler.plan.model import PlanOptions
from basilisk_trace.bundler.plan.planner import plan_bundle

SECRET = "-----BEGIN OPENSSH PRIVATE KEY----- not really\n"


# The secrets sit beside the project, in its repository: outside the project, yet visible to a
# sandboxed dry run (which would hide a private /tmp or home), so the link is what is tested.
@pytest.fixture()
def secrets(tmp_path: Path) -> Path:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    home = tmp_path / "repo" / "secrets" / ".ssh"
    home.mkdir(parents=True)
    (home / "id_rsa").write_text(SECRET)
    (home / "config.py").write_text("HOST = 'prod'\n")
    return home


def _plan(entry: Path, tmp_path: Path):
    trace = tracer.trace(entry, tracer.DryRunOptions(cache_dir=tmp_path / "cache"))
    return plan_bundle(trace, load_profile("basilisk"), PlanOptions())


def _project(tmp_path: Path, main: str) -> Path:
    project = tmp_path / "repo" / "project"
    project.mkdir(parents=True)
    (project / "main.py").write_text(main)
    return project


def test_a_file_linked_to_a_secret_is_not_bundled(tmp_path, secrets):
    project = _project(tmp_path, "import os\nKEY = open(os.path.join(os.path.dirname(__file__), 'key.txt')).read()\n")
    (project / "key.txt").symlink_to(secrets / "id_rsa")
    plan = _plan(project / "main.py", tmp_path)
    assert [f.arcname for f in plan.files] == ["main.py"]
    assert any("symbolic link" in w.message and "id_rsa" in w.message for w in plan.warnings)


def test_a_folder_linked_to_a_secret_folder_is_not_bundled(tmp_path, secrets):
    project = _project(tmp_path, "import os\nKEY = open(os.path.join(os.path.dirname(__file__), 'conf', 'id_rsa')).read()\n")
    (project / "conf").symlink_to(secrets, target_is_directory=True)
    plan = _plan(project / "main.py", tmp_path)
    assert all("id_rsa" not in f.arcname for f in plan.files)
    assert any("symbolic link" in w.message for w in plan.warnings)


def test_a_module_linked_out_of_the_project_is_not_bundled(tmp_path, secrets):
    project = _project(tmp_path, "import config\n")
    (project / "config.py").symlink_to(secrets / "config.py")
    plan = _plan(project / "main.py", tmp_path)
    assert "config.py" not in [f.arcname for f in plan.files]
    decision = next(d for d in plan.decisions if d.module == "config")
    assert not decision.included and decision.reason == "outside"


def test_a_link_within_the_project_is_still_bundled(tmp_path):
    project = _project(tmp_path, "import os\nDATA = open(os.path.join(os.path.dirname(__file__), 'alias.txt')).read()\n")
    (project / "real.txt").write_text("fine")
    (project / "alias.txt").symlink_to(project / "real.txt")
    plan = _plan(project / "main.py", tmp_path)
    assert "alias.txt" in [f.arcname for f in plan.files]
    assert not any("symbolic link" in w.message for w in plan.warnings)


def test_a_link_in_a_site_packages_package_is_not_bundled(tmp_path, secrets, monkeypatch):
    site = tmp_path / "repo" / "lib" / "site-packages"
    package = site / "leaky"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "import os\nKEY = open(os.path.join(os.path.dirname(__file__), 'data', 'key')).read()\n")
    (package / "data").mkdir()
    (package / "data" / "key").symlink_to(secrets / "id_rsa")
    monkeypatch.setenv("PYTHONPATH", str(site))
    project = _project(tmp_path, "import leaky\n")
    plan = _plan(project / "main.py", tmp_path)
    assert "leaky/__init__.py" in [f.arcname for f in plan.files]
    assert "leaky/data/key" not in [f.arcname for f in plan.files]
    assert any("symbolic link" in w.message for w in plan.warnings)


def test_escape_resolves_links_of_the_roots_too(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.txt").write_text("x")
    linked_root = tmp_path / "linked"
    linked_root.symlink_to(real, target_is_directory=True)
    roots = real_roots([str(linked_root)])
    assert escape(str(linked_root / "a.txt"), roots) is None
    assert escape("/etc/passwd", roots) == "/etc/passwd"


def test_own_output_recognises_bundles_only(tmp_path):
    bundle = tmp_path / "b.zip"
    bundle.write_bytes(b"PK\x03\x04" + MANIFEST_NAME.encode())
    other = tmp_path / "o.zip"
    other.write_bytes(b"PK\x03\x04 some other archive")
    assert own_output(str(bundle)) and not own_output(str(other))
    assert not own_output(str(tmp_path / "missing"))
    assert MANIFEST_NAME.encode() == BUNDLE_MANIFEST
