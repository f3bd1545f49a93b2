"""The open-file limit raised at start and shared out, and the connection settings' bounds."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sipline.config import ConfigError, load_settings
from tests.peers import require

PROBE = """
import json
from sipline.open_files import default_sip_connection_cap, descriptor_shortfall, raise_open_file_limit
limit = raise_open_file_limit()
print(json.dumps([
    limit.describe(),
    default_sip_connection_cap(256, 0),
    default_sip_connection_cap(2000, 0),
    default_sip_connection_cap(256, 1000),
    descriptor_shortfall(16, 256, 1000),
    descriptor_shortfall(16, 256, 10000),
]))
"""


def probe_under(nofile: str) -> list[object]:
    done = subprocess.run(
        [require("prlimit"), f"--nofile={nofile}", "--", sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return list(json.loads(done.stdout))


def test_the_soft_limit_is_raised_to_the_hard_one_and_the_sip_cap_follows() -> None:
    described, cap, starved, beside_rtp, fits, short = probe_under("1024:4096")
    assert described == "open files: soft limit 4096 (hard 4096, raised from 1024)"
    assert cap == 4096 - 256 - 128  # room kept for 256 HTTP connections and the database
    assert starved == 4096 - 2000 - 128
    assert beside_rtp == 4096 - 256 - 1000 - 128  # and for an RTP range of 1,000 ports, all in calls
    assert fits == 0
    assert short == 256 + 10_000 + 128 + 16 - 4096  # the default range (10,000 ports) does not fit


def test_a_soft_limit_at_the_hard_one_stays_and_the_cap_has_a_floor() -> None:
    described, cap, starved, beside_rtp, _fits, _short = probe_under("300:300")
    assert described == "open files: soft limit 300 (hard 300)"
    assert cap == starved == beside_rtp == 16  # never fewer than 16 SIP connections


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("sip_max_connections", 0),
        ("sip_max_connections", 1_000_001),
        ("sip_max_connections_per_address", 0),
        ("sip_tcp_idle_timeout", 0),
        ("sip_tcp_idle_timeout", 100_000),
        ("sip_tcp_handshake_timeout", 0.01),
        ("http_max_connections", 0),
        ("listen_backlog", 0),
        ("listen_backlog", 70_000),
    ],
)
def test_connection_settings_out_of_range_name_the_setting(tmp_path: Path, name: str, value: float) -> None:
    config = tmp_path / "sipline.toml"
    config.write_text(f"{name} = {value}\n")
    with pytest.raises(ConfigError, match=name):
        load_settings(config)
