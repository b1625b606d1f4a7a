"""Tests for the deterministic bundle ZIP writer."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from helpers import import_tree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_bootstrap import other_pythons

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.bundler.format.manifest import (
    MANIFEST_NAME,
    MANIFEST_SCHEMA,
    ArchiveError,
    Manifest,
)
from basilisk_trace.bundler.write.archive import (
    BundleFile,
    build_zip,
    bundle_sha256,
    manifest_bytes,
)

REPO = Path(__file__).resolve().parents[1]


def _file(arcname: str, data: bytes = b"x = 1\n", module: str | None = None) -> BundleFile:
    return BundleFile(arcname, data, module, "demo", "1.0", "import")


SAMPLE = [
    _file("main.py", b"import pkg.sub\n", "main"),
    _file("pkg/__init__.py", b"", "pkg"),
    _file("pkg/sub.py", b"VALUE = 42\n" * 50, "pkg.sub"),
    _file("pkg/data/table.bin", bytes(range(256))),
    _file("demo-1.0.dist-info/METADATA", b"Name: demo\nVersion: 1.0\n"),
]

_component = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\\\x00:"),
    min_size=1,
    max_size=12,
).filter(lambda c: c not in {".", ".."} and len(c.encode()) < 100)
_arcname = st.lists(_component, min_size=1, max_size=4).map("/".join)
_payload = st.binary(max_size=2048)


def _no_file_dir_clash(names: list[str]) -> bool:
    # A path cannot be both a file and a directory when extracted.
    dirs = {"/".join(n.split("/")[:i]) for n in names for i in range(1, n.count("/") + 1)}
    return not dirs & set(names) and MANIFEST_NAME not in names


_tree = st.dictionaries(_arcname, _payload, max_size=8).filter(lambda d: _no_file_dir_clash(list(d)))


def _files(tree: dict[str, bytes]) -> list[BundleFile]:
    return [BundleFile(name, data, None, None, None, "data") for name, data in tree.items()]


class TestDeterminism:
    def test_same_input_same_bytes(self) -> None:
        assert build_zip(SAMPLE) == build_zip(list(SAMPLE))

    def test_input_order_does_not_matter(self) -> None:
        assert build_zip(SAMPLE) == build_zip(list(reversed(SAMPLE)))

    def test_other_cwd_umask_timezone_and_user(self, tmp_path: Path) -> None:
        # A child with another cwd, umask, TZ, HOME and USER, started later, must agree.
        env = {**os.environ, "TZ": "Pacific/Chatham", "HOME": str(tmp_path), "USER": "someone-else"}
        assert _child_hashes(sys.executable, cwd=tmp_path, env=env, umask=0o077) == _hashes(SAMPLE[::-1])

    @pytest.mark.parametrize("python", other_pythons())
    def test_other_python_versions_agree(self, python: str) -> None:
        # zipfile's defaults moved between releases (3.13 added ZipInfo.compress_level).
        assert _child_hashes(python) == _hashes(SAMPLE)

    def test_golden_stored_bundle(self) -> None:
        # Pinned so that a change in zipfile's output (a new extra field, a
        # timestamp leak) shows up as a test failure, not a silent hash change.
        assert bundle_sha256(build_zip(SAMPLE, manifest=Manifest(entry="main"))) == GOLDEN

    @given(tree=_tree)
    @settings(max_examples=40, deadline=None)
    def test_reverse_order_is_byte_identical(self, tree: dict[str, bytes]) -> None:
        files = _files(tree)
        assert build_zip(files) == build_zip(files[::-1])


def _hashes(files: list[BundleFile]) -> list[str]:
    return [bundle_sha256(build_zip(files, compression=c)) for c in ("stored", "deflated")]


def _child_hashes(python: str, cwd: Path | None = None, env: dict[str, str] | None = None, umask: int = 0o022) -> list[str]:
    """SAMPLE's bundle hashes as computed by another interpreter process."""
    script = (
        "import os, sys; os.umask(int(sys.argv[3])); sys.path.insert(0, sys.argv[1])\n"
        "from basilisk_trace.bundler.write.archive import BundleFile, build_zip, bundle_sha256\n"
        "files = [BundleFile(n, d, m, 'demo', '1.0', 'import') for n, d, m in eval(sys.argv[2])]\n"
        "print(*[bundle_sha256(build_zip(files, compression=c)) for c in ('stored', 'deflated')])\n"
    )
    spec = repr([(f.arcname, f.data, f.module) for f in SAMPLE])
    child = subprocess.run(
        [python, "-I", "-c", script, str(import_tree(Path(tempfile.mkdtemp()))), spec, str(umask)],
        cwd=cwd, env=env, capture_output=True, text=True, check=True,
    )
    return child.stdout.split()


GOLDEN = "3b6c0c1b0bb25717f0faf86e6c2822e13192368ff98e736c5c980fb39c45e05e"


