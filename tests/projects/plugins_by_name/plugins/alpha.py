"""Upper case."""


def apply(value):
    return value.upper()
