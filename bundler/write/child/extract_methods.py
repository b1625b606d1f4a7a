"""ic-basilisk's method extraction in a process of its own, beside the dry run: texts in, results out.

Run by bundler/write/ic_basilisk_methods.py as `python -I -S -B extract_methods.py FOLDER`, FOLDER
holding the `basilisk` package the tool itself imports. It reads the texts (a marshalled list) on
stdin, and writes, for each, [True, extract_methods_from_python(text)] on stdout, marshalled; the
first text it cannot extract ends the list with [False, None] (the build extracts that one itself,
and says what is wrong). It runs nothing of the project: the texts are only parsed.
"""

import marshal
import sys


def main(argv):
    sys.path.insert(0, argv[1])
    texts = marshal.loads(sys.stdin.buffer.read())
    from basilisk.wasm_manipulator import extract_methods_from_python

    results = []
    for text in texts:
        try:
            results.append([True, extract_methods_from_python(text)])
        except Exception:  # noqa: BLE001 - the build meets it again, and words it
            results.append([False, None])
            break
    sys.stdout.buffer.write(marshal.dumps(results))


if __name__ == "__main__":
    main(sys.argv)
