"""A stand-in for the `basilisk` package, used when ic-basilisk is not installed.

It offers the names canister code imports at top level: the method
decorators (identity functions, as in ic-basilisk), the Candid type aliases,
StableBTreeMap, Principal and `ic`. Calls go to `_basilisk_ic`, which the
dry run supplies.
"""

import builtins
from collections.abc import Callable, Generator
from typing import Annotated, Any, NoReturn, Optional, TypedDict, TypeVar

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

int64 = int32 = int16 = int8 = int
nat = nat64 = nat32 = nat16 = nat8 = int
float64 = float32 = float
text = str
blob = bytes
null = None
void = None
reserved = Any
empty = NoReturn
Opt = Optional
Manual = Optional
Alias = Annotated
Tuple = tuple
Vec = list
Record = TypedDict
Variant = TypedDict
Async = Generator
Query = Update = Oneway = Callable


def _decorator(_func=None, *, guard=None):
    if _func is None:
        return lambda func: func
    return _func


query = update = heartbeat = pre_upgrade = inspect_message = _decorator


def init(func):
    return func


post_upgrade = init


def canister(cls):
    return cls


class Principal:
    def __init__(self, text="aaaaa-aa"):
        self._text = text

    @staticmethod
    def from_str(text):
        return Principal(text)

    def to_str(self):
        return self._text

    def __str__(self):
        return self._text

    def __repr__(self):
        return f"Principal({self._text!r})"

    def __eq__(self, other):
        return isinstance(other, Principal) and other._text == self._text

    def __hash__(self):
        return hash(self._text)


def _api():
    return builtins._basilisk_ic


class _IC:
    def __getattr__(self, name):
        return getattr(_api(), name)


ic = _IC()


class StableBTreeMap:
    def __init__(self, memory_id, max_key_size=0, max_value_size=0):
        self.memory_id = memory_id

    def __class_getitem__(cls, item):
        return cls

    def __getattr__(self, name):
        method = getattr(_api(), f"stable_b_tree_map_{name}")
        return lambda *args: method(self.memory_id, *args)
