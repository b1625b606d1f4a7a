"""ic-basilisk's method extraction in a process of its own, beside the dry run: files in, results out.

Run by bundler/write/ic_basilisk_methods.py as `python -I -S -B -X utf8 extract_methods.py FOLDER`
in the build's working folder, FOLDER holding the `basilisk` package the tool itself imports. On
stdin, marshalled: the .py files of the entry's folder and those of the rest of its `src/` tree, in
the order ic-basilisk's build reads them. It reads them as the build does, joins them into the
build's two texts (the entry folder's, then both), and writes, for each text, [text, True,
extract_methods_from_python(text)] on stdout, marshalled; the first it cannot extract ends the list
with [text, False, None] (the build extracts that one itself, and says what is wrong). It runs
nothing of the project: its files are only read and parsed.
"""

import marshal
import sys


def main(argv):
    sys.path.insert(0, argv[1])
    own, rest = marshal.loads(sys.stdin.buffer.read())
    texts = [_joined(own)]
    texts.append(texts[0] if not rest else "\n".join([*_read(own), *_read(rest)]))
    from basilisk.wasm_manipulator import extract_methods_from_python

    results = []
    for text in dict.fromkeys(texts):
        try:
            results.append([text, True, extract_methods_from_python(text)])
        except Exception:  # noqa: BLE001 - the build meets it again, and words it
            results.append([text, False, None])
            break
    sys.stdout.buffer.write(marshal.dumps(results))


def _read(paths):
    texts = []
    for path in paths:
        with open(path) as handle:
            texts.append(handle.read())
    return texts


def _joined(paths):
    return "\n".join(_read(paths))


if __name__ == "__main__":
    main(sys.argv)
