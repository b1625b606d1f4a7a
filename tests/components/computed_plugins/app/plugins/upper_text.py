def apply(text: str) -> str:
    return text.upper()
