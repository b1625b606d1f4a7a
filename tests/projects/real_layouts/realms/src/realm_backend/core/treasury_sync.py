try:
    from ggg import Treasury
except ImportError:
    from realm_backend.ggg import Treasury  # test/module layout


def deposit(name: str, amount: int) -> int:
    treasury = Treasury[name] or Treasury(name=name)
    treasury.balance = treasury.balance + amount
    return treasury.balance
