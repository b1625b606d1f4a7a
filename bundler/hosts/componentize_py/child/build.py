"""Build a component with componentize-py's Python API, in a child process (it holds ~400 MB while it runs).

Run by the tool's launcher (base/child/_load.py build CONFIG.json OUT.json) in the sandbox,
with the tool's own interpreter. The python path is a copy of the staged folder in a private
temporary folder (the guest may write into its python path), and nothing else: the Python API,
unlike the command line, adds no site-packages. Config: wit, world, stage, app, stub_wasi,
failed_file, run_dir. Result: {"error": text} or {"seconds", "failed"}; the component is
written as run_dir/component.wasm, the one output the parent takes back.
"""

import json
import os
import shutil
import sys
import tempfile
import time


def main(argv):
    with open(argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    result = build(config)
    with open(argv[2], "w", encoding="utf-8") as handle:
        json.dump(result, handle)


def build(config):
    with tempfile.TemporaryDirectory(prefix="basilisk-component-") as scratch:
        path = os.path.join(scratch, "python-path")
        shutil.copytree(config["stage"], path, copy_function=shutil.copy2)  # the times are part of the input
        _copy_times(config["stage"], path)
        return _build(config, path)


def _build(config, path):
    import componentize_py

    output = os.path.join(config["run_dir"], "component.wasm")
    started = time.perf_counter()
    try:
        componentize_py.componentize([config["wit"]], [config["world"]], [], False, None, [path], [],
                                     config["app"], output, config["stub_wasi"], [], [], False, None)
    except AssertionError as exc:  # componentize-py's error chain, the guest's traceback in it
        return {"error": str(exc).split("\n\nStack backtrace:")[0]}
    failed = os.path.join(path, config["failed_file"])
    found = {}
    if os.path.isfile(failed):
        with open(failed, encoding="utf-8") as handle:
            found = json.load(handle)
    return {"seconds": time.perf_counter() - started, "failed": found}


def _copy_times(source, target):
    for folder, _, _ in sorted(os.walk(source), reverse=True):
        stat = os.stat(folder)
        os.utime(os.path.join(target, os.path.relpath(folder, source)), ns=(stat.st_atime_ns, stat.st_mtime_ns))


if __name__ == "__main__":
    main(sys.argv)
