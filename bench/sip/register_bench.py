"""Authenticated REGISTER throughput of the registrar on one core, driven by SIPp.

Runs the SipServer in a subprocess pinned to core 0 (``taskset -c 0``) with 1,000 users and
drives SIPp (pinned to core 1) at increasing rates; each step prints registrations/s and
whether it had zero failed calls and zero retransmissions.

Run: python -m bench.sip.register_bench [--rates 250,500,1000,...] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
USERS = 1000


def _users() -> dict[str, str]:
    return {f"user{i:04d}": f"pw-{i:04d}" for i in range(USERS)}


async def serve(port: int) -> None:
    """The server side (runs in the pinned subprocess)."""
    from sipline.sip.ban import BanPolicy
    from sipline.sip.bindings_memory import MemoryBindingStore
    from sipline.sip.credentials import StaticCredentialSource
    from sipline.sip.server import SipServer, SipServerConfig

    config = SipServerConfig(
        host="127.0.0.1", port=port, domain="bench.test", ban=BanPolicy(max_failures=10**9)
    )
    server = SipServer(config, StaticCredentialSource(_users()), MemoryBindingStore())
    await server.start()
    print("READY", flush=True)
    await asyncio.Event().wait()


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        return int(udp.getsockname()[1])


def run_step(port: int, rate: int, seconds: float, workdir: Path, csv: Path) -> tuple[int, int, int, float]:
    calls = int(rate * seconds)
    cmd = [
        "taskset", "-c", "1", shutil.which("sipp") or "sipp", f"127.0.0.1:{port}",
        "-sf", str(HERE / "reg_client_auth.xml"), "-inf", str(csv), "-i", "127.0.0.1", "-p", str(free_port()),
        "-m", str(calls), "-r", str(rate), "-l", str(max(rate, 100)), "-buff_size", "4194304",
        "-nostdin", "-timeout", str(int(seconds * 4 + 20)), "-timeout_error",
    ]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    out = proc.stdout
    ok = _counter(out, "Successful call")
    failed = _counter(out, "Failed call")
    retrans = sum(int(m.group(1)) for m in re.finditer(r"REGISTER ---------->\s+\d+\s+(\d+)", out))
    return ok, failed, retrans, elapsed


def _counter(screen: str, name: str) -> int:
    matches = re.findall(rf"{name}\s+\|\s+\d+\s+\|\s+(\d+)", screen)
    return int(matches[-1]) if matches else -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--rates", default="250,500,1000,1500,2000,3000,4000")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    if args.serve:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        asyncio.run(serve(args.serve))
        return

    port = free_port()
    repo = HERE.parents[1]
    server = subprocess.Popen(
        ["taskset", "-c", "0", sys.executable, "-m", "bench.sip.register_bench", "--serve", str(port)],
        cwd=repo, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "READY":
            raise SystemExit("server did not start")
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            csv = workdir / "users.csv"
            lines = ["SEQUENTIAL"] + [
                f"{u};{p};[authentication username={u} password={p}]" for u, p in _users().items()
            ]
            csv.write_text("\n".join(lines) + "\n")
            print(f"{'rate/s':>8} {'ok':>7} {'failed':>7} {'retrans':>8} {'registrations/s':>16}  clean")
            best = 0.0
            for rate in (int(r) for r in args.rates.split(",")):
                ok, failed, retrans, elapsed = run_step(port, rate, args.seconds, workdir, csv)
                achieved = ok / elapsed if elapsed > 0 else 0.0
                clean = failed == 0 and retrans == 0 and ok == int(rate * args.seconds)
                verdict = "yes" if clean else "NO"
                print(f"{rate:>8} {ok:>7} {failed:>7} {retrans:>8} {achieved:>16,.0f}  {verdict}")
                if not clean:
                    break
                best = max(best, achieved)
            print(
                f"best clean rate: {best:,.0f} authenticated registrations/s (2 REGISTER transactions each)"
            )
    finally:
        server.terminate()
        server.wait(5)


if __name__ == "__main__":
    main()
