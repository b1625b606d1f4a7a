"""Writers at the edge: the bundle ZIP, the Python-source form, and injection into canister Wasm."""
