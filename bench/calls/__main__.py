"""Click-to-call attempts per second: `sipline serve` beside sippy's B2BUA, between the same SIPp peers.

sipline (pinned to CPU 0, SQLite): 1,000 phones made through the API and registered by SIPp; each
step sends sendSip at a fixed rate through the API (an asyncio client on CPU 1); SIPp answers as the
phones (1 s of talk, then BYE) and as the carrier. A step is clean when every sendSip answered "0"
with a 99th percentile latency within 0.5 s (so the API keeps up with the rate), both SIPp peers
completed every call with no failed call and no retransmission, and every record ended with
terminationCode 200.
sippy (`b2bua_simple`, pinned to CPU 0; installed with pip into a venv of its own, the bench's only):
SIPp calls through it (1 s calls, BYE from the caller) to the same SIPp carrier, at the same rates.
Handset mode: the same platform and carrier, SIPp as the 1,000 registered phones dialling out
(INVITE, 407, INVITE with Proxy-Authorization, 1 s of talk, BYE from the phone), at the same rates;
clean as for sippy's callers, plus every record ended with terminationCode 200.
Each figure is the best clean step (a step that fails runs once more before it ends the climb, for
all alike); the target is 300 calls/s and 2.5 times sippy, for click-to-call and for handset calls.

Run: python -m bench.calls [--rates 100,200,...] [--seconds 5] [--only sipline|handset|sippy] [--phones 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    ServedPlatform,
    SippPeer,
    cpu_seconds,
    drive,
    free_port,
    pinned,
    register_phones,
    served_platform,
    sipp_counter,
)

HERE = Path(__file__).resolve().parent
PHONES = 1000  # --phones: 50 to 10,000, in groups of 50 (sipAdd's), at least 2 s of calls at any rate
MAX_PHONES = 10_000
PHONE_GROUP = 50
MAX_P99_LATENCY = 0.5  # seconds: beyond it sendSip no longer keeps up with the rate (requests queue)
SIPPY_VENV = Path(
    os.environ.get("SIPLINE_BENCH_SIPPY_VENV", Path.home() / ".cache" / "sipline-bench" / "sippy")
)


@dataclass
class Step:
    rate: int
    attempted: int
    accepted: int
    completed: int  # calls both SIPp peers finished
    failed: int
    retransmissions: int
    elapsed: float  # seconds it took to issue the attempts
    bad_records: int = 0
    p99_latency: float = 0.0  # of sendSip, from when it was due (sippy: none)
    cpu_seconds: float = 0.0  # the server's (sipline's or sippy's) CPU time over the step

    @property
    def cpu_ms_per_call(self) -> float:
        return self.cpu_seconds * 1000 / self.attempted if self.attempted else 0.0

    @property
    def clean(self) -> bool:
        return (
            self.p99_latency <= MAX_P99_LATENCY
            and self.failed == 0
            and self.retransmissions == 0
            and self.bad_records == 0
            and self.accepted == self.attempted
            and self.completed == self.attempted
        )

    @property
    def achieved(self) -> float:
        return self.attempted / self.elapsed if self.elapsed > 0 else 0.0


class Climb:
    """The stepped rates. A step that is not clean runs once more before it ends the climb: a single
    failed call is noise (sippy shows some at any rate), the same failure twice is the limit."""

    def __init__(self, rates: list[int]) -> None:
        self.queue = list(rates)
        self.retried: set[int] = set()
        self.best = 0.0

    def __iter__(self) -> Iterator[int]:
        while self.queue:
            yield self.queue[0]

    def record(self, step: Step) -> None:
        if step.clean:
            self.best = max(self.best, step.achieved)
            self.queue.pop(0)
        elif step.rate not in self.retried:
            self.retried.add(step.rate)
            print("        (not clean: once more)")
        else:
            self.queue.clear()


def retransmissions(screen: str) -> int:
    """Sum of SIPp's Retrans column (messages it re-sent, or got again) over the scenario's message lines."""
    arrow = r"(?:-{10}>|<-{10})"
    uas = re.findall(rf"^\s*{arrow}\s+\S+\s+\d+\s+(\d+)", screen, re.MULTILINE)
    uac = re.findall(rf"^\s*\S+\s+{arrow}\s+(?:E-RTD\d\s+)?\d+\s+(\d+)", screen, re.MULTILINE)
    return sum(int(count) for count in uas + uac)


def carrier(port: int, calls: int, workdir: Path, seconds: float) -> SippPeer:
    args = ["-sf", str(HERE / "carrier_uas.xml"), "-i", "127.0.0.1", "-p", str(port), "-m", str(calls)]
    return SippPeer([*args, "-mp", str(free_port(socket.SOCK_DGRAM))], workdir, seconds * 3 + 30)


# -- sipline --------------------------------------------------------------------------------------------


def last_record(data_dir: Path) -> int:
    """The newest record's row id: a step's records are those after it."""
    with sqlite3.connect(data_dir / "sipline.db") as db:
        return int(db.execute("SELECT coalesce(max(id), 0) FROM call_records").fetchone()[0])


def unfinished_records(data_dir: Path, deadline: float, after: int) -> int:
    """The step's records (row ids after ``after``) not ended with terminationCode 200, once every one
    is settled (or time is up). Earlier steps' records do not count: a call lost at one rate is that
    step's, not every later one's."""
    with sqlite3.connect(data_dir / "sipline.db") as db:
        while True:
            open_calls = db.execute(
                "SELECT count(*) FROM call_records WHERE id > ? AND hangup_time IS NULL", (after,)
            ).fetchone()[0]
            if open_calls == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        codes = db.execute(
            "SELECT coalesce(termination_code, 'open'), count(*) FROM call_records WHERE id > ?"
            " AND (termination_code IS NULL OR termination_code != '200') GROUP BY 1 ORDER BY 2 DESC",
            (after,),
        ).fetchall()
    if codes:  # why the step is not clean
        print("  records not ended 200: " + ", ".join(f"{count} {code}" for code, count in codes))
    return sum(int(count) for _code, count in codes)


def carrier_trunk(port: int) -> dict[str, str]:
    """The platform's settings for the SIPp carrier on ``port`` as every app's trunk."""
    return {"SIPLINE_TRUNKS": f'{{"carrier": "sip:127.0.0.1:{port}"}}', "SIPLINE_DEFAULT_TRUNK": "carrier"}


@contextmanager
def registered_platform(
    title: str,
    rates: list[int],
    workdir: Path,
    extra_env: dict[str, str] | None = None,
    prepare: Callable[[ServedPlatform], None] | None = None,
    phones: int = PHONES,
) -> Iterator[tuple[ServedPlatform, int, int, Climb]]:
    """`sipline serve` with the SIPp carrier as trunk and its phones registered by SIPp: the platform,
    the carrier's and the phones' ports, and the climb. ``extra_env`` and ``prepare`` (run once it
    serves, before the phones register) let other benchmarks measure it with a feature on
    (bench/webhooks: pushes)."""
    carrier_port = free_port(socket.SOCK_DGRAM)
    print(f"\nsipline serve (SQLite, 1 core): {title}")
    print(_header())
    # Signalling capacity: recording off (the terms), unless a benchmark turns it on.
    env = carrier_trunk(carrier_port) | {"SIPLINE_RECORD_CALLS": "false"} | (extra_env or {})
    with served_platform(workdir, phones, env, balance="1000000") as platform:
        if prepare is not None:
            prepare(platform)
        phones_port = free_port(socket.SOCK_DGRAM)
        register_phones(platform, phones_port, workdir)
        yield platform, carrier_port, phones_port, Climb(rates)


def sipline_steps(
    rates: list[int],
    seconds: float,
    workdir: Path,
    extra_env: dict[str, str] | None = None,
    prepare: Callable[[ServedPlatform], None] | None = None,
    phones: int = PHONES,
) -> float:
    """The climb of click-to-call through the API on `sipline serve` (see ``registered_platform``)."""
    title = "click-to-call through the API"
    with registered_platform(title, rates, workdir, extra_env, prepare, phones) as (
        platform,
        carrier_port,
        phones_port,
        climb,
    ):
        rotation = itertools.cycle(platform.users)  # phones in turn, across the steps
        for rate in climb:
            calls = int(rate * seconds)
            answering = SippPeer(
                ["-sf", str(HERE / "phone_uas.xml"), "-i", "127.0.0.1", "-p", str(phones_port),
                 "-m", str(calls), "-mp", str(free_port(socket.SOCK_DGRAM))],
                workdir, seconds * 3 + 30,
            )  # fmt: skip
            trunk = carrier(carrier_port, calls, workdir, seconds)
            time.sleep(0.5)
            before, cpu_before = last_record(platform.data_dir), cpu_seconds(platform.pid)
            attempted, accepted, elapsed, latencies = asyncio.run(drive(platform, rotation, rate, seconds))
            phone_screen, carrier_screen = answering.finish(), trunk.finish()
            unfinished = unfinished_records(platform.data_dir, time.monotonic() + 10, before)
            step = Step(
                rate,
                attempted,
                accepted,
                min(
                    sipp_counter(phone_screen, "Successful call"),
                    sipp_counter(carrier_screen, "Successful call"),
                ),
                sipp_counter(phone_screen, "Failed call") + sipp_counter(carrier_screen, "Failed call"),
                retransmissions(phone_screen) + retransmissions(carrier_screen),
                elapsed,
                unfinished,
                latencies[int(len(latencies) * 0.99)],
                cpu_seconds(platform.pid) - cpu_before,
            )
            p50, p99 = latencies[len(latencies) // 2], step.p99_latency
            print(f"{_row(step)}   sendSip latency p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
            climb.record(step)
    return climb.best


# -- sippy ----------------------------------------------------------------------------------------------


def sippy_b2bua() -> Path:
    """sippy's b2bua_simple, installed on first use into a venv used by this benchmark only."""
    binary = SIPPY_VENV / "bin" / "b2bua_simple"
    if not binary.exists():
        print(f"installing sippy into {SIPPY_VENV} (pip install sippy) ...")
        subprocess.run([sys.executable, "-m", "venv", str(SIPPY_VENV)], check=True)
        subprocess.run([str(SIPPY_VENV / "bin" / "pip"), "install", "-q", "sippy"], check=True)
    return binary


