"""The package list, read from the tree: every folder under base/, tracer/ and bundler/ holding an
__init__.py (pyproject.toml holds the rest of the configuration)."""

from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
TOPS = ("base", "tracer", "bundler")


def packages() -> list[str]:
    found = []
    for top in TOPS:
        for init in sorted((ROOT / top).rglob("__init__.py")):
            folder = init.parent.relative_to(ROOT)
            if "__pycache__" not in folder.parts and not (set(folder.parts) & {"child", "runtime", "guest"}):
                found.append(".".join(("basilisk_trace", *folder.parts)))
    return found


setup(packages=packages())
