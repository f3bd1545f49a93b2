"""Authenticated registrations per second: `sipline serve` beside Kamailio, under the same SIPp load.

Each registrar runs pinned to CPU 0 with the same 1,000 phones; SIPp runs on CPU 1 and, after a
warm-up in which every phone registers once, sends REGISTER, answers the 401 challenge (MD5) and
sends the authenticated REGISTER, at stepped rates.
A step is clean when every registration succeeded with no retransmission; each registrar's figure
is its best clean step. sipline's phones are created through its API (sipAdd), so the registrar
runs exactly as in production: credentials from the directory, registrations written behind to
SQLite. Kamailio 5.6 (Debian `kamailio`, `kamailio-sqlite-modules`) runs one UDP worker with
registrar + auth_db on SQLite, usrloc written back on a timer to a second SQLite file.

Run: python -m bench.sip.register_bench [--rates 1000,2000,...] [--seconds 5]
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import free_port, served_platform, sipp_counter, sipp_users_csv

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PHONES = 1000
REALM = "sipline.local"
KAMAILIO_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules"


@contextmanager
def sipline_registrar(workdir: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """`sipline serve` on CPU 0 with PHONES phones created through the API; yields (SIP port, users)."""
    with served_platform(workdir, PHONES) as platform:
        yield platform.sip_port, platform.users


@contextmanager
def kamailio_registrar(workdir: Path, users: dict[str, str]) -> Iterator[int]:
    """Kamailio on CPU 0 with the same users in its SQLite subscriber table; yields its SIP port."""
    kamailio = shutil.which("kamailio") or "/usr/sbin/kamailio"
    if not Path(kamailio).exists():
        raise SystemExit("the comparison needs Kamailio: apt-get install kamailio kamailio-sqlite-modules")
    subscribers, locations = workdir / "subscriber.db", workdir / "location.db"
    for database, schemas in ((subscribers, ("standard", "auth_db")), (locations, ("standard", "usrloc"))):
        with sqlite3.connect(database) as connection:
            for schema in schemas:
                connection.executescript(
                    Path(f"/usr/share/kamailio/db_sqlite/{schema}-create.sql").read_text()
                )
    connection = sqlite3.connect(subscribers)
    connection.executemany(
        "INSERT INTO subscriber(username, domain, password, ha1, ha1b) VALUES (?, ?, ?, '', '')",
        [(user, REALM, password) for user, password in users.items()],
    )
    connection.commit()
    connection.close()
    port = free_port(socket.SOCK_DGRAM)
    process = subprocess.Popen(
        ["taskset", "-c", "0", kamailio, "-f", str(HERE / "kamailio" / "kamailio.cfg"),
         "-L", KAMAILIO_MODULES,
         "-l", f"udp:127.0.0.1:{port}", "-A", f'SUBSCRIBER_DB="sqlite:///{subscribers}"',
         "-A", f'LOCATION_DB="sqlite:///{locations}"', "-A", f'REALM="{REALM}"',
         "-w", str(workdir), "-P", str(workdir / "kamailio.pid"), "-DD", "-E"],
        stdout=subprocess.DEVNULL, stderr=(workdir / "kamailio.log").open("w"),
    )  # fmt: skip
    time.sleep(1.5)
    if process.poll() is not None:
        raise SystemExit("kamailio did not start:\n" + (workdir / "kamailio.log").read_text()[-2000:])
    try:
        yield port
    finally:
        process.terminate()
        process.wait(15)


def run_step(port: int, rate: int, seconds: float, workdir: Path, csv: Path) -> tuple[int, int, int, float]:
    calls = int(rate * seconds)
    sipp_port = free_port(socket.SOCK_DGRAM)
    cmd = [
        "taskset", "-c", "1", shutil.which("sipp") or "sipp", f"127.0.0.1:{port}",
        "-sf", str(HERE / "reg_client_auth.xml"), "-inf", str(csv), "-i", "127.0.0.1", "-p", str(sipp_port),
        "-m", str(calls), "-r", str(rate), "-l", str(max(rate, 100)), "-buff_size", "4194304",
        "-nostdin", "-timeout", str(int(seconds * 4 + 20)), "-timeout_error",
    ]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    out = proc.stdout
    ok = sipp_counter(out, "Successful call")
    failed = sipp_counter(out, "Failed call")
    retrans = sum(int(m.group(1)) for m in re.finditer(r"REGISTER ---------->\s+\d+\s+(\d+)", out))
    return ok, failed, retrans, elapsed


def best_clean_rate(
    name: str, port: int, rates: list[int], seconds: float, workdir: Path, csv: Path
) -> float:
    # Warm-up, not counted: every phone registers once, as a desk of phones does after provisioning.
    run_step(port, 500, 2 * PHONES / 500, workdir, csv)
    print(f"\n{name}")
    print(f"{'rate/s':>8} {'ok':>7} {'failed':>7} {'retrans':>8} {'registrations/s':>16}  clean")
    best = 0.0
    for rate in rates:
        ok, failed, retrans, elapsed = run_step(port, rate, seconds, workdir, csv)
        achieved = ok / elapsed if elapsed > 0 else 0.0
        clean = failed == 0 and retrans == 0 and ok == int(rate * seconds)
        print(f"{rate:>8} {ok:>7} {failed:>7} {retrans:>8} {achieved:>16,.0f}  {'yes' if clean else 'NO'}")
        if not clean:
            break
        best = max(best, achieved)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    steps = "1000,2000,3000,3500,3750,4000,4500,5000,5500,6000,6500,7000,7500,8000,9000,10000"
    parser.add_argument("--rates", default=steps)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        csv = workdir / "users.csv"
        with sipline_registrar(workdir) as (port, users):
            sipp_users_csv(users, csv)
            sipline_rate = best_clean_rate(
                "sipline serve (SQLite, 1 core)", port, rates, args.seconds, workdir, csv
            )
        with kamailio_registrar(workdir, users) as port:
            kamailio_rate = best_clean_rate(
                "Kamailio 1 UDP worker (SQLite)", port, rates, args.seconds, workdir, csv
            )
    ratio = sipline_rate / kamailio_rate if kamailio_rate else 0.0
    print(f"\nbest clean registrations/s: sipline {sipline_rate:,.0f}, Kamailio {kamailio_rate:,.0f}")
    rate_verdict = "met" if sipline_rate >= 3000 else "NOT met"
    ratio_verdict = "met" if ratio >= 0.6 else "NOT met"
    print(f"ratio sipline / Kamailio: {ratio:.2f} (>= 3,000/s: {rate_verdict}; >= 0.6: {ratio_verdict})")


if __name__ == "__main__":
    main()