@contextmanager
def sippy_running(carrier_port: int, workdir: Path) -> Iterator[tuple[int, int]]:
    """sippy's B2BUA towards the carrier: its port and process id."""
    port = free_port(socket.SOCK_DGRAM)
    log = workdir / "sippy.log"
    process = subprocess.Popen(
        pinned([str(sippy_b2bua()), "-f", "-l", "127.0.0.1", "-p", str(port),
                "-n", f"127.0.0.1:{carrier_port}", "-L", str(log)], "0"),
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    time.sleep(2)
    if process.poll() is not None:
        raise SystemExit(f"sippy did not start (exit {process.returncode}); see {log}")
    try:
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(15)


def dialling_step(
    rate: int,
    seconds: float,
    caller: list[str],
    carrier_port: int,
    workdir: Path,
    server_pid: int,
    data_dir: Path | None = None,
) -> Step:
    """One step of SIPp calling at ``rate`` (``caller``: its target and scenario) through the server
    ``server_pid`` to the carrier; with ``data_dir``, the platform's records are checked too."""
    calls = int(rate * seconds)
    trunk = carrier(carrier_port, calls, workdir, seconds)
    time.sleep(0.3)
    before = last_record(data_dir) if data_dir is not None else 0
    cpu_before = cpu_seconds(server_pid)
    start = time.monotonic()
    calling = SippPeer(
        [*caller, "-i", "127.0.0.1", "-p", str(free_port(socket.SOCK_DGRAM)), "-m", str(calls),
         "-r", str(rate), "-l", str(rate * 4), "-mp", str(free_port(socket.SOCK_DGRAM))],
        workdir, seconds * 3 + 30,
    )  # fmt: skip
    caller_screen = calling.finish()
    elapsed = max(time.monotonic() - start - 1.0, 1e-3)  # minus the last call's 1 s of talk
    carrier_screen = trunk.finish()
    ok = sipp_counter(caller_screen, "Successful call")
    unfinished = unfinished_records(data_dir, time.monotonic() + 10, before) if data_dir is not None else 0
    step = Step(
        rate,
        calls,
        ok,
        min(ok, sipp_counter(carrier_screen, "Successful call")),
        sipp_counter(caller_screen, "Failed call") + sipp_counter(carrier_screen, "Failed call"),
        retransmissions(caller_screen) + retransmissions(carrier_screen),
        min(elapsed, calls / rate) if ok == calls else elapsed,
        unfinished,
        cpu_seconds=cpu_seconds(server_pid) - cpu_before,
    )
    print(_row(step))
    return step


def handset_steps(rates: list[int], seconds: float, workdir: Path, phones: int = PHONES) -> float:
    """The climb of calls dialled on the phones: each SIPp call is the next registered phone's INVITE,
    its 407 answered with that phone's credentials (users.csv's [authentication ...] field)."""
    title = "calls dialled on the phones (SIPp as the registered phones)"
    with registered_platform(title, rates, workdir, phones=phones) as (platform, carrier_port, _port, climb):
        users = workdir / "users.csv"  # written by register_phones: every phone, in turn
        caller = [f"127.0.0.1:{platform.sip_port}", "-sf", str(HERE / "handset_uac.xml"), "-inf", str(users)]
        dial = functools.partial(dialling_step, caller=caller, carrier_port=carrier_port, workdir=workdir)
        for rate in climb:
            climb.record(dial(rate, seconds, server_pid=platform.pid, data_dir=platform.data_dir))
    return climb.best


def sippy_steps(rates: list[int], seconds: float, workdir: Path) -> float:
    carrier_port = free_port(socket.SOCK_DGRAM)
    print("\nsippy b2bua_simple (1 core): SIPp calls through it to the same carrier")
    print(_header())
    climb = Climb(rates)
    with sippy_running(carrier_port, workdir) as (port, pid):
        for rate in climb:
            caller = [f"127.0.0.1:{port}", "-sn", "uac", "-d", "1000"]
            climb.record(dialling_step(rate, seconds, caller, carrier_port, workdir, pid))
    return climb.best


def _header() -> str:
    columns = f"{'rate/s':>7} {'calls':>6} {'accepted':>8} {'completed':>9} {'failed':>6} {'retrans':>7}"
    return f"{columns} {'calls/s':>8} {'cpu ms/call':>11}  clean"


def _row(step: Step) -> str:
    return (
        f"{step.rate:>7} {step.attempted:>6} {step.accepted:>8} {step.completed:>9} {step.failed:>6} "
        f"{step.retransmissions:>7} {step.achieved:>8,.0f} {step.cpu_ms_per_call:>11.2f}  "
        f"{'yes' if step.clean else 'NO'}"
    )


TARGET_RATE = 300  # clean calls/s on one core, for click-to-call and for handset calls alike
TARGET_RATIO = 2.5  # times sippy's, in the same run
MAX_RATE = 5000  # calls a second: far beyond one core, still a bound on what SIPp is asked for
MAX_SECONDS = 600.0


def _rates(text: str) -> list[int]:
    """--rates: comma-separated calls a second, each 1 to MAX_RATE."""
    try:
        rates = [int(rate) for rate in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r}") from None
    if not rates or not all(1 <= rate <= MAX_RATE for rate in rates):
        raise argparse.ArgumentTypeError(f"each rate must be 1 to {MAX_RATE}: {text!r}")
    return rates


def _seconds(text: str) -> float:
    seconds = float(text)
    if not 0.5 <= seconds <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"--seconds must be 0.5 to {MAX_SECONDS:.0f}: {text!r}")
    return seconds


