"""Tests for bundler.wasix: finding wasm32-wasix wheels and reading their files."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.bundler.write.wasix_wheels import (
    WasixWheelError,
    WheelRef,
    find_wasix_wheel,
    normalize,
    wheel_files,
)

NATIVE = {
    "fastjson/__init__.py": b"from ._speed import dumps\n",
    "fastjson/_speed.so": b"\0asm\1\0\0\0",
}


def make_wheel(directory: Path, filename: str, files: dict[str, bytes] | None = None) -> Path:
    """Write a real wheel: its payload plus a .dist-info with WHEEL and METADATA."""
    directory.mkdir(parents=True, exist_ok=True)
    name, version = filename.split("-")[:2]
    dist_info = f"{name}-{version}.dist-info"
    path = directory / filename
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in (files if files is not None else NATIVE).items():
            archive.writestr(member, data)
        archive.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: false\n")
        archive.writestr(f"{dist_info}/METADATA", f"Name: {name}\nVersion: {version}\n")
    return path


def make_index(root: Path, project: str, wheels: list[Path], extra: str = "") -> Path:
    """A static PEP 503 index: simple/<project>/index.html linking ../../files/<wheel>#sha256."""
    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    anchors = []
    for wheel in wheels:
        target = files / wheel.name
        target.write_bytes(wheel.read_bytes())
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        anchors.append(f'<a href="../../files/{wheel.name}#sha256={digest}">{wheel.name}</a>')
    page = root / "simple" / project
    page.mkdir(parents=True, exist_ok=True)
    (page / "index.html").write_text(
        "<!DOCTYPE html><html><body>" + "<br>".join(anchors) + extra + "</body></html>",
        encoding="utf-8",
    )
    return root / "simple"


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """Wheels built in a scratch folder, to be copied into a wheelhouse or an index."""
    return tmp_path / "built"


class TestWheelhouse:
    def test_picks_newest_wasix_wheel(self, tmp_path: Path) -> None:
        house = tmp_path / "house"
        make_wheel(house, "fastjson-2.0.2-cp313-cp313-wasix_wasm32.whl")
        make_wheel(house, "fastjson-2.3.2-cp313-cp313-wasix_wasm32.whl")
        make_wheel(house, "fastjson-2.4.0-cp313-cp313-linux_x86_64.whl")
        make_wheel(house, "fastjson-2.10.0rc1-cp313-cp313-wasix_wasm32.whl")
        make_wheel(house, "fastjson-2.3.10-cp313-cp313-wasix_wasm32.whl")
        ref = find_wasix_wheel("fastjson", None, wheelhouse=house, index_url=None)
        assert ref.version == "2.10.0rc1"
        assert ref.location == str(house / ref.filename)

    @pytest.mark.parametrize(("asked", "found"), [("2.0.2", "2.0.2"), ("2.3", "2.3.0")])
    def test_pinned_version(self, tmp_path: Path, asked: str, found: str) -> None:
        make_wheel(tmp_path, "fastjson-2.0.2-cp313-cp313-wasix_wasm32.whl")
        make_wheel(tmp_path, "fastjson-2.3.0-cp313-cp313-wasix_wasm32.whl")
        ref = find_wasix_wheel("fastjson", asked, wheelhouse=tmp_path, index_url=None)
        assert ref.version == found

    @pytest.mark.parametrize("wanted", ["Markup.Safe", "markup-safe", "MARKUP_SAFE"])
    def test_pep503_names(self, tmp_path: Path, wanted: str) -> None:
        make_wheel(tmp_path, "markup_safe-3.0.2-cp313-cp313-wasm32_wasix.whl")
        assert (
            find_wasix_wheel(wanted, None, wheelhouse=tmp_path, index_url=None).distribution
            == "markup_safe"
        )

    def test_abi3_fits_and_exact_tag_wins(self, tmp_path: Path) -> None:
        make_wheel(tmp_path, "crypto-3.23.0-cp37-abi3-wasix_wasm32.whl")
        assert find_wasix_wheel("crypto", None, wheelhouse=tmp_path, index_url=None).abi_tags == (
            "abi3",
        )
        make_wheel(tmp_path, "crypto-3.23.0-cp313-cp313-wasix_wasm32.whl")
        assert find_wasix_wheel("crypto", None, wheelhouse=tmp_path, index_url=None).abi_tags == (
            "cp313",
        )

    @pytest.mark.parametrize(
        "filename",
        [
            "fastjson-1.0-py3-none-any.whl",  # pure: not a WASIX build
            "fastjson-1.0-cp314-cp314-wasix_wasm32.whl",  # another CPython
            "fastjson-1.0-cp312-cp312-wasix_wasm32.whl",
            "fastjson-1.0-cp314-abi3-wasix_wasm32.whl",  # abi3 from a newer minor
            "fastjson-1.0-cp313-cp313-emscripten_3_1_58_wasm32.whl",
        ],
    )
    def test_unusable_wheels_are_not_picked(self, tmp_path: Path, filename: str) -> None:
        make_wheel(tmp_path, filename)
        with pytest.raises(WasixWheelError) as info:
            find_wasix_wheel("fastjson", "1.0", wheelhouse=tmp_path, index_url=None)
        message = str(info.value)
        assert isinstance(info.value, BasiliskTraceError)
        assert "fastjson==1.0" in message and str(tmp_path) in message
        assert filename in message and "wasix-org/build-scripts" in message

    def test_nothing_at_all(self, tmp_path: Path) -> None:
        with pytest.raises(WasixWheelError, match="found no wheels of it at all"):
            find_wasix_wheel("fastjson", None, wheelhouse=tmp_path, index_url=None)

    def test_needs_somewhere_to_look(self) -> None:
        with pytest.raises(WasixWheelError, match="pythonindex.wasix.org"):
            find_wasix_wheel("fastjson", None, wheelhouse=None, index_url=None)

    def test_wheelhouse_must_be_a_directory(self, tmp_path: Path) -> None:
        with pytest.raises(WasixWheelError, match="not a directory"):
            find_wasix_wheel("fastjson", None, wheelhouse=tmp_path / "missing", index_url=None)

    def test_wheelhouse_before_index(self, tmp_path: Path, built: Path) -> None:
        index = make_index(
            tmp_path / "idx",
            "fastjson",
            [make_wheel(built, "fastjson-9.0-cp313-cp313-wasix_wasm32.whl")],
        )
        house = tmp_path / "house"
        make_wheel(house, "fastjson-1.0-cp313-cp313-wasix_wasm32.whl")
        ref = find_wasix_wheel("fastjson", None, wheelhouse=house, index_url=index.as_uri())
        assert ref.version == "1.0"


