"""The bundle format, below the writers and the checks: the manifest type, the ZIP reader, the
runtime bootstrap that unpacks a bundle in a canister, and the Wasm reader."""
