"""The wasix target: native code comes from wasm32-wasix wheels the tests build themselves."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from helpers import FIXTURES, run_cli, zip_names

NATIVE = b"\0asm\x01\0\0\0 stand-in for a wasm32-wasix extension"


def make_wheel(directory: Path, name: str, version: str, files: dict[str, bytes]) -> Path:
    """A minimal wheel tagged for wasm32-wasix, as wasix-org's index publishes them."""
    filename = f"{name}-{version}-cp313-cp313-wasix_wasm32.whl"
    buffer = io.BytesIO()
    dist_info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(buffer, "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
        wheel.writestr(f"{dist_info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        wheel.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: false\n"
                                             "Tag: cp313-cp313-wasix_wasm32\n")
        wheel.writestr(f"{dist_info}/RECORD", "")
    path = directory / filename
    path.write_bytes(buffer.getvalue())
    return path


def test_native_package_bundled_from_its_wasix_wheel(tmp_path):
    wheelhouse = tmp_path / "wheels"
    wheelhouse.mkdir()
    make_wheel(wheelhouse, "markupsafe", "3.0.4", {
        "markupsafe/__init__.py": b"from ._speedups import _escape_inner\n",
        "markupsafe/_speedups.cpython-313-wasm32-wasix.so": NATIVE,
    })
    out = tmp_path / "b.zip"
    done = run_cli("bundle", FIXTURES / "required_native" / "main.py", "--target", "wasix",
                   "--wheelhouse", wheelhouse, "-o", out)
    assert done.returncode == 0, done.stderr
    files = zip_names(out.read_bytes())
    assert files["markupsafe/_speedups.cpython-313-wasm32-wasix.so"] == NATIVE
    assert files["markupsafe/__init__.py"] == b"from ._speedups import _escape_inner\n"
    assert "markupsafe/_native.py" not in files  # nothing of the host's build is left
    assert not any(name.endswith("x86_64-linux-gnu.so") for name in files)
    assert "mathutil.py" in files and "main.py" in files


def test_missing_wheel_is_a_clear_error(tmp_path):
    wheelhouse = tmp_path / "empty"
    wheelhouse.mkdir()
    out = tmp_path / "b.zip"
    done = run_cli("bundle", FIXTURES / "required_native" / "main.py", "--target", "wasix",
                   "--wheelhouse", wheelhouse, "-o", out)
    assert done.returncode == 1 and not out.exists()
    assert "MarkupSafe" in done.stderr or "markupsafe" in done.stderr
    assert str(wheelhouse) in done.stderr


def test_no_wheel_source_given(tmp_path):
    done = run_cli("bundle", FIXTURES / "required_native" / "main.py", "--target", "wasix",
                   "-o", tmp_path / "b.zip")
    assert done.returncode == 1
    assert "--wheelhouse" in done.stderr and "wasm32-wasix" in done.stderr
