from basilisk import nat, update
from src.common.money import cents

TOTAL = [0]


@update
def add(amount: nat) -> nat:
    TOTAL[0] += cents(str(amount))
    return TOTAL[0]
