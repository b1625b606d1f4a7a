"""The edge where a plan meets the disk: read the planned files and build the ZIP bytes."""

from __future__ import annotations

from collections.abc import Mapping

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.bundler.format.manifest import Excluded, Manifest
from basilisk_trace.bundler.plan.model import BundlePlan
from basilisk_trace.bundler.write.archive import BundleFile, Compression, build_zip

Replacement = tuple[str, dict[str, bytes]]  # (wheel file name, arcname -> bytes)


class BundleWriteError(BasiliskTraceError):
    """A planned file could not be read while writing the bundle."""


def bundle_files(plan: BundlePlan, replacements: Mapping[str, Replacement] | None = None) -> list[BundleFile]:
    """The planned files with their bytes; a probed-only file becomes an empty placeholder.

    `replacements` maps a distribution to the files of its wasm32-wasix wheel and the
    wheel's name: they are bundled in place of every file of the host's build.
    """
    replaced = replacements or {}
    files = [BundleFile(arcname, data, None, dist, None, f"wasix-wheel ({wheel})")
             for dist, (wheel, contents) in sorted(replaced.items())
             for arcname, data in sorted(contents.items())]
    for planned in plan.files:
        if planned.distribution in replaced:
            continue
        data = b""
        if planned.source is not None:
            try:
                with open(planned.source, "rb") as handle:
                    data = handle.read()
            except OSError as exc:
                raise BundleWriteError(f"cannot read {planned.source} for the bundle: {exc.strerror}; "
                                       "check the file's permissions and trace again") from None
        files.append(BundleFile(planned.arcname, data, planned.module, planned.distribution,
                                planned.version, planned.reason_text))
    return files


def manifest_of(plan: BundlePlan, entry: str) -> Manifest:
    """What the manifest says beyond the files: the entry, the target, and every module left out, with why."""
    return Manifest(
        entry=entry, entry_module=plan.entry_module, target=plan.target, target_python=plan.target_python,
        host_python=plan.host_python, tool="basilisk-trace",
        excluded=tuple(Excluded(d.module, str(d.reason), d.detail, d.chain, d.guarded)
                       for d in plan.decisions if not d.included),
    )


def bundle_bytes(plan: BundlePlan, entry: str, compression: Compression = "stored",
                 replacements: Mapping[str, Replacement] | None = None) -> bytes:
    return build_zip(bundle_files(plan, replacements), compression=compression,
                     manifest=manifest_of(plan, entry))
