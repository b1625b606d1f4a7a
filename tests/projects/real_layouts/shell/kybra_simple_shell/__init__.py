"""The shell's client (runs on the developer's machine, never in the canister)."""
