"""bubblewrap's command line: which namespaces, and what is read-only, private or writable."""

from __future__ import annotations

from pathlib import Path

from basilisk_trace.base.sandbox import ISOLATION, Containment, command

MODE = Containment("bubblewrap", "/usr/bin/bwrap", ISOLATION)


def _pairs(args: list[str], option: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == option]


def test_every_namespace_and_no_capabilities():
    args = command(MODE, ["/usr/bin/python3", "x.py"], cwd=Path("/"), run_dir=Path("/tmp/run"), visible=[], home=None)
    assert args[0] == "/usr/bin/bwrap" and args[-3:] == ["--", "/usr/bin/python3", "x.py"]
    for option in ("--unshare-user", "--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session"):
        assert option in args
    assert _pairs(args, "--cap-drop") == ["ALL"]


def test_scratch_is_private_and_what_the_child_needs_is_read_only(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    home = tmp_path / "home"
    (home / ".cache").mkdir(parents=True)
    (home / ".pyenv").mkdir()
    (home / ".ssh").mkdir()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    result = run_dir / "result.json"
    result.touch()
    args = command(MODE, ["/usr/bin/python3"], cwd=project, run_dir=run_dir, visible=[project, home / ".pyenv"],
                   home=str(home), outputs=[result])
    tmpfs = _pairs(args, "--tmpfs")
    assert "/tmp" in tmpfs and "/run" in tmpfs and str(home) in tmpfs
    read_only = _pairs(args, "--ro-bind-try")
    assert str(project) in read_only and str(home / ".pyenv") in read_only and "/usr" in read_only
    # The home folder is empty but for what the child needs: ~/.ssh is not there at all.
    assert not any(p.startswith(str(home / ".ssh")) for p in read_only + _pairs(args, "--bind"))
    # Order matters: the project (under /tmp) is bound after /tmp is replaced, the run directory last,
    # read-only, with only its result file writable.
    assert args.index(str(project)) > args.index("/tmp")
    assert _pairs(args, "--ro-bind") == [str(run_dir)] and _pairs(args, "--bind") == [str(result)]
    assert args.index(str(result)) > args.index(str(run_dir)) > args.index(str(project))
    assert _pairs(args, "--chdir") == [str(project)]
    assert "/" not in read_only and "/proc" not in read_only and "/dev" not in read_only
