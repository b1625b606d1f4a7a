"""verify and the runtime bootstrap read the same archives the same way, hostile ones included."""

from __future__ import annotations

import io
import json
import struct
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest
from helpers import load_bootstrap
from hypothesis import given, settings
from hypothesis import strategies as st
from test_bootstrap import EXERCISE, EXPECTED, run_child

from basilisk_trace.bundler.format.bundle_reader import BundleError, read_bundle
from basilisk_trace.bundler.format.manifest import (
    MANIFEST_NAME,
    ArchiveError,
    Manifest,
    check_arcname,
)
from basilisk_trace.bundler.format.wasm import WasmError
from basilisk_trace.bundler.format.wasm.module import Module
from basilisk_trace.bundler.write.archive import BundleFile, build_zip

BOOT = load_bootstrap()


def _file(name: str, data: bytes = b"") -> BundleFile:
    return BundleFile(name, data, None, None, None, "test")


def _raw_zip(files: dict[str, bytes], manifest: object | None = None) -> bytes:
    """A ZIP written by zipfile directly, for shapes our writer refuses to make."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        if manifest is not None:
            archive.writestr(MANIFEST_NAME, json.dumps(manifest))
    return buffer.getvalue()


def _manifest(paths: list[str], **extra: object) -> dict[str, object]:
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    return {"schema": 1, "files": [{"path": p, "size": 0, "sha256": empty, "module": None,
                                    "distribution": None, "version": None, "reason": "x"} for p in paths], **extra}


def _both_refuse(data: bytes, words: str) -> None:
    with pytest.raises(BOOT.BootstrapError, match=words):
        BOOT.BundleZip(data)
    with pytest.raises(BundleError, match=words):
        read_bundle(data)


class TestHostileBundles:
    def test_file_and_directory_with_one_name(self):
        _both_refuse(_raw_zip({"a": b"", "a/b.py": b""}, _manifest(["a", "a/b.py"])), "both a file and a directory")

    def test_name_over_255_bytes(self):
        name = "x" * 300 + ".py"
        _both_refuse(_raw_zip({name: b""}, _manifest([name])), "over 255 bytes")

    def test_path_3000_levels_deep(self):
        name = "/".join(["d"] * 3000) + "/m.py"
        _both_refuse(_raw_zip({name: b""}, _manifest([name])), "deeper than")

    @pytest.mark.parametrize("extra", [
        {"entry": 5}, {"target": {"a": 1}}, {"entry_module": 7}, {"entry_module": "../x"},
        {"excluded": "no"}, {"excluded": [7]}, {"excluded": [{"module": 3, "reason": None, "detail": None, "chain": []}]},
        {"excluded": [{"module": "m", "reason": "r", "detail": None, "chain": [1]}]},
    ])
    def test_manifest_fields_of_the_wrong_type(self, extra):
        with pytest.raises(BundleError, match="manifest"):
            read_bundle(_raw_zip({"main.py": b""}, _manifest(["main.py"], **extra)))

    def test_writer_refuses_what_readers_refuse(self):
        for name in ("x" * 300, "/".join(["d"] * 65), "bad\udcff.txt"):
            with pytest.raises(ArchiveError):
                check_arcname(name)
            assert BOOT.unsafe_reason(name) is not None or "\udcff" in name


class TestSameReading:
    def test_zip64_bundle_with_66001_files(self):
        files = [_file(f"m{i}.py") for i in range(66_001)]
        data = build_zip(files)
        assert b"PK\x06\x06" in data[-200:]  # zipfile wrote a ZIP64 end record
        assert len(BOOT.BundleZip(data).names) == 66_002
        assert len(read_bundle(data).files) == 66_001

    def test_wrong_entry_count_is_refused_by_both(self):
        data = bytearray(build_zip([_file("a.py", b"A"), _file("b.py", b"B")]))
        end = data.rfind(b"PK\x05\x06")
        struct.pack_into("<HH", data, end + 8, 2, 2)  # three entries, two declared
        assert len(zipfile.ZipFile(io.BytesIO(bytes(data))).namelist()) == 3  # zipfile alone would accept it
        _both_refuse(bytes(data), "does not match its end record")

    def test_unflagged_non_ascii_name_is_refused_by_both(self):
        data = build_zip([_file("a.py")]).replace(b"a.py", b"\x82.py")
        _both_refuse(data, "neither ASCII nor marked UTF-8")

    @pytest.mark.parametrize(("bit", "words"), [(0x1, "is encrypted"), (0x40, "is encrypted"),
                                                (0x20, "is patch data")])
    def test_entries_zipfile_cannot_read_are_refused_by_both(self, bit, words):
        # zipfile raises NotImplementedError on these; the bundle readers must refuse them too.
        data = bytearray(build_zip([_file("a.py", b"A = 1\n")]))
        central = data.find(b"PK\x01\x02", data.find(b"a.py"))
        struct.pack_into("<H", data, central + 8, struct.unpack_from("<H", data, central + 8)[0] | bit)
        with pytest.raises(BOOT.BootstrapError, match=words):
            BOOT.BundleZip(bytes(data)).read("a.py")
        with pytest.raises(BundleError, match=words):
            read_bundle(bytes(data), verify=True)

    def test_flagged_utf8_name_reads_the_same(self):
        data = build_zip([_file("caf\u00e9.py", b"X = 1\n")])
        assert "caf\u00e9.py" in BOOT.BundleZip(data).names
        assert read_bundle(data, verify=True).find("caf\u00e9") is not None


SAMPLES = [build_zip([_file("pkg/__init__.py", b"A = 1\n" * 30), _file("pkg/mod.py", b"B = 2\n" * 30)],
                     compression=compression) for compression in ("stored", "deflated")]


@given(data=st.data())
@settings(max_examples=200, deadline=None)
def test_what_verify_accepts_the_bootstrap_reads_identically(data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from(SAMPLES)))
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] ^= 1 << data.draw(st.integers(0, 7))
    try:
        bundle = read_bundle(bytes(raw), verify=True)
    except BundleError:
        return
    reader = BOOT.BundleZip(bytes(raw))
    archive = zipfile.ZipFile(io.BytesIO(bytes(raw)))
    assert sorted(reader.names) == sorted([e.path for e in bundle.files] + [MANIFEST_NAME])
    for name in reader.names:
        assert reader.read(name) == archive.read(name)


def _deflate_bomb(declared: bytes, inflated: int) -> bytes:
    """A one-entry ZIP whose headers claim `declared` but whose data inflates to `inflated` bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = compressor.compress(b"\0" * inflated) + compressor.flush()
    name, crc = b"bomb.py", zlib.crc32(declared)
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(bomb), len(declared),
                        len(name), 0) + name + bomb
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(bomb),
                          len(declared), len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local), 0)
    return local + central + end


