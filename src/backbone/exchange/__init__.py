"""The exchange venue: instrument master, matching engine, call auctions, journal, market data.
It knows no accounts and moves no money.

The engine's hot path (`compiled_modules.COMPILED_MODULES`) may be compiled with mypyc by `make`
(`scripts/build-native`). Compiled or not, it is the same source with the same behaviour; the
compiled modules load only when the digests recorded at build time match the sources beside them
(an edited source is never shadowed by a stale binary) and BACKBONE_PURE_PYTHON is not "1".
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
import os
import sys
from pathlib import Path

from backbone.exchange.compiled_modules import COMPILED_MODULES, STAMP_FILE

PURE_PYTHON_VARIABLE = "BACKBONE_PURE_PYTHON"


def _compiled_build_matches(directory: Path) -> bool:
    try:
        stamp = json.loads((directory / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(stamp, dict) or stamp.get("python") != sys.implementation.cache_tag:
        return False
    digests = stamp.get("sources")
    if not isinstance(digests, dict):
        return False
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    for name in COMPILED_MODULES:
        source = directory / f"{name}.py"
        if digests.get(source.name) != hashlib.sha256(source.read_bytes()).hexdigest():
            return False
        if not any((directory / f"{name}{suffix}").exists() for suffix in suffixes):
            return False
    return True


def _load_sources_only(directory: str) -> None:
    """Make this package's directory finder ignore extension modules: pure Python only."""
    sys.path_importer_cache[directory] = importlib.machinery.FileFinder(
        directory,
        (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES),
        (importlib.machinery.SourcelessFileLoader, importlib.machinery.BYTECODE_SUFFIXES),
    )


COMPILED: bool = os.environ.get(PURE_PYTHON_VARIABLE) != "1" and _compiled_build_matches(Path(__path__[0]))
if not COMPILED:
    _load_sources_only(__path__[0])
