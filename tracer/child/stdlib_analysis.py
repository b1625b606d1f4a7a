"""The static pass's answers for the standard library's own files, shipped with the tool.

A target that lacks part of the stdlib (ic-basilisk's runtime) makes the static pass read the
stdlib modules the program may need: what their top-level code reads while they are imported
(child/import_time.py) and, for files whose bytecode cannot tell an import's context (pickle's
`if __name__ == "__main__":`), their import sites from the AST. Parsing them is most of a cold
static pass; their answers do not depend on the program. tools/gen_stdlib_analysis.py works
them out once per Python version, into stdlib-analysis-3.X.json beside this file: keyed by the
sha256 of each file's content (and its package), valid only for the analyzer's own source it was
made with (`analyzer_digest`), so a file that differs, or a changed analyzer, is analyzed as before.
Stdlib only; runs in the child.
"""

import hashlib
import json
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
# The files whose code decides the answers: a change to any of them voids the table.
ANALYZER = ("static.py", "sites.py", "branches.py", "site_sources.py", "import_time.py", "stdlib_analysis.py")
_TABLE_LIMIT = 8 * 1024 * 1024


def table_path(version=None):
    major, minor = version or sys.version_info[:2]
    return os.path.join(_HERE, f"stdlib-analysis-{major}.{minor}.json")


def analyzer_digest():
    """The sha256 of the analyzer's source files and this Python's version."""
    digest = hashlib.sha256(f"{sys.version_info[0]}.{sys.version_info[1]}".encode())
    for name in ANALYZER:
        try:
            with open(os.path.join(_HERE, name), "rb") as handle:
                digest.update(name.encode() + b"\0" + handle.read() + b"\0")
        except OSError:
            return None
    return digest.hexdigest()


def sites_key(source):
    return hashlib.sha256(source).hexdigest()


def import_time_key(source, package):
    return hashlib.sha256(package.encode() + b"\0" + source).hexdigest()


class Table:
    """The shipped answers, read on first use; empty when absent, damaged or made by another analyzer."""

    def __init__(self):
        self._data = None

    def _loaded(self):
        if self._data is None:
            self._data = _read()
        return self._data

    def sites(self, source):
        """The encoded import sites of a stdlib file with this content, or None."""
        entry = self._loaded()["sites"].get(sites_key(source))
        return entry if isinstance(entry, list) else None

    def import_time(self, source, package):
        """The encoded import-time answer of a stdlib file with this content in `package`, or None."""
        entry = self._loaded()["import_time"].get(import_time_key(source, package))
        return entry if isinstance(entry, list) else None


def _read():
    empty = {"sites": {}, "import_time": {}}
    try:
        with open(table_path(), "rb") as handle:
            data = json.loads(handle.read(_TABLE_LIMIT))
    except (OSError, ValueError, RecursionError):
        return empty
    if not (isinstance(data, dict) and data.get("analyzer") == analyzer_digest()
            and isinstance(data.get("sites"), dict) and isinstance(data.get("import_time"), dict)):
        return empty
    return data
