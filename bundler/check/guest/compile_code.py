"""Compile sources into marshalled code objects for this interpreter (verify's WASI CPython).

Executed as a script by `python -I -S` (no site-packages), never imported by the tool. Started by
_load.py: python -I -S _load.py compile_code CONFIG.json OUT.json. CONFIG: "items", each
[arcname, file name to compile under, path of its source, optimize], and "blob": where to write
marshal.dumps({arcname: code}). OUT: this interpreter's magic number and version, and the arcnames
compiled: a source that does not compile is left out, as the build leaves it out.
"""

import importlib.util
import json
import marshal
import sys


def main(argv):
    with open(argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    compiled = {}
    for arcname, filename, path, optimize in config["items"]:
        with open(path, "rb") as handle:
            source = handle.read()
        try:
            compiled[arcname] = compile(source, filename, "exec", dont_inherit=True, optimize=optimize)
        except (SyntaxError, ValueError):
            continue
    with open(config["blob"], "wb") as handle:
        handle.write(marshal.dumps(compiled))
    with open(argv[2], "w", encoding="utf-8") as handle:
        json.dump({"magic": importlib.util.MAGIC_NUMBER.hex(), "python": f"{sys.version_info.major}.{sys.version_info.minor}",
                   "arcnames": list(compiled)}, handle)


if __name__ == "__main__":
    main(sys.argv)
