"""Audit hooks that refuse what a canister cannot do: network, new processes, changes to the project.

The second layer: the sandbox (bubblewrap) is the first, where it runs. Once installed the
hooks stay on until the interpreter exits, so an atexit handler or a thread left running is
refused too. Paths are resolved (dir_fd, file descriptors, symlinks) before they are compared.
"""

import os
import sys

_REFUSED = {
    "socket.connect": "network",
    "socket.sendto": "network",
    "socket.sendmsg": "network",
    "socket.bind": "network",
    "socket.getaddrinfo": "network",
    "socket.gethostbyname": "network",
    "socket.gethostbyaddr": "network",
    "socket.getnameinfo": "network",
    "subprocess.Popen": "subprocess",
    "os.system": "subprocess",
    "os.posix_spawn": "subprocess",
    "os.exec": "subprocess",
    "os.fork": "subprocess",
    "os.forkpty": "subprocess",
    "os.spawn": "subprocess",
}
# Events that change a path: which arguments are paths, and which argument is their dir_fd.
_CHANGES = {
    "os.remove": ((0,), 1),
    "os.rename": ((0, 1), 2),
    "os.truncate": ((0,), None),
    "os.chmod": ((0,), 2),
    "os.chown": ((0,), 3),
    "os.chflags": ((0,), None),
    "os.mkdir": ((0,), 2),
    "os.rmdir": ((0,), 1),
    "os.symlink": ((1,), 2),
    "os.link": ((1,), 3),
    "os.utime": ((0,), 3),
    "os.setxattr": ((0,), None),
    "os.removexattr": ((0,), None),
    "shutil.rmtree": ((0,), 1),
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | getattr(os, "O_APPEND", 0)


class Guard:
    """Refuses and reports; `report(kind, detail)` notes each refusal for the result."""

    def __init__(self, protected, report, allowed=()):
        self.protected = _both(protected)
        self.allowed = _both(allowed)  # inside the project, but the tool's own (its result file)
        self.report = report

    def install(self):
        sys.addaudithook(self.audit)
        _refuse_fork_exec(self)
        _check_open_at(self)

    def audit(self, event, args):
        what = _REFUSED.get(event)
        if what is not None:
            self.refuse(what, f"{event}{_short(args)}")
        elif event == "open":
            path, mode, flags = args
            writing = any(c in mode for c in "wax+") if mode is not None else flags & _WRITE_FLAGS
            if writing:
                self.check_path(event, path, None)
        elif event in _CHANGES:
            positions, dir_fd = _CHANGES[event]
            fd = args[dir_fd] if dir_fd is not None and dir_fd < len(args) else None
            for position in positions:
                self.check_path(event, args[position], fd)

    def check_path(self, event, path, dir_fd):
        resolved = _resolve(path, dir_fd)
        if any(_inside(p, root) for p in resolved for root in self.protected) and not all(
                any(_inside(p, ok) for ok in self.allowed) for p in resolved):
            self.refuse("write", f"{event} {resolved[0]}")

    def refuse(self, what, detail):
        self.report(what, detail)
        raise PermissionError(f"basilisk-trace: {what} access is refused during the dry run ({detail}); "
                              + ("the project tree is never modified" if what == "write"
                                 else "a canister cannot do this either"))


def _refuse_fork_exec(guard):
    # multiprocessing's spawn starts its workers through _posixsubprocess.fork_exec, which
    # raises no audit event.
    try:
        import _posixsubprocess
    except ImportError:
        return
    original = _posixsubprocess.fork_exec

    def fork_exec(*args, **kwargs):
        guard.refuse("subprocess", f"_posixsubprocess.fork_exec({args[0]!r:.80})")
        return original(*args, **kwargs)

    _posixsubprocess.fork_exec = fork_exec


def _check_open_at(guard):
    # The "open" audit event does not carry dir_fd: a relative path would be taken from the
    # working directory, not from the directory the descriptor names.
    original = os.open

    def open_at(path, flags, mode=0o777, *, dir_fd=None):
        if dir_fd is not None and flags & _WRITE_FLAGS:
            guard.check_path("open", path, dir_fd)
        return original(path, flags, mode, dir_fd=dir_fd)

    os.open = open_at


def _resolve(path, dir_fd):
    """The path as written and with symlinks resolved, or () when it names nothing checkable."""
    try:
        if isinstance(path, int):
            path = os.readlink(f"/proc/self/fd/{path}")
        elif isinstance(path, (str, bytes, os.PathLike)):
            path = os.fsdecode(path)
            if isinstance(dir_fd, int) and not os.path.isabs(path):
                path = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), path)
        else:
            return ()
    except (OSError, ValueError):
        return ()
    path = os.path.abspath(path)
    return (path, os.path.realpath(path))


def _both(paths):
    return [p for root in paths for p in {os.path.abspath(root), os.path.realpath(root)}]


def _inside(path, root):
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _short(args):
    text = repr(tuple(args))
    return text if len(text) <= 120 else text[:117] + "..."
