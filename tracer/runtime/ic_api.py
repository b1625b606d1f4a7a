"""An in-memory `_basilisk_ic`: the native API a canister gets, answered as far as a dry run can.

Loaded by path in child interpreters (standard library only). Time, caller, id,
controllers and printing answer plausibly; stable memory and the stable
structures live in memory, ordered bytewise like ic-stable-structures; timers
are accepted and never fire. Anything that needs another canister or a reply
channel raises NotInDryRun.
"""

import heapq
import sys
import time

ANONYMOUS = "2vxsx-fae"
CANISTER_ID = "rrkah-fqaaa-aaaaa-aaaaq-cai"
PAGE = 65536
EMPTY_ARGS = b"DIDL\x00\x00"


class NotInDryRun(RuntimeError):
    """A runtime call that needs a real canister (another canister, Candid, a reply)."""


class Trap(RuntimeError):
    """ic.trap(): the canister would abort the message here."""


def _principal(text):
    # As the template does once the shim has run: Principal.from_str(text), else the text.
    cls = getattr(sys.modules.get("basilisk"), "Principal", None)
    return cls.from_str(text) if cls is not None else text


def _principal_text(value):
    if isinstance(value, str):
        return value
    text = getattr(value, "_text", None)
    if not isinstance(text, str) and callable(getattr(value, "to_str", None)):
        text = value.to_str()
    if not isinstance(text, str):
        raise TypeError("is_controller: expected a Principal or string argument")
    return text


class InMemoryIC:
    """The state behind one `_basilisk_ic` module; its public methods are the module's functions."""

    def __init__(self):
        self.printed = []
        self.certified = b""
        self.controllers = {ANONYMOUS}  # the dry run's caller controls the canister: guarded paths run
        self._stable = bytearray()
        self._timers = 0
        self._maps, self._sets, self._vecs, self._logs, self._cells, self._heaps = {}, {}, {}, {}, {}, {}

    # --- the message context ----------------------------------------------
    def caller(self):
        return _principal(ANONYMOUS)

    def id(self):
        return _principal(CANISTER_ID)

    def is_controller(self, principal):
        return _principal_text(principal) in self.controllers

    def time(self):
        return time.time_ns()

    def performance_counter(self, counter_type):
        return time.perf_counter_ns()

    def canister_balance(self):
        return 10**12

    canister_balance128 = canister_balance

    def method_name(self):
        return ""

    def arg_data_raw(self):
        return EMPTY_ARGS

    def arg_data_raw_size(self):
        return len(EMPTY_ARGS)

    def data_certificate(self):
        return None

    def set_certified_data(self, data):
        self.certified = bytes(data)

    def print(self, value):
        self.printed.append(value if isinstance(value, str) else str(value))

    def trap(self, message):
        raise Trap(f"ic.trap: {message}")

    def accept_message(self):
        return None

    def reject(self, message):
        return None

    def reply(self, value):
        return None

    def reply_raw(self, data):
        return None

    def reject_code(self):
        return 0

    def reject_message(self):
        return ""

    def msg_cycles_available(self):
        return 0

    msg_cycles_available128 = msg_cycles_refunded = msg_cycles_refunded128 = msg_cycles_available

    def msg_cycles_accept(self, amount):
        return 0

    msg_cycles_accept128 = msg_cycles_accept

    # --- timers: accepted, never fired --------------------------------------
    def set_timer(self, delay, callback):
        self._timers += 1
        return self._timers

    set_timer_interval = set_timer

    def clear_timer(self, timer_id):
        return None

    # --- stable memory ------------------------------------------------------
    def stable_size(self):
        return len(self._stable) // PAGE

    stable64_size = stable_size

    def stable_grow(self, pages):
        old = self.stable_size()
        self._stable.extend(bytes(pages * PAGE))
        return old

    stable64_grow = stable_grow

    def stable_read(self, offset, length):
        self._check(offset, length)
        return bytes(self._stable[offset:offset + length])

    stable64_read = stable_read

    def stable_write(self, offset, data):
        self._check(offset, len(data))
        self._stable[offset:offset + len(data)] = data

    stable64_write = stable_write

    def stable_bytes(self):
        return bytes(self._stable)

    def _check(self, offset, length):
        if offset + length > len(self._stable):
            self.trap(f"stable memory access out of bounds ({offset}+{length} > {len(self._stable)})")

    # --- StableBTreeMap (smap_*) --------------------------------------------
    def smap_init(self, memory_id):
        self._maps.setdefault(memory_id, {})

    def smap_insert(self, memory_id, key, value):
        entries = self._maps.setdefault(memory_id, {})
        previous = entries.get(bytes(key))
        entries[bytes(key)] = bytes(value)
        return previous

    def smap_get(self, memory_id, key):
        return self._maps.setdefault(memory_id, {}).get(bytes(key))

    def smap_remove(self, memory_id, key):
        return self._maps.setdefault(memory_id, {}).pop(bytes(key), None)

    def smap_contains_key(self, memory_id, key):
        return bytes(key) in self._maps.setdefault(memory_id, {})

    def smap_len(self, memory_id):
        return len(self._maps.setdefault(memory_id, {}))

    def smap_keys(self, memory_id):
        return sorted(self._maps.setdefault(memory_id, {}))

    def smap_items(self, memory_id):
        return sorted(self._maps.setdefault(memory_id, {}).items())

    def smap_range(self, memory_id, start, end, limit):
        # An empty end means no upper bound, as in the template.
        found = [(k, v) for k, v in self.smap_items(memory_id) if k >= start and (not end or k < end)]
        return found[:limit]

    # --- StableBTreeSet (sset_*) --------------------------------------------
    def sset_init(self, memory_id):
        self._sets.setdefault(memory_id, set())

    def sset_insert(self, memory_id, key):
        keys = self._sets.setdefault(memory_id, set())
        new = bytes(key) not in keys
        keys.add(bytes(key))
        return new

    def sset_remove(self, memory_id, key):
        keys = self._sets.setdefault(memory_id, set())
        present = bytes(key) in keys
        keys.discard(bytes(key))
        return present

    def sset_contains(self, memory_id, key):
        return bytes(key) in self._sets.setdefault(memory_id, set())

    def sset_len(self, memory_id):
        return len(self._sets.setdefault(memory_id, set()))

    def sset_items(self, memory_id):
        return sorted(self._sets.setdefault(memory_id, set()))

    # --- StableVec (svec_*) and StableLog (slog_*) ----------------------------
    def svec_init(self, memory_id):
        self._vecs.setdefault(memory_id, [])

    def svec_get(self, memory_id, index):
        items = self._vecs.setdefault(memory_id, [])
        return items[index] if 0 <= index < len(items) else None

    def svec_push(self, memory_id, value):
        self._vecs.setdefault(memory_id, []).append(bytes(value))

    def svec_pop(self, memory_id):
        items = self._vecs.setdefault(memory_id, [])
        return items.pop() if items else None

    def svec_set(self, memory_id, index, value):
        items = self._vecs.setdefault(memory_id, [])
        if not 0 <= index < len(items):
            self.trap(f"svec_set: index {index} out of bounds (len {len(items)})")
        items[index] = bytes(value)

    def svec_len(self, memory_id):
        return len(self._vecs.setdefault(memory_id, []))

    def slog_init(self, index_memory_id, data_memory_id):
        self._logs.setdefault(index_memory_id, [])

    def slog_append(self, memory_id, value):
        entries = self._logs.setdefault(memory_id, [])
        entries.append(bytes(value))
        return len(entries) - 1

    def slog_get(self, memory_id, index):
        entries = self._logs.setdefault(memory_id, [])
        return entries[index] if 0 <= index < len(entries) else None

    def slog_len(self, memory_id):
        return len(self._logs.setdefault(memory_id, []))

    # --- StableCell (scell_*) and StableMinHeap (sheap_*) ---------------------
    def scell_init(self, memory_id, default):
        self._cells.setdefault(memory_id, bytes(default))

    def scell_get(self, memory_id):
        return self._cells.get(memory_id, b"\x00")

    def scell_set(self, memory_id, value):
        self._cells[memory_id] = bytes(value)

    def sheap_init(self, memory_id):
        self._heaps.setdefault(memory_id, [])

    def sheap_push(self, memory_id, value):
        heapq.heappush(self._heaps.setdefault(memory_id, []), bytes(value))

    def sheap_pop(self, memory_id):
        heap = self._heaps.setdefault(memory_id, [])
        return heapq.heappop(heap) if heap else None

    def sheap_peek(self, memory_id):
        heap = self._heaps.setdefault(memory_id, [])
        return heap[0] if heap else None

    def sheap_len(self, memory_id):
        return len(self._heaps.setdefault(memory_id, []))


