"""Tests for reading bundles back: validation, lookup, and fuzzed damage."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.bundler.format.bundle_reader import Bundle, BundleError, read_bundle
from basilisk_trace.bundler.format.manifest import MANIFEST_NAME, Manifest, ManifestEntry
from basilisk_trace.bundler.write.archive import BundleFile, build_zip

FILES = [
    BundleFile("main.py", b"import pkg.sub\nimport lonely\n", "main", None, None, "entry"),
    BundleFile("pkg/__init__.py", b"", "pkg", "demo", "1.0", "import"),
    BundleFile("pkg/sub.py", b"VALUE = 42\n" * 40, "pkg.sub", "demo", "1.0", "import"),
    BundleFile("pkg/data.json", b'{"a": 1}', "pkg", "demo", "1.0", "data"),
    BundleFile("lonely.py", b"X = 1\n", None, None, None, "import"),
    BundleFile("demo-1.0.dist-info/METADATA", b"Name: demo\n", None, "demo", "1.0", "metadata"),
]
STORED = build_zip(FILES, manifest=Manifest(entry="main", target="basilisk"))
DEFLATED = build_zip(FILES, compression="deflated", manifest=Manifest(entry="main"))


def _rezip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _members(raw: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(raw))
    return {name: archive.read(name) for name in archive.namelist()}


def _with_manifest(document: object) -> bytes:
    members = _members(STORED)
    members[MANIFEST_NAME] = json.dumps(document).encode()
    return _rezip(members)


def _manifest() -> dict:
    return json.loads(_members(STORED)[MANIFEST_NAME])


class TestRead:
    def test_reads_what_build_zip_wrote(self) -> None:
        bundle = read_bundle(STORED, verify=True)
        assert bundle.manifest.schema == 1
        assert bundle.entry == "main"
        assert (bundle.manifest.entry, bundle.manifest.target) == ("main", "basilisk")
        assert [entry.path for entry in bundle.files] == sorted(f.arcname for f in FILES)
        assert bundle.files[0] == ManifestEntry(
            "demo-1.0.dist-info/METADATA", 11, bundle.files[0].sha256, None, "demo", "1.0", "metadata"
        )

    def test_reads_deflated_and_from_a_path(self, tmp_path: Path) -> None:
        path = tmp_path / "bundle.zip"
        path.write_bytes(DEFLATED)
        bundle = read_bundle(path, verify=True)
        assert bundle.source == str(path)
        assert len(bundle.files) == len(FILES)

    def test_bundle_sha256_is_of_the_whole_file(self) -> None:
        import hashlib

        assert read_bundle(STORED).sha256 == hashlib.sha256(STORED).hexdigest()


class TestFind:
    @pytest.mark.parametrize(
        ("module", "path"),
        [("pkg", "pkg/__init__.py"), ("pkg.sub", "pkg/sub.py"), ("main", "main.py"), ("lonely", "lonely.py")],
    )
    def test_finds_modules(self, module: str, path: str) -> None:
        found = read_bundle(STORED).find(module)
        assert found is not None and found.path == path

    @pytest.mark.parametrize("module", ["missing", "pkg.data", "pk", "pkg.sub.deeper", "demo"])
    def test_absent_modules(self, module: str) -> None:
        assert read_bundle(STORED).find(module) is None

    def test_module_field_for_a_renamed_file(self) -> None:
        entry = ManifestEntry("vendored/_six.py", 1, "0" * 64, "six", None, None, "import")
        bundle = Bundle("x", "0" * 64, Manifest(files=(entry,)))
        assert bundle.find("six") == entry


class TestRejects:
    def _error(self, data: bytes | str | Path, verify: bool = False) -> str:
        with pytest.raises(BundleError) as info:
            read_bundle(data, verify=verify)
        message = str(info.value)
        assert "\n" not in message
        return message

    def test_missing_file(self, tmp_path: Path) -> None:
        assert "check the path" in self._error(tmp_path / "nope.zip")

    def test_directory(self, tmp_path: Path) -> None:
        assert str(tmp_path) in self._error(tmp_path)

    @pytest.mark.parametrize("data", [b"", b"hello", b"PK\x05\x06" + b"\x00" * 18 + b"junk", STORED[:-5], STORED[:100]])
    def test_not_a_zip(self, data: bytes) -> None:
        assert "rebuild" in self._error(data)

    def test_no_manifest(self) -> None:
        members = _members(STORED)
        del members[MANIFEST_NAME]
        assert f"no {MANIFEST_NAME}" in self._error(_rezip(members))

    @pytest.mark.parametrize("text", [b"{", b"\xff\xfe", b"[" * 100_000, b"1" * 5000])
    def test_manifest_not_json(self, text: bytes) -> None:
        members = _members(STORED)
        members[MANIFEST_NAME] = text
        assert "JSON" in self._error(_rezip(members))

    @pytest.mark.parametrize(
        ("change", "expected"),
        [
            (lambda m: m.update(schema=2), "schema 2 is not 1"),
            (lambda m: m.update(schema="1"), "'schema' has the wrong type"),
            (lambda m: m.update(schema=True), "'schema' has the wrong type"),
            (lambda m: m.pop("files"), "missing 'files'"),
            (lambda m: m.update(files={}), "'files' has the wrong type"),
            (lambda m: m["files"].append(3), "not an object"),
            (lambda m: m["files"][0].update(size=-1), "bad size"),
            (lambda m: m["files"][0].update(size=True), "'size' has the wrong type"),
            (lambda m: m["files"][0].update(sha256="ABC"), "bad size or sha256"),
            (lambda m: m["files"][0].update(module=7), "'module' has the wrong type"),
            (lambda m: m["files"][0].pop("reason"), "missing 'reason'"),
            (lambda m: m["files"][0].update(path="../evil.py"), "unsafe path"),
            (lambda m: m["files"].append(dict(m["files"][0])), "lists a path twice"),
        ],
    )
    def test_malformed_manifest(self, change, expected: str) -> None:
        document = _manifest()
        change(document)
        assert expected in self._error(_with_manifest(document))

    def test_not_an_object(self) -> None:
        assert "not a JSON object" in self._error(_with_manifest([1, 2]))

    def test_verify_catches_changed_content(self) -> None:
        members = _members(STORED)
        members["pkg/sub.py"] = b"VALUE = 43\n" * 40
        damaged = _rezip(members)
        read_bundle(damaged)  # the manifest alone is still fine
        assert "'pkg/sub.py' does not match" in self._error(damaged, verify=True)

    def test_verify_catches_missing_and_unlisted(self) -> None:
        members = _members(STORED)
        del members["lonely.py"]
        assert "missing from the ZIP" in self._error(_rezip(members), verify=True)
        members = _members(STORED)
        members["extra.py"] = b""
        assert "'extra.py' is in the ZIP but not in the manifest" in self._error(_rezip(members), verify=True)

    def test_verify_catches_a_flipped_payload_byte(self) -> None:
        offset = STORED.index(b"VALUE = 42")
        damaged = STORED[:offset] + b"W" + STORED[offset + 1 :]
        assert "rebuild" in self._error(damaged, verify=True)

    def test_encrypted_or_exotic_entries(self) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_BZIP2) as archive:
            archive.writestr(MANIFEST_NAME, json.dumps(_manifest()))
        assert "unsupported compression" in self._error(buffer.getvalue())

    def test_errors_share_the_root(self) -> None:
        assert issubclass(BundleError, BasiliskTraceError)


def _mutate(data: st.DataObject, raw: bytes) -> bytes:
    kind = data.draw(st.sampled_from(["truncate", "flip", "splice", "insert", "overwrite"]))
    position = data.draw(st.integers(0, len(raw) - 1))
    if kind == "truncate":
        return raw[:position]
    if kind == "flip":
        bit = 1 << data.draw(st.integers(0, 7))
        return raw[:position] + bytes([raw[position] ^ bit]) + raw[position + 1 :]
    if kind == "insert":
        return raw[:position] + data.draw(st.binary(min_size=1, max_size=8)) + raw[position:]
    if kind == "overwrite":
        patch = data.draw(st.binary(min_size=1, max_size=8))
        return raw[:position] + patch + raw[position + len(patch) :]
    other = data.draw(st.sampled_from([STORED, DEFLATED]))
    return raw[:position] + other[data.draw(st.integers(0, len(other) - 1)) :]


@given(data=st.data(), verify=st.booleans())
@settings(max_examples=max(400, settings.default.max_examples), deadline=None)
def test_fuzzed_bundles_only_ever_raise_bundle_error(data: st.DataObject, verify: bool) -> None:
    raw = data.draw(st.sampled_from([STORED, DEFLATED]))
    for _ in range(data.draw(st.integers(1, 3))):
        raw = _mutate(data, raw) or raw[:0]
        if not raw:
            break
    try:
        bundle = read_bundle(raw, verify=verify)
    except BundleError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("<bundle bytes>")
    else:
        assert isinstance(bundle, Bundle)
