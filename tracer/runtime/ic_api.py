"""A host stand-in for `_basilisk_ic`, the native API the Basilisk runtime injects.

ic-basilisk's `ic.*` functions call into it. In the dry run it answers with
plausible values, keeps stable maps in memory, and notes what it was asked.
"""

import sys
import time

_ANONYMOUS = "2vxsx-fae"
_CANISTER = "rrkah-fqaaa-aaaaa-aaaaq-cai"


def _principal(text):
    basilisk = sys.modules.get("basilisk")
    cls = getattr(basilisk, "Principal", None)
    from_str = getattr(cls, "from_str", None)
    if from_str is not None:
        try:
            return from_str(text)
        except Exception:
            pass
    return text


class StubIC:
    """Answers the runtime API; unknown calls return None."""

    def __init__(self, events):
        self._events = events
        self._maps = {}
        self._stable = bytearray()
        self._timers = 0
        self.printed = []

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *args, **kwargs: None

    def print(self, text):
        self.printed.append(str(text))

    def time(self):
        return time.time_ns()

    def caller(self):
        return _principal(_ANONYMOUS)

    def id(self):
        return _principal(_CANISTER)

    def canister_balance(self):
        return 10**12

    canister_balance128 = canister_balance

    def method_name(self):
        return "dry_run"

    def trap(self, message):
        raise RuntimeError(f"ic.trap: {message}")

    def set_timer(self, delay, func):
        self._timers += 1
        return self._timers

    set_timer_interval = set_timer

    def candid_encode(self, text):
        return str(text).encode()

    def candid_decode(self, data):
        return bytes(data).decode(errors="replace")

    def arg_data_raw(self):
        return b""

    def arg_data_raw_size(self):
        return 0

    def stable_size(self):
        return len(self._stable) // 65536

    stable64_size = stable_size

    def stable_grow(self, pages):
        old = self.stable_size()
        self._stable.extend(bytes(pages * 65536))
        return {"Ok": old}

    stable64_grow = stable_grow

    def stable_read(self, offset, length):
        return bytes(self._stable[offset : offset + length])

    stable64_read = stable_read

    def stable_write(self, offset, buf):
        self._stable[offset : offset + len(buf)] = buf

    stable64_write = stable_write

    def stable_bytes(self):
        return bytes(self._stable)

    # StableBTreeMap, kept in memory per memory id.
    def _map(self, memory_id):
        return self._maps.setdefault(memory_id, {})

    def stable_b_tree_map_contains_key(self, memory_id, key):
        return key in self._map(memory_id)

    def stable_b_tree_map_get(self, memory_id, key):
        return self._map(memory_id).get(key)

    def stable_b_tree_map_insert(self, memory_id, key, value):
        previous = self._map(memory_id).get(key)
        self._map(memory_id)[key] = value
        return previous

    def stable_b_tree_map_remove(self, memory_id, key):
        return self._map(memory_id).pop(key, None)

    def stable_b_tree_map_is_empty(self, memory_id):
        return not self._map(memory_id)

    def stable_b_tree_map_len(self, memory_id):
        return len(self._map(memory_id))

    def stable_b_tree_map_items(self, memory_id):
        return sorted(self._map(memory_id).items(), key=lambda kv: repr(kv[0]))

    def stable_b_tree_map_keys(self, memory_id):
        return [k for k, _ in self.stable_b_tree_map_items(memory_id)]

    def stable_b_tree_map_values(self, memory_id):
        return [v for _, v in self.stable_b_tree_map_items(memory_id)]

    def stable_b_tree_map_range(self, memory_id, start, end=None, limit=1000):
        items = [kv for kv in self.stable_b_tree_map_items(memory_id)
                 if kv[0] >= start and (end is None or kv[0] < end)]
        return items[:limit]
