try:  # noqa: SIM105 (as the original: a bare try)
    from basilisk import ic
except:  # noqa: E722 (the original's bare except)
    pass

import ast
import json


def custom_print(message: str):
    try:
        ic.print(message)
    except Exception:
        print(message)


def escaped_strings() -> dict:
    text = 'Line1\nLine2\tTabbed "Quotes" and \\Backslashes\\'
    return {"regular_string": text, "repr_string": repr(text), "json_string": json.dumps({"text": text})}


def unescape(sample: str) -> str:
    try:
        return ast.literal_eval(f'"{sample}"')
    except (SyntaxError, ValueError):
        return sample
