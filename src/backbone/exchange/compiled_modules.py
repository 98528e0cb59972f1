"""Which modules form the compiled hot path (mypyc), shared by the build script and the loader.

Deliberately free of imports so that the build script can read it before anything is built.
"""

from __future__ import annotations

from typing import Final

COMPILED_MODULES: Final = (
    "orders",
    "phases",
    "messages",
    "book",
    "auction",
    "engine",
    "codec",
    "journal",
    "sequencer",
)
GROUP_NAME: Final = "backbone.exchange.native"
STAMP_FILE: Final = "native-build.json"
