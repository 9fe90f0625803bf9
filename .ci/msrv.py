#!/usr/bin/env python3
"""Fails when a dependency in Cargo.lock needs a newer Rust than lode's declared rust-version.

clippy's `incompatible_msrv` lint (run by `make lint`) checks lode's own use of the standard
library against the same rust-version; together they keep the declaration true without
installing an old toolchain (rustup cannot download one here).
"""
import json
import subprocess
import sys


def version(v):
    return tuple(int(x) for x in v.split("."))


meta = json.loads(subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--locked"]))
lode = next(p for p in meta["packages"] if p["name"] == "lode")
declared = version(lode["rust_version"])
# Only the packages the build resolves (normal, build and dev dependencies of this target).
resolved = {n["id"] for n in meta["resolve"]["nodes"]}
newer = [
    (p["name"], p["version"], p["rust_version"])
    for p in meta["packages"]
    if p["id"] in resolved and p.get("rust_version") and version(p["rust_version"]) > declared
]
if newer:
    for name, ver, rv in sorted(newer):
        print(f"{name} {ver} needs Rust {rv}, above lode's rust-version {lode['rust_version']}", file=sys.stderr)
    sys.exit(1)
print(f"rust-version {lode['rust_version']}: every resolved dependency builds on it")