class TestFileIndex:
    def test_finds_and_reads_with_hash(self, tmp_path: Path, built: Path) -> None:
        wheel = make_wheel(built, "fast_json-1.2.0-cp313-cp313-wasix_wasm32.whl")
        index = make_index(tmp_path / "idx", "fast-json", [wheel])
        ref = find_wasix_wheel("Fast.JSON", None, wheelhouse=None, index_url=index.as_uri() + "/")
        assert ref.location.startswith("file://") and ref.location.endswith(wheel.name)
        assert ref.sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest()
        assert wheel_files(ref) == NATIVE

    def test_hash_mismatch(self, tmp_path: Path, built: Path) -> None:
        wheel = make_wheel(built, "fastjson-1.0-cp313-cp313-wasix_wasm32.whl")
        index = make_index(tmp_path / "idx", "fastjson", [wheel])
        (tmp_path / "idx" / "files" / wheel.name).write_bytes(b"tampered")
        ref = find_wasix_wheel("fastjson", None, wheelhouse=None, index_url=index.as_uri())
        with pytest.raises(WasixWheelError, match="does not match the sha256"):
            wheel_files(ref)

    def test_yanked_only_when_pinned(self, tmp_path: Path, built: Path) -> None:
        old = make_wheel(built, "fastjson-1.0-cp313-cp313-wasix_wasm32.whl")
        yanked = (
            '<a href="../../files/fastjson-2.0-cp313-cp313-wasix_wasm32.whl" data-yanked="">y</a>'
        )
        make_wheel(tmp_path / "idx" / "files", "fastjson-2.0-cp313-cp313-wasix_wasm32.whl")
        index = make_index(tmp_path / "idx", "fastjson", [old], extra=yanked)
        assert (
            find_wasix_wheel("fastjson", None, wheelhouse=None, index_url=index.as_uri()).version
            == "1.0"
        )
        assert (
            find_wasix_wheel("fastjson", "2.0", wheelhouse=None, index_url=index.as_uri()).version
            == "2.0"
        )

    def test_unknown_project_names_the_page(self, tmp_path: Path, built: Path) -> None:
        index = make_index(
            tmp_path / "idx", "other", [make_wheel(built, "other-1.0-cp313-cp313-wasix_wasm32.whl")]
        )
        with pytest.raises(WasixWheelError) as info:
            find_wasix_wheel("fastjson", "1.0", wheelhouse=None, index_url=index.as_uri())
        assert f"{index.as_uri()}/fastjson/" in str(info.value)

    def test_unsupported_scheme(self) -> None:
        with pytest.raises(WasixWheelError, match="unsupported index URL scheme"):
            find_wasix_wheel(
                "fastjson", None, wheelhouse=None, index_url="ftp://example.invalid/simple"
            )


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A local http.server on 127.0.0.1 serving tmp_path/www; yields (directory, base URL)."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield www, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class TestHttpIndex:
    def test_finds_and_reads(self, http_root: tuple[Path, str], built: Path) -> None:
        www, base = http_root
        make_index(
            www, "fastjson", [make_wheel(built, "fastjson-1.0-cp313-cp313-wasix_wasm32.whl")]
        )
        ref = find_wasix_wheel("fastjson", "1.0", wheelhouse=None, index_url=f"{base}/simple")
        assert ref.location == f"{base}/files/{ref.filename}"
        assert wheel_files(ref)["fastjson/_speed.so"] == NATIVE["fastjson/_speed.so"]

    def test_404_is_no_wheel(self, http_root: tuple[Path, str]) -> None:
        _, base = http_root
        with pytest.raises(WasixWheelError, match=f"looked in index page {base}/simple/fastjson/"):
            find_wasix_wheel("fastjson", None, wheelhouse=None, index_url=f"{base}/simple")