def _phones(text: str) -> int:
    phones = int(text)
    if not PHONE_GROUP <= phones <= MAX_PHONES or phones % PHONE_GROUP:
        raise argparse.ArgumentTypeError(f"--phones must be a multiple of {PHONE_GROUP} up to {MAX_PHONES}")
    return phones


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rates", type=_rates, default=list(range(100, 1001, 50)), help="e.g. 100,200,300")
    parser.add_argument("--seconds", type=_seconds, default=5.0, help="of calls at each rate (0.5-600)")
    parser.add_argument("--only", choices=["sipline", "handset", "sippy"], help="Run one of them only.")
    parser.add_argument("--phones", type=_phones, help=f"made, registered (default {PHONES} or more)")
    args = parser.parse_args()
    rates: list[int] = args.rates
    # each phone used again 2 s later, its 1 s call over: else it is busy (-68, 486) and the step not clean
    least = -(-2 * max(rates) // PHONE_GROUP) * PHONE_GROUP
    phones: int = max(PHONES, least) if args.phones is None else args.phones
    if phones < least:
        parser.error(f"--phones {phones} is too few for {max(rates)} calls/s: at least {least}")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {1})  # the API client shares CPU 1 with SIPp, away from the servers
    wanted = {name for name in ("sipline", "handset", "sippy") if args.only in (None, name)}
    best: dict[str, float | None] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        # each mode on a platform (and database) of its own: one mode's records are not another's
        for name in wanted:
            (workdir / name).mkdir()
        if "sipline" in wanted:
            best["sendSip"] = sipline_steps(rates, args.seconds, workdir / "sipline", phones=phones)
        if "handset" in wanted:
            best["handset"] = handset_steps(rates, args.seconds, workdir / "handset", phones)
        if "sippy" in wanted:
            best["sippy"] = sippy_steps(rates, args.seconds, workdir / "sippy")
    print(summary(best))


def summary(best: dict[str, float | None]) -> str:
    """The best clean calls/s of what ran ("not run" for the rest) and sipline's against the targets."""
    shown = {name: best.get(name) for name in ("sendSip", "handset", "sippy")}
    figures = ", ".join(f"{name} {'not run' if f is None else f'{f:,.0f}'}" for name, f in shown.items())
    lines = [f"\nbest clean calls/s: {figures}"]
    theirs = shown["sippy"]
    for name in ("sendSip", "handset"):
        figure = shown[name]
        if figure is None:
            continue
        rate = f">= {TARGET_RATE}/s: {'met' if figure >= TARGET_RATE else 'NOT met'}"
        if not theirs:
            lines.append(f"{name}: {rate}; ratio to sippy: n/a (sippy {'not run' if theirs is None else 0})")
            continue
        ratio = figure / theirs
        met = "met" if ratio >= TARGET_RATIO else "NOT met"
        lines.append(f"ratio {name} / sippy: {ratio:.2f} ({rate}; >= {TARGET_RATIO}: {met})")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
