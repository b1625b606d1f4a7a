from kybra_simple_db import Entity, Integer, String, TimestampedMixin


class Balance(Entity, TimestampedMixin):
    """A principal's balance, kept by the vault."""

    amount = Integer(default=0)


class VaultTransaction(Entity, TimestampedMixin):
    principal_from = String()
    principal_to = String()
    amount = Integer(min_value=0)
