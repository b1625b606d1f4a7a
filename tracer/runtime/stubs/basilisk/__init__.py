"""A stand-in for the canister's `basilisk`, used only when ic-basilisk is not installed.

With ic-basilisk installed, the dry run and verify run its own runtime shim instead.
This offers the names canister code imports, shaped as that shim makes them: the
method decorators are identity functions, `Record` and `Variant` are dict
subclasses, and `ic` calls the in-memory `_basilisk_ic` the child supplies.
"""

import sys

int64 = int32 = int16 = int8 = int
nat = nat64 = nat32 = nat16 = nat8 = int
float64 = float32 = float
text = str
blob = bytes
null = None
void = None
Vec = list
Tuple = tuple
TimerId = Duration = RejectionCode = int
GuardResult = dict


class _Sub:
    """Subscriptable placeholder that ignores its type parameters."""

    def __class_getitem__(cls, item):
        return cls


Opt = Alias = Manual = Async = reserved = empty = GuardType = Oneway = Query = Update = _Sub


class Record(dict):
    def __class_getitem__(cls, params):
        return cls

    def __init_subclass__(cls, **kwargs):
        pass


class Variant(Record):
    pass


class CallResult(dict):
    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name)


def _decorator(_func=None, **kwargs):
    return _func if _func is not None else (lambda func: func)


query = update = heartbeat = pre_upgrade = inspect_message = composite_query = _decorator


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

    __str__ = to_str

    def __repr__(self):
        return f"Principal({self._text!r})"

    def __eq__(self, other):
        return isinstance(other, Principal) and other._text == self._text

    def __hash__(self):
        return hash(self._text)


class _IC:
    def __getattr__(self, name):
        return getattr(sys.modules["_basilisk_ic"], name)


ic = _IC()


class Service:
    def __init__(self, principal=None):
        self._principal = principal


class StableBTreeMap:
    """Kept in memory by the stand-in itself."""

    def __init__(self, memory_id=0, max_key_size=0, max_value_size=0):
        self.memory_id = memory_id
        self._data = {}

    def __class_getitem__(cls, item):
        return cls

    def get(self, key):
        return self._data.get(key)

    def insert(self, key, value):
        previous = self._data.get(key)
        self._data[key] = value
        return previous

    def remove(self, key):
        return self._data.pop(key, None)

    def contains_key(self, key):
        return key in self._data

    def is_empty(self):
        return not self._data

    def len(self):
        return len(self._data)

    def keys(self):
        return list(self._data)

    def values(self):
        return list(self._data.values())

    def items(self):
        return list(self._data.items())
