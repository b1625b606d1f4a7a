"""Mutated templates give a result or a WasmError, never another exception or a broken module."""

from __future__ import annotations

import wasmtime
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wasm_templates import BARE_TEMPLATES, TEMPLATES, engine, template

from basilisk_trace.bundler.format.wasm import Module, WasmError
from basilisk_trace.bundler.write.wasm import inject_passive_data

NAMES = sorted({*TEMPLATES, *BARE_TEMPLATES})
FUZZ = settings(max_examples=max(120, settings.default.max_examples), deadline=None, suppress_health_check=[HealthCheck.too_slow])
_ENGINE = engine()


def _valid(data: bytes) -> bool:
    try:
        wasmtime.Module.validate(_ENGINE, data)
    except wasmtime.WasmtimeError:
        return False
    return True


def _check(mutated: bytes, add_exports: bool) -> None:
    """The property: WasmError, or a result that is valid whenever the input was."""
    try:
        out = inject_passive_data(
            mutated, b"fuzz payload", add_exports=add_exports, template_name="fuzzed.wasm"
        )
    except WasmError as error:
        assert str(error).startswith("fuzzed.wasm: ")
        return
    if _valid(mutated):
        wasmtime.Module.validate(_ENGINE, out)


@FUZZ
@given(name=st.sampled_from(NAMES), data=st.data(), add_exports=st.booleans())
def test_truncated(name: str, data: st.DataObject, add_exports: bool) -> None:
    raw = template(name)
    _check(raw[: data.draw(st.integers(0, len(raw) - 1))], add_exports)


@FUZZ
@given(name=st.sampled_from(NAMES), data=st.data(), add_exports=st.booleans())
def test_bytes_flipped(name: str, data: st.DataObject, add_exports: bool) -> None:
    raw = bytearray(template(name))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] ^= data.draw(st.integers(1, 255))
    _check(bytes(raw), add_exports)


@FUZZ
@given(name=st.sampled_from(NAMES), data=st.data(), add_exports=st.booleans())
def test_bytes_inserted_or_deleted(name: str, data: st.DataObject, add_exports: bool) -> None:
    raw = template(name)
    at = data.draw(st.integers(8, len(raw)))
    if data.draw(st.booleans()):
        raw = raw[:at] + data.draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    else:
        raw = raw[:at] + raw[at + data.draw(st.integers(1, 8)) :]
    _check(raw, add_exports)


@FUZZ
@given(name=st.sampled_from(NAMES), data=st.data(), add_exports=st.booleans())
def test_sections_reordered(name: str, data: st.DataObject, add_exports: bool) -> None:
    sections = [bytes(s.header) + b"".join(s.parts) for s in Module.parse(template(name)).sections]
    order = data.draw(st.permutations(range(len(sections))))
    _check(b"\x00asm\x01\x00\x00\x00" + b"".join(sections[i] for i in order), add_exports)
