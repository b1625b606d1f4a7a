"""Stand-ins for the canister runtime, used only inside the dry run."""
