"""Real external peers (SIPp, baresip, PHP): tests that need one skip where it is not installed,
except in CI (CI=true) or with SIPLINE_REQUIRE_PEERS=1, where a missing peer is a failure."""

import os
import shutil

import pytest

DEBIAN_PACKAGE = {"sipp": "sip-tester", "baresip": "baresip", "php": "php-cli php-curl"}


def require(binary: str) -> str:
    path = shutil.which(binary)
    if path is not None:
        return path
    message = f"{binary} is not installed (apt-get install {DEBIAN_PACKAGE.get(binary, binary)})"
    if os.environ.get("CI") == "true" or os.environ.get("SIPLINE_REQUIRE_PEERS") == "1":
        pytest.fail(message)
    pytest.skip(message)
