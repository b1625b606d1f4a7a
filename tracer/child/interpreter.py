"""Where an interpreter's stdlib and site-packages really are: asked by the tool before a dry run.

Run as `python -I -S -B interpreter.py` by the tool itself, outside the sandbox: with -S no site
processing happens (no .pth line and no sitecustomize runs), and -I keeps the environment and
the working folder out, so nothing of the project or of site-packages executes. The answers
are what the tool judges the dry run's own report by: a path the program names counts only
when it lies where this interpreter would import from. Prints one Python literal (a dict of
strings and lists of strings) for ast.literal_eval. Stdlib only, and as few imports as can be.
"""

import os
import site
import sys
import sysconfig

_PTH_LIMIT = 1024 * 1024


def _venv():
    """(the venv's folder, whether it sees the system site-packages), or (None, True) outside one."""
    exe_dir = os.path.dirname(os.path.abspath(sys.executable))
    for folder in (exe_dir, os.path.dirname(exe_dir)):
        config = os.path.join(folder, "pyvenv.cfg")
        if os.path.isfile(config):
            system = "true"
            for line in _lines(config):
                key, _, value = line.partition("=")
                if key.strip().lower() == "include-system-site-packages":
                    system = value.strip().lower()
            return os.path.dirname(exe_dir), system == "true"
    return None, True


def _lines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(_PTH_LIMIT).splitlines()
    except OSError:
        return []


def site_dirs():
    """The folders site.main() would add, as it would add them (site.venv, then user, then system)."""
    venv, system = _venv()
    if venv is not None:
        prefixes = [venv] + ([sys.base_prefix, sys.base_exec_prefix] if system else [])
    else:
        prefixes = [sys.prefix, sys.exec_prefix]
    found = list(site.getsitepackages(list(dict.fromkeys(prefixes))))
    same_ids = not hasattr(os, "getuid") or (os.geteuid() == os.getuid() and os.getegid() == os.getgid())
    if system and same_ids:
        found.insert(0, site.getusersitepackages())
    return [d for d in dict.fromkeys(found) if os.path.isdir(d)]


def pth_dirs(site_folders):
    """Folders .pth files add (an editable install's sources); their `import` lines are never run."""
    found = []
    for folder in site_folders:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            if name.endswith(".pth") and not name.startswith("."):
                for line in _lines(os.path.join(folder, name)):
                    if line.startswith("#") or line.startswith(("import ", "import\t")) or not line.strip():
                        continue
                    path = os.path.join(folder, line.rstrip())
                    if os.path.isdir(path):
                        found.append(os.path.abspath(path))
            elif name.startswith("__editable___") and name.endswith("_finder.py"):
                found.extend(_finder_sources(os.path.join(folder, name)))
    return found


def _finder_sources(path):
    """The folders a setuptools editable finder maps packages to: the string pairs of its MAPPING literal,
    read, never run (and without ast or re, whose imports would cost more than the rest of this script)."""
    text = "\n".join(_lines(path))
    start = text.find("MAPPING")
    opening = text.find("{", start) if start >= 0 else -1
    closing = text.find("}", opening) if opening >= 0 else -1
    if closing < 0:
        return []
    strings = _quoted(text[opening:closing])
    found = []
    for where in strings[1::2]:
        if os.path.isabs(where):
            found.append(where if os.path.isdir(where) else os.path.dirname(where))
    return found


def _quoted(text):
    """The quoted strings of a literal, in order (a backslash escapes the next character)."""
    found, current, quote, escaped = [], [], None, False
    for char in text:
        if quote is None:
            if char in "'\"":
                quote, current = char, []
        elif escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == quote:
            found.append("".join(current))
            quote = None
        else:
            current.append(char)
    return found


def stdlib_dirs():
    """The base interpreter's stdlib folders, never the venv's (PITFALLS: platstdlib points into it)."""
    base = {"installed_base": sys.base_prefix, "base": sys.base_prefix,
            "platbase": sys.base_exec_prefix, "installed_platbase": sys.base_exec_prefix}
    found = [os.path.dirname(os.__file__)]
    for key in ("stdlib", "platstdlib"):
        try:  # noqa: SIM105 (contextlib would import collections: a third of this script's time)
            found.append(sysconfig.get_path(key, vars=base))
        except (KeyError, TypeError):
            pass
    return found


def main():
    sites = site_dirs()
    # A Python literal, not JSON: json would import re, which costs more than the rest of this script.
    print(repr({
        "version": ".".join(str(n) for n in sys.version_info[:3]),
        "executable": sys.executable,
        "stdlib": stdlib_dirs(),
        "site_packages": sites,
        "sources": pth_dirs(sites),
        "stdlib_names": sorted(set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names)),
    }))


if __name__ == "__main__":
    main()