class TestEntries:
    def test_every_header_field_is_fixed(self) -> None:
        archive = zipfile.ZipFile(io.BytesIO(build_zip(SAMPLE, compression="deflated")))
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == 0o100644
            assert info.create_system == 3
            assert info.extra == b""
            assert info.comment == b""
            assert info.compress_type == zipfile.ZIP_DEFLATED
        assert archive.comment == b""

    def test_local_headers_carry_no_extra_fields(self) -> None:
        raw = build_zip(SAMPLE)
        archive = zipfile.ZipFile(io.BytesIO(raw))
        for info in archive.infolist():
            header = raw[info.header_offset : info.header_offset + 30]
            assert header[:4] == b"PK\x03\x04"
            assert int.from_bytes(header[10:12], "little") == 0  # DOS time 00:00:00
            assert int.from_bytes(header[12:14], "little") == (1 << 5) | 1  # 1980-01-01
            assert int.from_bytes(header[28:30], "little") == 0  # extra length

    def test_entries_sorted_and_stored_by_default(self) -> None:
        archive = zipfile.ZipFile(io.BytesIO(build_zip(SAMPLE)))
        names = archive.namelist()
        assert names == sorted(names)
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}
        assert archive.testzip() is None

    def test_deflated_is_smaller_and_reads_back(self) -> None:
        stored, deflated = build_zip(SAMPLE), build_zip(SAMPLE, compression="deflated")
        assert len(deflated) < len(stored)
        archive = zipfile.ZipFile(io.BytesIO(deflated))
        assert archive.read("pkg/sub.py") == b"VALUE = 42\n" * 50

    @given(tree=_tree, compression=st.sampled_from(["stored", "deflated"]))
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    def test_round_trip_through_zipfile_and_extraction(
        self, tmp_path_factory: pytest.TempPathFactory, tree: dict[str, bytes], compression: str
    ) -> None:
        raw = build_zip(_files(tree), compression=compression)  # type: ignore[arg-type]
        archive = zipfile.ZipFile(io.BytesIO(raw))
        assert sorted(archive.namelist()) == sorted([*tree, MANIFEST_NAME])
        for name, data in tree.items():
            assert archive.read(name) == data
        target = tmp_path_factory.mktemp("out")
        archive.extractall(target)
        for name, data in tree.items():
            assert (target / name).read_bytes() == data


class TestManifest:
    def _manifest(self, raw: bytes) -> dict:
        return json.loads(zipfile.ZipFile(io.BytesIO(raw)).read(MANIFEST_NAME))

    def test_lists_every_file_but_itself(self) -> None:
        manifest = self._manifest(build_zip(SAMPLE, manifest=Manifest(entry="main", target_python="3.13")))
        assert manifest["schema"] == MANIFEST_SCHEMA
        assert manifest["entry"] == "main" and manifest["target_python"] == "3.13"
        paths = [entry["path"] for entry in manifest["files"]]
        assert paths == sorted(f.arcname for f in SAMPLE)
        sub = next(e for e in manifest["files"] if e["path"] == "pkg/sub.py")
        assert sub == {
            "path": "pkg/sub.py", "size": 550, "sha256": hashlib.sha256(b"VALUE = 42\n" * 50).hexdigest(),
            "module": "pkg.sub", "distribution": "demo", "version": "1.0", "reason": "import",
        }

    def test_json_is_canonical(self) -> None:
        text = zipfile.ZipFile(io.BytesIO(build_zip(SAMPLE))).read(MANIFEST_NAME).decode("ascii")
        document = json.loads(text)
        assert text == json.dumps(document, sort_keys=True, indent=1, separators=(",", ": ")) + "\n"

    @given(st.builds(Manifest, entry=st.none() | st.text(max_size=20), target=st.none() | st.sampled_from(
        ["basilisk", "pyodide"]), target_python=st.none() | st.text(max_size=8)))
    def test_a_manifest_reads_back_as_written(self, manifest: Manifest) -> None:
        text = manifest_bytes(SAMPLE, manifest)
        loaded = Manifest.load(text, "x")
        assert loaded.dump() == text
        assert (loaded.entry, loaded.target, loaded.target_python) == (
            manifest.entry, manifest.target, manifest.target_python)
        assert [f.path for f in loaded.files] == sorted(f.arcname for f in SAMPLE)


class TestRejects:
    @pytest.mark.parametrize(
        "arcname",
        ["", "/etc/passwd", "../up.py", "pkg/../../up.py", "pkg\\mod.py", "C:/x.py", "c:x.py",
         "pkg//mod.py", "./mod.py", "pkg/", "a\x00b"],
    )
    def test_unsafe_arcnames(self, arcname: str) -> None:
        with pytest.raises(ArchiveError, match="unsafe path"):
            build_zip([_file(arcname)])

    def test_duplicates(self) -> None:
        with pytest.raises(ArchiveError, match="duplicate path 'pkg/sub.py'"):
            build_zip([*SAMPLE, _file("pkg/sub.py", b"other")])

    def test_manifest_name_is_reserved(self) -> None:
        with pytest.raises(ArchiveError, match="reserved"):
            build_zip([_file(MANIFEST_NAME)])

    @pytest.mark.parametrize("compression", ["bzip2", "", None, "STORED"])
    def test_invalid_compression(self, compression: object) -> None:
        with pytest.raises(ArchiveError, match="unknown compression"):
            build_zip(SAMPLE, compression=compression)  # type: ignore[arg-type]

    def test_errors_share_the_root(self) -> None:
        assert issubclass(ArchiveError, BasiliskTraceError)

    def test_dots_inside_names_are_fine(self) -> None:
        names = ["..hidden/x.py", "a../b", ".config"]
        raw = build_zip([_file(n) for n in names])
        assert set(zipfile.ZipFile(io.BytesIO(raw)).namelist()) == {*names, MANIFEST_NAME}
