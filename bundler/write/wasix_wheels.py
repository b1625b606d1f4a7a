"""Find wasm32-wasix wheels for native distributions in a wheelhouse or a PEP 503 index."""

from __future__ import annotations

import hashlib
import io
import re
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from basilisk_trace.base.errors import BasiliskTraceError

__all__ = [
    "WASIX_INDEX",
    "WASIX_PLATFORMS",
    "WasixWheelError",
    "WheelRef",
    "find_wasix_wheel",
    "normalize",
    "wheel_files",
]

WASIX_INDEX = "https://pythonindex.wasix.org/simple"
# wasix-org/build-scripts tags its wheels wasix_wasm32; wasm32_wasix mirrors the target triple.
WASIX_PLATFORMS = frozenset({"wasix_wasm32", "wasm32_wasix"})
_TIMEOUT = 30
_WHEEL = re.compile(
    r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-(?P<build>\d[^-]*))?"
    r"-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$"
)
_VERSION = re.compile(r"^(\d+(?:\.\d+)*)(?:(a|b|rc)(\d+))?(?:\.post(\d+))?(?:\.dev(\d+))?(\+.*)?$")


class WasixWheelError(BasiliskTraceError):
    """No usable wasm32-wasix wheel, or one that cannot be read."""


def normalize(name: str) -> str:
    """PEP 503 name normalization: runs of -, _ and . become one -, lowercased."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class WheelRef:
    """One wasm32-wasix wheel file, where it lives, and the hash the index promised."""

    distribution: str
    version: str
    filename: str
    location: str  # a local path or a URL
    python_tags: tuple[str, ...]
    abi_tags: tuple[str, ...]
    platform_tags: tuple[str, ...]
    build: str | None = None
    sha256: str | None = None

    @classmethod
    def from_filename(
        cls, filename: str, location: str, sha256: str | None = None
    ) -> WheelRef | None:
        """Parse a PEP 427 filename; None when the name is not a wheel's."""
        match = _WHEEL.match(filename)
        if match is None:
            return None
        return cls(
            distribution=match["name"],
            version=match["version"],
            filename=filename,
            location=location,
            python_tags=tuple(match["py"].split(".")),
            abi_tags=tuple(match["abi"].split(".")),
            platform_tags=tuple(match["plat"].split(".")),
            build=match["build"],
            sha256=sha256,
        )

    @property
    def is_wasix(self) -> bool:
        return bool(WASIX_PLATFORMS.intersection(self.platform_tags))

    def python_rank(self, python: str) -> int:
        """How well this wheel fits CPython ``python`` ("3.13"): higher is better, 0 never."""
        major, minor = (int(part) for part in python.split(".")[:2])
        exact = f"cp{major}{minor}"
        if exact in self.python_tags and exact in self.abi_tags:
            return 3
        for tag in self.python_tags:
            # cp3X-abi3 runs on every CPython from 3.X on (PEP 384).
            found = re.fullmatch(rf"cp{major}(\d+)", tag)
            if found and "abi3" in self.abi_tags and int(found[1]) <= minor:
                return 2
        if {f"py{major}", f"py{major}{minor}"} & set(self.python_tags) and "none" in self.abi_tags:
            return 1
        return 0


def _version_key(version: str) -> tuple[object, ...]:
    """Order PEP 440 versions well enough to pick the newest; unparsable ones sort first."""
    match = _VERSION.match(version)
    if match is None:
        return (0, version)
    release = [int(part) for part in match[1].split(".")]
    while len(release) > 1 and release[-1] == 0:
        release.pop()  # 2.3 == 2.3.0
    if match[2]:
        pre = ({"a": 1, "b": 2, "rc": 3}[match[2]], int(match[3]))
    else:
        pre = (0, 0) if match[5] and not match[4] else (4, 0)  # 1.0.dev1 < 1.0a1 < 1.0
    post = int(match[4]) if match[4] else -1
    dev = int(match[5]) if match[5] else 1 << 62
    return (1, tuple(release), pre, post, dev, match[6] or "")


def _same_version(found: str, wanted: str) -> bool:
    return found == wanted or (
        _VERSION.match(wanted) is not None and _version_key(found) == _version_key(wanted)
    )


