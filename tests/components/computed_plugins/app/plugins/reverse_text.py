def apply(text: str) -> str:
    return text[::-1]
