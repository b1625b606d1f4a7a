"""The limits a contained child runs under, and which one a run hit.

Memory and file size are resource limits (prlimit), set before the child starts, so nothing
it runs can lift them without privileges it does not have. In the sandbox the scratch
folders are size-limited tmpfs, and a seccomp filter refuses new processes (threads stay
allowed) and Unix sockets: a host socket outside /run (in the home folder, under /var/lib)
would be reachable through a read-only mount, and RLIMIT_NPROC binds no one running as root.
"""

from __future__ import annotations

import errno
import functools
import platform
import shutil
import signal
import struct
import sys
from dataclasses import dataclass

MIB = 1024 * 1024
LimitKind = str  # "memory" | "file-size" | "scratch" | "processes"


@dataclass(frozen=True)
class Limits:
    """How much a contained child may use."""

    memory: int = 4096 * MIB  # private writable memory (RLIMIT_DATA: Wasm engines reserve far more address space)
    file_size: int = 256 * MIB  # any one file it writes (RLIMIT_FSIZE)
    scratch: int = 512 * MIB  # the sandbox's private /tmp
    small_scratch: int = 64 * MIB  # each other private folder: /, /var/tmp, /run, the home folder, ~/.cache

    def describe(self, kind: LimitKind) -> str:
        """The limit in words, for a message that says a run hit it."""
        return {
            "memory": f"the limit of {self.memory // MIB} MiB of memory",
            "file-size": f"the limit of {self.file_size // MIB} MiB per file written",
            "scratch": f"the limit of {self.scratch // MIB} MiB for /tmp (and {self.small_scratch // MIB} MiB for "
                       "other folders outside the project) in the sandbox",
            "processes": "the sandbox's refusal of new processes",
        }.get(kind, kind)


LIMITS = Limits()
KINDS = ("memory", "file-size", "scratch", "processes")


def with_limits(argv: list[str], limits: Limits = LIMITS) -> list[str]:
    """`argv` started under the memory and file-size limits, where prlimit(1) exists (util-linux)."""
    prlimit = _prlimit()
    if prlimit is None:
        return argv
    return [prlimit, f"--data={limits.memory}", f"--fsize={limits.file_size}", "--", *argv]


@functools.cache
def _prlimit() -> str | None:
    return shutil.which("prlimit") if sys.platform.startswith("linux") else None


def limit_of_exit(returncode: int) -> LimitKind | None:
    """The limit a child that died with `returncode` hit, when its exit says (bwrap passes 128 + signal on)."""
    if returncode in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ):
        return "file-size"
    return None


# --- the seccomp filter ---------------------------------------------------------------------

# Classic BPF over struct seccomp_data {int nr; u32 arch; u64 ip; u64 args[6]}.
_LD, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _ERRNO = 0x7FFF0000, 0x00050000
_CLONE_THREAD = 0x00010000
_AF_UNIX = 1
# arch -> (AUDIT_ARCH, syscall numbers); other machines get no filter, and say so.
_ARCHES = {
    "x86_64": (0xC000003E, {"fork": 57, "vfork": 58, "clone": 56, "clone3": 435, "socket": 41,
                            "io_uring_setup": 425}),
    "aarch64": (0xC00000B7, {"clone": 220, "clone3": 435, "socket": 198, "io_uring_setup": 425}),
}
_X32_BIT = 0x40000000


def seccomp_filter() -> bytes | None:
    """The BPF program bwrap installs (--seccomp FD), or None on a machine it is not written for.

    fork, vfork and clone without CLONE_THREAD fail with EAGAIN, as at a process limit; clone3
    says ENOSYS, so the C library falls back to clone, whose flags the filter can see;
    socket(AF_UNIX) and io_uring (which could open sockets past the filter) fail with EPERM,
    and so does every call of another ABI (int 0x80, x32), which the filter's numbers do not cover.
    """
    machine = platform.machine().lower().replace("arm64", "aarch64").replace("amd64", "x86_64")
    if machine not in _ARCHES or not sys.platform.startswith("linux"):
        return None
    arch, numbers = _ARCHES[machine]
    low = 16 if sys.byteorder == "little" else 20  # the low half of args[0]
    program: list[tuple[int, int, str | int, str | int]] = [
        (_LD, 4, 0, 0), (_JEQ, arch, 0, "deny"), (_LD, 0, 0, 0),
    ]
    if machine == "x86_64":
        program.append((_JGE, _X32_BIT, "deny", 0))
    program += [(_JEQ, numbers[name], "processes", 0) for name in ("fork", "vfork") if name in numbers]
    program += [(_JEQ, numbers["clone3"], "nosys", 0), (_JEQ, numbers["io_uring_setup"], "deny", 0),
                (_JEQ, numbers["clone"], "clone", 0), (_JEQ, numbers["socket"], "socket", 0),
                (_RET, _ALLOW, 0, 0)]
    labels = {"clone": len(program)}
    program += [(_LD, low, 0, 0), (_JSET, _CLONE_THREAD, "allow", "processes")]
    labels["socket"] = len(program)
    program += [(_LD, low, 0, 0), (_JEQ, _AF_UNIX, "deny", "allow")]
    for label, value in (("allow", _ALLOW), ("processes", _ERRNO | errno.EAGAIN),
                         ("nosys", _ERRNO | errno.ENOSYS), ("deny", _ERRNO | errno.EPERM)):
        labels[label] = len(program)
        program.append((_RET, value, 0, 0))
    return b"".join(_encode(index, op, labels) for index, op in enumerate(program))


def _encode(index: int, op: tuple[int, int, str | int, str | int], labels: dict[str, int]) -> bytes:
    code, k, jt, jf = op

    def offset(target: str | int) -> int:
        return target if isinstance(target, int) else labels[target] - index - 1

    return struct.pack("=HBBI", code, offset(jt), offset(jf), k)
