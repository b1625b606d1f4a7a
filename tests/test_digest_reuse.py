"""base/digest.py reads a settled file once per process: whatever changes it afterwards (new bytes,
a file renamed over it, an mtime set back, the same size rewritten) is read again, so a digest
always matches the file's content as it is now."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from basilisk_trace.base import digest
from basilisk_trace.base.digest import blake2b, keyed_digest

SECRET = b"k" * 32


def _fresh(data: bytes) -> str:
    return blake2b(data, key=SECRET, digest_size=20).hexdigest()


@settings(max_examples=25, deadline=None)
@given(contents=st.lists(st.binary(max_size=64), min_size=1, max_size=6),
       how=st.lists(st.sampled_from(["write", "rename", "mtime-back"]), min_size=6, max_size=6))
def test_a_digest_is_the_content_now(tmp_path_factory: pytest.TempPathFactory, contents: list[bytes],
                                     how: list[str]) -> None:
    settled = digest._SETTLED_NS
    digest._SETTLED_NS = -5_000_000_000  # every file here counts as settled: its digest is kept
    try:
        path = tmp_path_factory.mktemp("d") / "f.py"
        path.write_bytes(contents[0])
        first = os.stat(path)
        assert keyed_digest(str(path), SECRET) == _fresh(contents[0])
        for data, way in zip(contents[1:], how, strict=False):
            before = os.stat(path).st_ctime_ns
            # A file counts as settled a second after its last change: a change after that has a
            # later change time. Here every file counts as settled at once: wait for the next tick.
            while os.stat(path).st_ctime_ns == before:
                time.sleep(0.002)
                if way == "rename":
                    new = path.with_name("new")
                    new.write_bytes(data)
                    os.replace(new, path)
                else:
                    path.write_bytes(data)
                if way == "mtime-back":
                    os.utime(path, ns=(first.st_atime_ns, first.st_mtime_ns))
            assert keyed_digest(str(path), SECRET) == _fresh(data)
            assert keyed_digest(str(path), SECRET) == _fresh(data)
    finally:
        digest._SETTLED_NS = settled


def test_a_file_changed_within_the_last_second_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "f.py"
    path.write_bytes(b"a")
    assert keyed_digest(str(path), SECRET) == _fresh(b"a")
    with open(path, "r+b") as handle:  # the same size, rewritten at once: maybe within one clock tick
        handle.write(b"b")
    assert keyed_digest(str(path), SECRET) == _fresh(b"b")
