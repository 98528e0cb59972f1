"""Compile the matching engine's hot path with mypyc, in place next to its sources.

Run by `scripts/build-native` (which installs a C compiler and the Python headers when missing).
The compiled modules are the same source files as the pure-Python ones; `backbone.exchange`
loads them only while `native-build.json` (written here) matches the sources byte for byte, so an
edited source is never shadowed by a stale binary. BACKBONE_PURE_PYTHON=1 ignores them.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from mypyc.build import mypycify
from setuptools import setup

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "backbone" / "exchange"
sys.path.insert(0, str(PACKAGE))
from compiled_modules import COMPILED_MODULES, GROUP_NAME, STAMP_FILE  # noqa: E402 - the list lives beside the sources


def source_digests() -> dict[str, str]:
    return {
        f"{name}.py": hashlib.sha256((PACKAGE / f"{name}.py").read_bytes()).hexdigest()
        for name in COMPILED_MODULES
    }


def main() -> int:
    os.chdir(ROOT)
    stamp = PACKAGE / STAMP_FILE
    stamp.unlink(missing_ok=True)
    for old in PACKAGE.glob("*.so"):
        old.unlink()
    extensions = mypycify(
        [f"src/backbone/exchange/{name}.py" for name in COMPILED_MODULES],
        opt_level="3",
        group_name=GROUP_NAME,
        target_dir="build/native",
    )
    setup(
        name="backbone-exchange-native",
        package_dir={"": "src"},
        ext_modules=extensions,
        script_args=["build_ext", "--inplace", "--build-temp", "build/native/temp"],
    )
    stamp.write_text(json.dumps({"sources": source_digests(), "python": sys.implementation.cache_tag}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
