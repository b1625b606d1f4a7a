"""The realm's entities, importable as `ggg` on the canister and as `realm_backend.ggg` in host tests."""

from .finance.treasury import Treasury
from .system.realm import Realm

__all__ = ["Realm", "Treasury"]
