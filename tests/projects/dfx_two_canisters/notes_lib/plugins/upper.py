def apply(value):
    return value.upper()