def test_deflate_bomb_is_never_inflated_past_its_declared_size():
    data = _deflate_bomb(b"0123456789", 64 << 20)
    reader = BOOT.BundleZip(data)
    tracemalloc.start()
    try:
        with pytest.raises(BOOT.BootstrapError, match="damaged"):
            reader.read("bomb.py")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_auto_mode_falls_back_on_recursion_error(tmp_path: Path) -> None:
    from test_bootstrap import write_program

    program = build_zip(write_program(tmp_path / "src"), manifest=Manifest(entry="main"))
    body = (
        "sys.setrecursionlimit(150)\n"  # os.makedirs recurses once per missing folder
        "mode = boot['install'](data, target + '/a' * 400)\n"
        "sys.setrecursionlimit(1000)\n" + EXERCISE + "result = (mode, result)\n"
    )
    assert run_child(tmp_path, program, body, restrict=False) == ("memory", EXPECTED)


def test_two_million_empty_custom_sections_are_bounded():
    template = b"\0asm\x01\0\0\0" + b"\x00\x01\x00" * 2_000_000
    started = time.perf_counter()
    with pytest.raises(WasmError, match="more than"):
        Module.parse(template)
    assert time.perf_counter() - started < 2.0


def test_a_few_hundred_custom_sections_still_parse():
    template = b"\0asm\x01\0\0\0" + b"\x00\x01\x00" * 300
    assert len(Module.parse(template).sections) == 300
