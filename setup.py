"""The package list, read from the tree: every folder under base/, tracer/ and bundler/ holding Python
or data files (pyproject.toml holds the rest of the configuration). The child scripts' folders have
no __init__.py (they are loaded by path in the child); listing them and the data folders keeps
setuptools from warning."""

from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
TOPS = ("base", "tracer", "bundler")


def packages() -> list[str]:
    found = []
    for top in TOPS:
        folders = {path.parent.relative_to(ROOT) for path in (ROOT / top).rglob("*") if path.is_file()}
        found.extend(".".join(("basilisk_trace", *folder.parts)) for folder in sorted(folders)
                     if "__pycache__" not in folder.parts)
    return found


setup(packages=packages())
