"""The trust boundary: what the contained program hands back is untrusted, and judged by the tool.

The dry run writes its result into a folder named on the program's own command line, so a
program can rewrite it after the fact (an atexit handler runs after the result is written),
plant links beside it, or jam it. Each case runs in the bubblewrap sandbox and with the audit
hooks alone (BASILISK_TRACE_SANDBOX=0), through the real command line.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from helpers import run_cli, zip_names

SECRETS = {"py": b"PY_SECRET = 'py-secret-3141'\n", "key": b"key-secret-2718\n", "json": b'{"token": "json-secret-1618"}\n'}
MARKERS = (b"py-secret-3141", b"key-secret-2718", b"json-secret-1618")


@pytest.fixture(params=["bubblewrap", "hooks"])
def sandbox(request) -> dict[str, str]:
    """The environment that chooses the containment of the command's children."""
    if request.param == "bubblewrap" and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (./dev setup installs it)")
    return {"BASILISK_TRACE_SANDBOX": "1" if request.param == "bubblewrap" else "0"}


def _host_secrets(tmp_path: Path) -> dict[str, Path]:
    """A Python file in host /tmp, a JSON file in a run folder, a key in ~/.ssh: none of them the project's."""
    paths = {"py": tmp_path / "host" / "secret_module.py", "key": tmp_path / "home" / ".ssh" / "id_rsa",
             "json": tmp_path / "host" / "run" / "creds.json"}
    for kind, path in paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(SECRETS[kind])
    return paths


def _project(tmp_path: Path, main: str) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / ".git").mkdir()
    (project / "helper.py").write_text("VALUE = 1\n")
    (project / "main.py").write_text(main)
    return project


# Runs after the runner wrote its result: rewrites every JSON file of the run folder.
FORGE = '''
import atexit, json, os, sys
SECRETS = {secrets!r}

def forge():
    run_dir = os.path.dirname(sys.argv[-1])
    for name in sorted(os.listdir(run_dir)):
        path = os.path.join(run_dir, name)
        if not name.endswith(".json") or os.path.islink(path):
            continue
        try:
            with open(path) as handle:
                doc = json.load(handle)
        except Exception:
            continue
        if isinstance(doc, dict) and "modules" in doc:
            secret_dir = os.path.dirname(SECRETS["py"])
            doc.update(site_packages=[secret_dir, os.path.dirname(SECRETS["key"]), os.path.dirname(SECRETS["json"])],
                       project_root="/", source_roots=[secret_dir])
            for module in doc["modules"]:
                module.update(origin=SECRETS["py"], distribution="forged", version="1", stdlib=True)
            doc["modules"] += [
                {{"name": "stolen", "kind": "source", "origin": SECRETS["py"], "distribution": "requests",
                  "version": "2", "found_by": "trace", "how": "import", "importer": "main"}},
                {{"name": "stolenpkg", "kind": "package", "origin": SECRETS["py"], "found_by": "trace",
                  "how": "import", "importer": "main"}},
                {{"name": "stolenpkg.helper", "kind": "source", "origin": {helper!r}, "found_by": "trace",
                  "how": "import", "importer": "main"}},
            ]
            doc["files"] += [{{"path": SECRETS[k], "role": "data", "read": True, "size": 20, "module": "main"}}
                             for k in ("key", "json")]
        elif isinstance(doc, dict):
            doc["0" * 64] = []  # the static pass's cache: an entry no file has
        try:
            with open(path, "w") as handle:
                json.dump(doc, handle)
        except OSError:
            pass
    for index, target in enumerate(SECRETS.values()):
        try:
            os.symlink(target, os.path.join(run_dir, f"static-link{{index}}.json"))
        except OSError:
            pass

atexit.register(forge)
import helper
def later():
    import json  # static only: the static pass's cache gets an entry
'''


