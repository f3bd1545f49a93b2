"""Real external peers (SIPp, baresip, PHP) and the workspace's shared inputs (the ITNIO seeds, the
RFC 4475 corpus in ../shared): tests that need one skip where it is missing, except in CI (CI=true)
or with SIPLINE_REQUIRE_PEERS=1, where a missing one is a failure."""

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

DEBIAN_PACKAGE = {
    "sipp": "sip-tester",
    "baresip": "baresip",
    "php": "php-cli php-curl",
    "chromium": "chromium",
}


def require(binary: str) -> str:
    path = shutil.which(binary)
    if path is not None:
        return path
    _missing(f"{binary} is not installed (apt-get install {DEBIAN_PACKAGE.get(binary, binary)})")


def shared_input(name: str) -> Path:
    """``../shared/NAME`` beside the checkout (where CI puts the workspace's shared inputs)."""
    path = SHARED / name
    if not path.is_dir():
        _missing(f"{path} is missing: these tests read the workspace's shared inputs beside the checkout")
    return path


def _missing(message: str) -> NoReturn:
    if os.environ.get("CI") == "true" or os.environ.get("SIPLINE_REQUIRE_PEERS") == "1":
        pytest.fail(message)
    pytest.skip(message, allow_module_level=True)
