"""The version of an installed distribution, read as importlib.metadata finds it, without importing it.

importlib.metadata brings email, zipfile and importlib.resources along: more than a warm
`trace` spends on everything else. Distributions are looked up the same way, the first
`<name>-<version>.dist-info` folder along sys.path, and anything else (an .egg-info, a
folder without METADATA) is left to importlib.metadata itself.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence

__all__ = ["NotInstalled", "distribution_version"]


class NotInstalled(LookupError):
    """No distribution of that name is installed."""


def distribution_version(name: str, path: Sequence[str] | None = None) -> str:
    """The installed version of distribution `name`, or NotInstalled."""
    normal = re.sub(r"[-_.]+", "_", name).lower()
    for folder in sys.path if path is None else path:
        try:
            entries = os.listdir(folder or ".")
        except OSError:
            if os.path.isfile(folder):
                return _slow(name)  # a ZIP on the path: importlib.metadata reads inside it
            continue
        for entry in entries:
            low = entry.lower()
            # As importlib.metadata's FastPath names them: the part before the first "-".
            if low.endswith((".dist-info", ".egg-info")) and \
                    re.sub(r"[-_.]+", "_", low.rpartition(".")[0].partition("-")[0]) == normal:
                version = _metadata_version(os.path.join(folder or ".", entry)) if low.endswith(".dist-info") else None
                return version if version is not None else _slow(name)
    return _slow(name)


def _metadata_version(info: str) -> str | None:
    try:
        with open(os.path.join(info, "METADATA"), encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("Version:"):
                    return line[8:].strip()
                if not line.strip():
                    return None  # the headers ended
    except OSError:
        return None
    return None


def _slow(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        raise NotInstalled(name) from None