def test_forged_results_carry_no_secret_into_the_bundle_or_the_cache(tmp_path, sandbox):
    secrets = _host_secrets(tmp_path)
    project = _project(tmp_path, "")
    (project / "main.py").write_text(FORGE.format(secrets={k: str(v) for k, v in secrets.items()},
                                                  helper=str(project / "helper.py")))
    env = {**sandbox, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    for _ in range(2):  # the second answer comes from the cache
        done = run_cli("bundle", "main.py", "-o", "out.zip", cwd=project, env=env)
        assert "Traceback" not in done.stderr
        assert done.returncode == 0, done.stderr
        names = zip_names((project / "out.zip").read_bytes())
        assert not any(marker in data for data in names.values() for marker in MARKERS), sorted(names)
        assert names["main.py"] == (project / "main.py").read_bytes()
        assert "stolen.py" not in names and "stolenpkg/__init__.py" not in names
    cached = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert cached and not any(marker in p.read_bytes() for p in cached for marker in MARKERS)
    assert not any(p.is_symlink() for p in (tmp_path / "cache").rglob("*"))


# Replaces the result file after it is written: in the sandbox the run folder is read-only and the
# result a mount point, so only the hooks-only run gets that far; the sandboxed one finds it intact.
JAM = '''
import atexit, os, sys
def jam():
    out = sys.argv[-1]
    try:
        os.unlink(out)
    except OSError:
        return
    {how}
atexit.register(jam)
'''
JAMS = {"fifo": "os.mkfifo(out)", "dev_zero": "os.symlink('/dev/zero', out)",
        "secret_link": "os.symlink({secret!r}, out)"}


@pytest.mark.parametrize("how", sorted(JAMS))
@pytest.mark.parametrize("command", ["trace", "verify"])
def test_a_jammed_result_ends_in_one_line_within_the_timeout(tmp_path, sandbox, how, command):
    secrets = _host_secrets(tmp_path)
    project = _project(tmp_path, JAM.format(how=JAMS[how].format(secret=str(secrets["json"]))))
    started = time.monotonic()
    done = run_cli(command, "main.py", "--timeout", "20", cwd=project, timeout=120,
                   env={**sandbox, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert time.monotonic() - started < 60
    assert "Traceback" not in done.stderr and "json-secret" not in done.stdout + done.stderr
    if sandbox["BASILISK_TRACE_SANDBOX"] == "1":
        assert done.returncode == 0, done.stderr  # the run folder could not be touched
        return
    errors = [line for line in done.stderr.splitlines() if line.startswith("basilisk-trace: error:")]
    assert done.returncode == 1 and len(errors) == 1, done.stderr
    kind = {"fifo": "a FIFO", "dev_zero": "a symbolic link", "secret_link": "a symbolic link"}[how]
    assert kind in errors[0], errors[0]


HUGE = '''
import atexit, os, sys
def huge():
    os.truncate(sys.argv[-1], 200 * 1024 * 1024)  # sparse: no disk, but far past any result
atexit.register(huge)
'''


def test_a_huge_result_is_one_line(tmp_path, sandbox):
    project = _project(tmp_path, HUGE)
    done = run_cli("trace", "main.py", cwd=project, env={**sandbox, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    errors = [line for line in done.stderr.splitlines() if line.startswith("basilisk-trace: error:")]
    assert done.returncode == 1 and len(errors) == 1 and "larger than 64 MiB" in errors[0], done.stderr


PLANT = '''
import atexit, os, sys
TARGET = {target!r}
def plant():
    run_dir = os.path.dirname(sys.argv[-1])
    for index in range(5):
        try:
            with open(os.path.join(run_dir, f"static-fill{{index}}.json"), "w") as handle:
                handle.write('{{"' + "a" * 64 + '": []}}' + " " * 1_000_000)
        except OSError:
            pass
    static = os.path.join(run_dir, "static.json")
    try:
        os.unlink(static)
        os.symlink(TARGET, static)
    except OSError:
        pass
atexit.register(plant)
def later():
    import helper
'''


def test_planted_files_and_links_never_reach_the_cache(tmp_path, sandbox):
    secrets = _host_secrets(tmp_path)
    target = tmp_path / "host" / "static.json"
    target.write_text('{"' + "b" * 64 + '": [["json-secret-1618", [], 0, 1, [false, false, false]]]}')
    project = _project(tmp_path, PLANT.format(target=str(target)))
    cache = tmp_path / "cache"
    done = run_cli("trace", "main.py", cwd=project, env={**sandbox, "XDG_CACHE_HOME": str(cache)})
    assert "Traceback" not in done.stderr
    if sandbox["BASILISK_TRACE_SANDBOX"] == "0":
        assert done.returncode == 1 and "static.json is a symbolic link" in done.stderr, done.stderr
    else:
        assert done.returncode == 0, done.stderr
    kept = sorted(p.name for p in (cache / "basilisk-trace").iterdir()) if (cache / "basilisk-trace").exists() else []
    assert not any("fill" in name for name in kept), kept
    assert not any(b"json-secret" in p.read_bytes() for p in cache.rglob("*") if p.is_file())
    assert secrets["json"].read_bytes() == SECRETS["json"]


MALFORMED = '''
import atexit, sys
def rewrite():
    with open(sys.argv[-1], "w") as handle:
        handle.write({text!r})
atexit.register(rewrite)
'''


@pytest.mark.parametrize(("text", "words"), [
    ('{"outcome": "ok", "modules": 5}', "malformed modules"),
    ('{"outcome": "ok", "modules": [{"name": "../../etc", "kind": "source"}]}', "malformed modules[0].name"),
    ('{"outcome": "fine"}', "malformed outcome"),
    ("[" * 100_000, "not a JSON document"),
    ("not json at all", "not a JSON document"),
])
def test_a_malformed_result_is_one_line(tmp_path, sandbox, text, words):
    project = _project(tmp_path, MALFORMED.format(text=text))
    done = run_cli("bundle", "main.py", "-o", "out.zip", cwd=project,
                   env={**sandbox, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    errors = [line for line in done.stderr.splitlines() if line.startswith("basilisk-trace: error:")]
    assert done.returncode == 1 and len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert words in errors[0] and "free some space" not in errors[0], errors[0]
    assert not (project / "out.zip").exists()


VERIFY_FORGE = '''
import atexit, os, sys
def rewrite():
    if "basilisk-verify" in os.path.abspath(__file__):  # only verify's run of the bundle: the dry run goes well
        with open(sys.argv[-1], "w") as handle:
            handle.write({text!r})
atexit.register(rewrite)
'''


@pytest.mark.parametrize("text", ['{"outcome": "ok", "failure": {"error": 5}, "methods": [], "stubbed": []}',
                                  '{"failure": null, "methods": 3}', "[1]"])
def test_a_forged_verify_result_is_one_line(tmp_path, sandbox, text):
    project = _project(tmp_path, VERIFY_FORGE.format(text=text))
    done = run_cli("verify", "main.py", "--target", "cpython-wasi", cwd=project,
                   env={**sandbox, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    errors = [line for line in done.stderr.splitlines() if line.startswith("basilisk-trace: error:")]
    assert done.returncode == 1 and len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "isolated run" in errors[0], errors[0]


POISON = '''
import atexit, json, os, sys
def poison():
    run_dir = os.path.dirname(sys.argv[-1])
    for name in os.listdir(run_dir):
        path = os.path.join(run_dir, name)
        if name.startswith("static") and not os.path.islink(path):
            with open(path) as handle:
                entries = json.load(handle)
            with open(path, "w") as handle:
                json.dump({key: [] for key in entries}, handle)  # "these files import nothing"
atexit.register(poison)
'''
VICTIM = "def load():\n    import yaml\n"


def test_one_programs_static_cache_never_reaches_another_project(tmp_path, sandbox):
    env = {**sandbox, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    for name, main in (("attacker", POISON + "def later():\n    import victim\n"),
                       ("victim", "def later():\n    import victim\n")):
        project = tmp_path / name
        project.mkdir()
        (project / ".git").mkdir()
        (project / "main.py").write_text(main)
        (project / "victim.py").write_text(VICTIM)  # the same file, so the same content key
        done = run_cli("trace", "main.py", "--json", "trace.json", cwd=project, env=env)
        assert done.returncode == 0, done.stderr
    import json

    names = {m["name"] for m in json.loads((tmp_path / "victim" / "trace.json").read_text())["modules"]}
    assert "yaml" in names, sorted(names)
