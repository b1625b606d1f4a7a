try:
    from pprint import pformat
except ImportError:
    pformat = repr

from ic_python_db import Entity, Integer, String
from ic_python_logging import get_logger

logger = get_logger("entity.treasury")


class Treasury(Entity):
    __alias__ = "name"
    name = String(min_length=2, max_length=64)
    balance = Integer(default=0)

    def describe(self) -> str:
        return pformat({"name": self.name, "balance": self.balance})
