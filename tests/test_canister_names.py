"""Canister names become file names (<name>.zip, .basilisk/<name>/): whatever the name, nothing lands outside."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from basilisk_trace.bundler.cli.canisters import ProjectError, check_canister_name
from basilisk_trace.bundler.write.ic_basilisk import IcBasiliskError, check_environment

# Names built from the characters that matter for paths, and from any text at all.
_names = st.one_of(st.text(alphabet="./\\\x00ab_-", max_size=8), st.text(max_size=12))


def _inside(folder: Path, child: Path) -> bool:
    return os.path.commonpath([folder.resolve(), child.resolve()]) == str(folder.resolve())


@given(name=_names)
def test_bundle_names_stay_in_the_output(name: str) -> None:
    out = Path("/tmp/out")
    try:
        check_canister_name(name, "dfx.json")
    except ProjectError as exc:
        assert str(exc).startswith(f"dfx.json: canister name {name[:100]!r} cannot name a file in the output directory")
        return
    target = out / f"{name}.zip"
    assert _inside(out, target) and target.parent == out and not name.startswith(".")


@given(name=_names)
def test_canister_names_stay_in_basilisk_dir(name: str, monkeypatch_env: None) -> None:
    try:
        check_environment(name)
    except IcBasiliskError as exc:
        assert "cannot be a file name under .basilisk/" in str(exc)
        return
    basilisk_dir = Path("/tmp/project/.basilisk")
    canister_dir = basilisk_dir / name
    assert _inside(basilisk_dir, canister_dir) and canister_dir.resolve() != basilisk_dir.resolve()
    assert canister_dir.parent == basilisk_dir


@pytest.fixture(scope="module")
def monkeypatch_env() -> object:
    # check_environment also wants the Candid path python -m basilisk wants; the template is left unset.
    saved = {k: os.environ.get(k) for k in ("CANISTER_CANDID_PATH", "BASILISK_TEMPLATE_WASM")}
    os.environ["CANISTER_CANDID_PATH"] = "out.did"
    os.environ.pop("BASILISK_TEMPLATE_WASM", None)
    yield None
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
