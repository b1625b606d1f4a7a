"""componentize-py and wasmtime: present, and of a supported version, or one line saying what to install."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from basilisk_trace.base.errors import BasiliskTraceError

SUPPORTED = "0.25.1"  # the componentize-py whose build and runtime this host was written against
EXTRA = "pip install 'basilisk-trace[component]'"


class ToolError(BasiliskTraceError):
    """componentize-py or wasmtime is missing, or of a version this host does not support."""


def componentize_py_version() -> str:
    """The installed componentize-py's version: the supported one, or ToolError."""
    try:
        found = version("componentize-py")
    except PackageNotFoundError:
        raise ToolError(f"componentize-py is not installed, and it builds the component; {EXTRA}") from None
    if found != SUPPORTED:
        raise ToolError(f"componentize-py {found} is installed, but basilisk-trace supports {SUPPORTED} "
                        f"(its build and its runtime); pip install componentize-py=={SUPPORTED}")
    return found


def componentize_py() -> Any:
    """The componentize_py module (its Python API), after the version check."""
    componentize_py_version()
    import componentize_py

    return componentize_py


def wasmtime_version() -> str:
    try:
        return version("wasmtime")
    except PackageNotFoundError:
        raise ToolError(f"wasmtime is not installed, and a component runs in it; {EXTRA}") from None


def wasmtime() -> Any:
    """The wasmtime module, with the component model API (Linker.add_wasip2), or ToolError."""
    found = wasmtime_version()
    try:
        import wasmtime
        from wasmtime import component
    except ImportError:
        raise ToolError(f"wasmtime {found} has no component API; {EXTRA}") from None
    if not hasattr(component.Linker, "add_wasip2"):
        raise ToolError(f"wasmtime {found} cannot run WASI preview 2 components; {EXTRA}")
    return wasmtime
