"""A C extension the app cannot do without (built by the test as fastmath)."""

import wit_world
from fastmath import twice


class WitWorld(wit_world.WitWorld):
    def twice(self, n: int) -> int:
        return twice(n)
