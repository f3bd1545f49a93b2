"""bench/calls cannot rot: its handset mode, tiny (50 SIPp phones registered, 10 calls/s for 2 s, each
dialled with the 407 answered, through `sipline serve` to the SIPp carrier), is clean and printed beside
the other modes; bad arguments are refused before anything starts. No capacity is asserted."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sip.conftest import SIPP, need

ROOT = Path(__file__).resolve().parents[2]
# rate calls accepted completed failed retrans calls/s, cpu ms/call, clean
ROW = r"^\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+\.\d\d)\s+(yes|NO)$"


def bench(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bench.calls", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
@pytest.mark.interop
def test_the_handset_mode_dials_every_call_clean() -> None:
    need(SIPP)
    done = bench("--only", "handset", "--rates", "10", "--seconds", "2", "--phones", "50")
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    assert "calls dialled on the phones (SIPp as the registered phones)" in done.stdout
    rows = re.findall(ROW, done.stdout, re.MULTILINE)
    assert rows, done.stdout
    rate, calls, accepted, completed, failed, retransmitted, _per_second, cpu_ms, clean = rows[0]
    assert (rate, calls, accepted, completed) == ("10", "20", "20", "20"), done.stdout
    assert (failed, retransmitted, clean) == ("0", "0", "yes"), done.stdout
    assert float(cpu_ms) > 0, done.stdout  # the platform's own CPU time over the step, per call
    assert "best clean calls/s: sendSip not run, handset 10, sippy not run" in done.stdout
    assert "handset: >= 300/s: NOT met; ratio to sippy: n/a (sippy not run)" in done.stdout


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--rates", "0"], "each rate must be 1 to 5000"),
        (["--rates", "10,x"], "not a list of whole numbers"),
        (["--seconds", "0"], "--seconds must be 0.5 to 600"),
        (["--phones", "120"], "--phones must be a multiple of 50 up to 10000"),
        (["--phones", "100", "--rates", "80"], "--phones 100 is too few for 80 calls/s: at least 200"),
    ],
)
def test_bad_arguments_are_refused_with_the_reason(args: list[str], said: str) -> None:
    done = bench(*args, timeout=30)
    assert done.returncode == 2 and said in done.stderr, done.stderr