class _Anchors(HTMLParser):
    """Collect (href, yanked) for every <a> in a PEP 503 project page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            values = dict(attrs)
            if values.get("href"):
                self.links.append((values["href"] or "", "data-yanked" in values))


def _read_url(url: str) -> bytes:
    """Fetch ``url`` (file:// or http(s)); a file:// directory serves its index.html."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        path = Path(urllib.request.url2pathname(parts.path))
        if path.is_dir():
            path = path / "index.html"
        return path.read_bytes()
    if parts.scheme not in ("http", "https"):
        raise WasixWheelError(
            f"unsupported index URL scheme in {url!r}: use file://, http:// or https://"
        )
    with urllib.request.urlopen(url, timeout=_TIMEOUT) as response:
        data: bytes = response.read()
        return data


def _from_wheelhouse(wheelhouse: Path) -> list[WheelRef]:
    if not wheelhouse.is_dir():
        raise WasixWheelError(f"wheelhouse {wheelhouse} is not a directory")
    refs = (WheelRef.from_filename(p.name, str(p)) for p in sorted(wheelhouse.glob("*.whl")))
    return [ref for ref in refs if ref is not None]


def _from_index(
    index_url: str, distribution: str, version: str | None
) -> tuple[str, list[WheelRef]]:
    page = urllib.parse.urljoin(index_url.rstrip("/") + "/", normalize(distribution) + "/")
    try:
        html = _read_url(page).decode("utf-8", "replace")
    except (OSError, urllib.error.URLError) as exc:
        # A missing project page is "no wheels here", not a crash: say where we looked.
        if getattr(exc, "code", None) == 404 or isinstance(exc, FileNotFoundError):
            return page, []
        raise WasixWheelError(f"cannot read the index page {page}: {exc}") from exc
    parser = _Anchors()
    parser.feed(html)
    refs: list[WheelRef] = []
    for href, yanked in parser.links:
        url, _, fragment = urllib.parse.urljoin(page, href).partition("#")
        filename = urllib.parse.unquote(url.rsplit("/", 1)[-1])
        sha256 = fragment.removeprefix("sha256=") if fragment.startswith("sha256=") else None
        ref = WheelRef.from_filename(filename, url, sha256)
        # PEP 592: a yanked file is only used when that exact version was asked for.
        if ref is not None and not (yanked and version is None):
            refs.append(ref)
    return page, refs


def _pick(
    refs: list[WheelRef], distribution: str, version: str | None, python: str
) -> WheelRef | None:
    wanted = normalize(distribution)
    fitting = [
        ref
        for ref in refs
        if normalize(ref.distribution) == wanted
        and ref.is_wasix
        and ref.python_rank(python) > 0
        and (version is None or _same_version(ref.version, version))
    ]
    if not fitting:
        return None
    return max(
        fitting,
        key=lambda r: (_version_key(r.version), r.python_rank(python), r.build or "", r.filename),
    )


def find_wasix_wheel(
    distribution: str,
    version: str | None,
    *,
    wheelhouse: Path | None,
    index_url: str | None,
    python: str = "3.13",
) -> WheelRef:
    """The best wasm32-wasix wheel of ``distribution`` for CPython ``python``.

    The wheelhouse is searched before the index. Only wheels with a wasix platform tag
    count: a pure ``any`` wheel is not a WASIX build, and pure distributions are bundled
    from the environment instead.
    """
    if wheelhouse is None and index_url is None:
        raise WasixWheelError(
            f"{distribution} contains native code; to use it on wasix, pass a wheelhouse "
            f"directory or an index URL (for example {WASIX_INDEX})"
        )
    looked: list[str] = []
    seen: list[WheelRef] = []
    for where, refs in _sources(distribution, version, wheelhouse, index_url):
        looked.append(where)
        ref = _pick(refs, distribution, version, python)
        if ref is not None:
            return ref
        seen += [r for r in refs if normalize(r.distribution) == normalize(distribution)]
    raise WasixWheelError(_not_found(distribution, version, python, looked, seen))


def _sources(
    distribution: str, version: str | None, wheelhouse: Path | None, index_url: str | None
) -> Iterator[tuple[str, list[WheelRef]]]:
    """Wheelhouse first; the index is fetched only if the wheelhouse had no match."""
    if wheelhouse is not None:
        yield f"wheelhouse {wheelhouse}", _from_wheelhouse(wheelhouse)
    if index_url is not None:
        page, refs = _from_index(index_url, distribution, version)
        yield f"index page {page}", refs


def _not_found(
    distribution: str, version: str | None, python: str, looked: list[str], seen: list[WheelRef]
) -> str:
    wanted = f"{distribution}=={version}" if version else distribution
    found = ", ".join(sorted({r.filename for r in seen})[:5]) or "no wheels of it at all"
    return (
        f"no wasm32-wasix wheel of {wanted} for CPython {python} "
        f"(platform tag {' or '.join(sorted(WASIX_PLATFORMS))}); looked in {'; '.join(looked)}; "
        f"found {found}. Build one with https://github.com/wasix-org/build-scripts and put it "
        f"in the wheelhouse, try the index {WASIX_INDEX}, or drop the dependency"
    )


def _wheel_bytes(wheel: WheelRef) -> bytes:
    try:
        if "://" in wheel.location:
            data = _read_url(wheel.location)
        else:
            data = Path(wheel.location).read_bytes()
    except (OSError, urllib.error.URLError) as exc:
        raise WasixWheelError(f"cannot read wheel {wheel.location}: {exc}") from exc
    if wheel.sha256 and hashlib.sha256(data).hexdigest() != wheel.sha256.lower():
        raise WasixWheelError(f"wheel {wheel.location} does not match the sha256 the index gave")
    return data


def wheel_files(wheel: WheelRef, *, include_dist_info: bool = False) -> dict[str, bytes]:
    """The wheel's importable files as {archive path: bytes}, sorted by path.

    ``*.data/purelib`` and ``*.data/platlib`` are moved to the root, where an installer
    puts them; other ``.data`` schemes (scripts, headers, data) are not importable.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(_wheel_bytes(wheel)))
    except zipfile.BadZipFile as exc:
        raise WasixWheelError(f"wheel {wheel.location} is not a ZIP file: {exc}") from exc
    with archive:
        names = [info.filename for info in archive.infolist() if not info.is_dir()]
        if not any(re.fullmatch(r"[^/]+\.dist-info/WHEEL", name) for name in names):
            raise WasixWheelError(f"wheel {wheel.location} has no .dist-info/WHEEL file")
        files: dict[str, bytes] = {}
        for name in names:
            target = _target(name, include_dist_info)
            if target is None:
                continue
            if target.startswith("/") or ".." in target.split("/"):
                raise WasixWheelError(f"wheel {wheel.location} holds an unsafe path {name!r}")
            files[target] = archive.read(name)
    return dict(sorted(files.items()))


def _target(name: str, include_dist_info: bool) -> str | None:
    top, _, rest = name.partition("/")
    if top.endswith(".dist-info"):
        return name if include_dist_info else None
    if top.endswith(".data"):
        scheme, _, inner = rest.partition("/")
        return inner if scheme in ("purelib", "platlib") and inner else None
    return name