# Calls that leave the canister or need Candid: refused with a clear message.
NOT_IN_DRY_RUN = {
    "call_raw": "cross-canister calls are",
    "call_raw128": "cross-canister calls are",
    "notify_raw": "cross-canister notifications are",
    "notify_service_call": "cross-canister notifications are",
    "candid_encode": "Candid encoding is",
    "candid_decode": "Candid decoding is",
}


def _refusal(name, what):
    def refuse(*args):
        raise NotInDryRun(f"_basilisk_ic.{name}: {what} not available in a dry run")

    refuse.__name__ = name
    return refuse


def make_module(api_names=None):
    """A fresh `_basilisk_ic` module offering every name of `api_names` (ic_api.rs's table).

    Without names (ic-basilisk is not installed), it offers what this file knows.
    """
    state = InMemoryIC()
    if api_names is None:
        api_names = sorted({n for n in dir(state) if not n.startswith("_")} - {"printed", "certified",
                                                                                "controllers"}
                           | set(NOT_IN_DRY_RUN))
    module = type(sys)("_basilisk_ic")
    module.__file__ = "<basilisk-trace in-memory _basilisk_ic>"
    module.printed = state.printed  # what ic.print() wrote, for whoever ran the program
    for name in api_names:
        what = NOT_IN_DRY_RUN.get(name)
        if what is None and not name.startswith("_") and callable(getattr(state, name, None)):
            setattr(module, name, getattr(state, name))
        else:
            setattr(module, name, _refusal(name, what or "this runtime call is"))
    return module
