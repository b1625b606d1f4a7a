"""A word list shipped as package data and read through importlib.resources at call time."""

import wit_world


def _words() -> list[str]:
    import importlib.resources

    return importlib.resources.files("words").joinpath("list.txt").read_text(encoding="utf-8").split()


class WitWorld(wit_world.WitWorld):
    def word(self, index: int) -> str:
        words = _words()
        return words[index % len(words)]

    def count(self) -> int:
        return len(_words())
