"""Checks of written bundles: read them back, run them alone, explain canister logs."""
