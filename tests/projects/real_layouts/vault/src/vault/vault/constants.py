# The ledger canisters the vault knows by name.
CANISTER_PRINCIPALS = {"ckBTC": {"ledger": "mxzaz-hqaaa-aaaar-qaada-cai", "indexer": "n5wcd-faaaa-aaaar-qaaea-cai"}}
MAX_RESULTS = 20
