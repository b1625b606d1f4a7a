def cents(amount: str) -> int:
    """"12.3" -> 1230, without float rounding."""
    whole, _, fraction = amount.partition(".")
    return int(whole or "0") * 100 + int((fraction + "00")[:2])
