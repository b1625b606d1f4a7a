import textwrap


def greeting(name: str, times: int) -> str:
    return textwrap.shorten(" ".join([f"hello {name}"] * max(times, 1)), width=40, placeholder=" ...")