class TestWheelFiles:
    def _ref(self, path: Path) -> WheelRef:
        ref = WheelRef.from_filename(path.name, str(path))
        assert ref is not None
        return ref

    def test_dist_info_only_when_asked(self, tmp_path: Path) -> None:
        ref = self._ref(make_wheel(tmp_path, "fastjson-1.0-cp313-cp313-wasix_wasm32.whl"))
        assert list(wheel_files(ref)) == sorted(NATIVE)
        with_meta = wheel_files(ref, include_dist_info=True)
        assert "fastjson-1.0.dist-info/WHEEL" in with_meta

    def test_data_schemes(self, tmp_path: Path) -> None:
        files = {
            "fastjson-1.0.data/platlib/fastjson_native.so": b"so",
            "fastjson-1.0.data/purelib/fastjson_pure.py": b"py",
            "fastjson-1.0.data/scripts/fastjson-cli": b"#!",
            "fastjson-1.0.data/headers/fastjson.h": b"h",
        }
        ref = self._ref(make_wheel(tmp_path, "fastjson-1.0-cp313-cp313-wasix_wasm32.whl", files))
        assert wheel_files(ref) == {"fastjson_native.so": b"so", "fastjson_pure.py": b"py"}

    def test_no_wheel_metadata(self, tmp_path: Path) -> None:
        path = tmp_path / "fastjson-1.0-cp313-cp313-wasix_wasm32.whl"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("fastjson/__init__.py", "")
        with pytest.raises(WasixWheelError, match="no .dist-info/WHEEL"):
            wheel_files(self._ref(path))

    def test_not_a_zip(self, tmp_path: Path) -> None:
        path = tmp_path / "fastjson-1.0-cp313-cp313-wasix_wasm32.whl"
        path.write_bytes(b"not a zip")
        with pytest.raises(WasixWheelError, match="not a ZIP"):
            wheel_files(self._ref(path))

    def test_unsafe_path(self, tmp_path: Path) -> None:
        ref = self._ref(
            make_wheel(tmp_path, "evil-1.0-cp313-cp313-wasix_wasm32.whl", {"../escape.py": b""})
        )
        with pytest.raises(WasixWheelError, match="unsafe path"):
            wheel_files(ref)


class TestNames:
    @given(st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", fullmatch=True))
    def test_normalize_is_idempotent_and_canonical(self, name: str) -> None:
        once = normalize(name)
        assert normalize(once) == once
        assert once == once.lower() and "_" not in once and "." not in once and "--" not in once

    @pytest.mark.parametrize(
        "filename",
        ["README.md", "fastjson-1.0.tar.gz", "fastjson-1.0-cp313.whl"],
    )
    def test_not_wheel_filenames(self, filename: str) -> None:
        assert WheelRef.from_filename(filename, filename) is None

    def test_build_tag_and_compressed_tags(self) -> None:
        ref = WheelRef.from_filename("x-1.0-2b-cp313.cp312-cp313.abi3-wasix_wasm32.any.whl", "x")
        assert ref is not None and ref.build == "2b" and ref.is_wasix
        assert ref.python_tags == ("cp313", "cp312") and ref.platform_tags == (
            "wasix_wasm32",
            "any",
        )
