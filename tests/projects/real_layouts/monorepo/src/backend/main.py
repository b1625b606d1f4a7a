from basilisk import nat, query, text

try:
    from common.money import cents  # when src/ is on the path (the repository's tests)
except ImportError:
    from src.common.money import cents  # the project root is on the path: as ic-basilisk builds it


@query
def price(amount: text) -> nat:
    return cents(amount)
