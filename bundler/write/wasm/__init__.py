"""Inject a bundle into a canister template as passive data (the reader is bundler/format/wasm/)."""

from __future__ import annotations

from basilisk_trace.bundler.write.wasm._inject import (
    MAX_PAYLOAD,
    inject_passive_data,
    placeholder_names,
)

__all__ = ["MAX_PAYLOAD", "inject_passive_data", "placeholder_names"]
