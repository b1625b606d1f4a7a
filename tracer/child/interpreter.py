"""Where an interpreter's stdlib and site-packages really are: asked by the tool before a dry run.

Run as `python -I -S -B interpreter.py` by the tool itself, outside the sandbox: with -S no site
processing happens (no .pth line and no sitecustomize runs), and -I keeps the environment and
the working folder out, so nothing of the project or of site-packages executes. The answers
are what the tool judges the dry run's own report by: a path the program names counts only
when it lies where this interpreter would import from. Prints one JSON document. Stdlib only.
"""

import ast
import contextlib
import json
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
    """The folders a setuptools editable finder maps packages to (its MAPPING literal, read, not run)."""
    try:
        tree = ast.parse("\n".join(_lines(path)))
    except (SyntaxError, ValueError, RecursionError):
        return []
    found = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == "MAPPING" for t in targets) and node.value is not None:
            try:
                mapping = ast.literal_eval(node.value)
            except (ValueError, SyntaxError, RecursionError):
                continue
            if isinstance(mapping, dict):
                for where in mapping.values():
                    if isinstance(where, str) and os.path.isabs(where):
                        found.append(where if os.path.isdir(where) else os.path.dirname(where))
    return found


def stdlib_dirs():
    """The base interpreter's stdlib folders, never the venv's (PITFALLS: platstdlib points into it)."""
    base = {"installed_base": sys.base_prefix, "base": sys.base_prefix,
            "platbase": sys.base_exec_prefix, "installed_platbase": sys.base_exec_prefix}
    found = [os.path.dirname(os.__file__)]
    for key in ("stdlib", "platstdlib"):
        with contextlib.suppress(KeyError, TypeError):
            found.append(sysconfig.get_path(key, vars=base))
    return found


def main():
    sites = site_dirs()
    print(json.dumps({
        "version": ".".join(str(n) for n in sys.version_info[:3]),
        "executable": sys.executable,
        "stdlib": stdlib_dirs(),
        "site_packages": sites,
        "sources": pth_dirs(sites),
        "stdlib_names": sorted(set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names)),
    }))


if __name__ == "__main__":
    main()
