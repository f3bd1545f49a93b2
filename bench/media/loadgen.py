"""The C load generator: compiled with gcc into a temporary directory, run pinned to its own CPU,
and the measurement of one step (a system's CPU over the generator's measurement window)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bench.common import cpu_seconds, pinned

SOURCE = Path(__file__).resolve().parent / "loadgen.c"
NICE = -10  # the systems and the generator before the other work on this (shared) machine


def start_favoured(command: list[str], cpu: str, **options: Any) -> subprocess.Popen[Any]:
    """`command` pinned to `cpu`, in a session of its own at nice -10, autogroup included: with
    autogrouping (Linux's default), nice only weighs within a session, so a plain `nice` would not
    keep the neighbours of a shared machine off the core. The same for every system and the generator.
    Without the permission it runs at normal priority."""
    process = subprocess.Popen(pinned(command, cpu), start_new_session=True, **options)
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, process.pid, NICE)
    with contextlib.suppress(OSError):
        Path(f"/proc/{process.pid}/autogroup").write_text(f"{NICE}\n")
    return process


def compile_loadgen(directory: Path) -> Path:
    """`loadgen.c` built with gcc -O2 into `directory`; stops the bench when gcc is missing or fails."""
    gcc = shutil.which("gcc")
    if gcc is None:
        raise SystemExit("bench/media needs gcc to build its load generator (apt-get install gcc)")
    binary = directory / "loadgen"
    done = subprocess.run(
        [gcc, "-O2", "-Wall", "-Wextra", "-o", str(binary), str(SOURCE)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"gcc could not build {SOURCE}:\n{done.stderr}")
    return binary


class System(Protocol):
    """A media relay under test: opens `calls` relayed calls between the generator's leg ports."""

    name: str
    pid: int  # the process whose CPU is measured (all its threads)
    recording: bool

    def open_calls(self, generator_ports: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The relay's port for leg A and for leg B of each call."""

    def close_calls(self) -> None: ...


@dataclass
class Step:
    system: str
    calls: int
    summary: dict[str, Any]  # the generator's JSON
    cpu_seconds: float  # the system's utime + stime over the window
    window_seconds: float
    waited_seconds: float = 0.0  # time its threads were runnable but not running (CPU 0 shared)

    @property
    def relayed(self) -> int:
        return int(self.summary["window_received"])

    @property
    def cpu_us_per_packet(self) -> float:
        return self.cpu_seconds * 1e6 / self.relayed if self.relayed else float("inf")

    @property
    def cpu_share(self) -> float:
        """The system's CPU use over the window, as a share of one core."""
        return self.cpu_seconds / self.window_seconds if self.window_seconds else 0.0

    @property
    def waited_share(self) -> float:
        """Share of the window the system spent runnable but waiting for its CPU (other work on it)."""
        return self.waited_seconds / self.window_seconds if self.window_seconds else 0.0

    @property
    def lost(self) -> int:
        return int(self.summary["lost"])

    @property
    def p99_ms(self) -> float:
        return float(self.summary["p99_ms"])

    @property
    def zero_loss_calls(self) -> int:
        return int(self.summary["calls_zero_loss"])

    def clean(self, max_p99_ms: float) -> bool:
        """Every call carried without loss, nothing misrouted, and p99 latency under the limit."""
        return self.lost == 0 and self.summary["misrouted"] == 0 and self.p99_ms < max_p99_ms


def run_queue_seconds(pid: int) -> float:
    """How long the threads of `pid` have waited, runnable, for a CPU (/proc/PID/task/*/schedstat)."""
    waited = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            waited += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # a thread that ended meanwhile, or no schedstats in this kernel
    return waited / 1e9


def run_step(binary: Path, system: System, calls: int, seconds: float, warmup: float, cpu: str = "1") -> Step:
    """`calls` calls through `system` for `warmup` + `seconds`; CPU measured over `seconds`."""
    generator = start_favoured(
        [str(binary), str(calls), str(seconds), str(warmup)],
        cpu,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert generator.stdin is not None and generator.stdout is not None
    try:
        ports = [int(port) for port in generator.stdout.readline().split()[1:]]
        if len(ports) != 2 * calls:
            raise SystemExit(f"the load generator gave {len(ports)} ports for {calls} calls")
        targets = system.open_calls(list(zip(ports[0::2], ports[1::2], strict=True)))
        generator.stdin.write("TARGETS " + " ".join(f"{a} {b}" for a, b in targets) + "\n")
        generator.stdin.flush()
        marks: dict[str, tuple[float, float, float]] = {}
        for line in generator.stdout:
            if line.startswith("MARK "):
                at = (os.times().elapsed, cpu_seconds(system.pid), run_queue_seconds(system.pid))
                marks[line.split()[1]] = at
            elif line.startswith("{"):
                summary = json.loads(line)
                break
        else:
            raise SystemExit(f"the load generator ended without a summary (exit {generator.wait()})")
    finally:
        generator.wait(30)
        system.close_calls()
    (warm_at, warm_cpu, warm_wait), (end_at, end_cpu, end_wait) = marks["warm"], marks["end"]
    return Step(system.name, calls, summary, end_cpu - warm_cpu, end_at - warm_at, end_wait - warm_wait)
