"""bench/api: authenticated sipQuery (page of 100) and sipAdd (quantity 50) against `sipline serve`,
beside a bare FastAPI endpoint answering a JSON body of the same size, measured in the same run.

    python -m bench.api [--seconds 10] [--connections 32]

The servers run pinned to CPU 0 and wrk (Debian package `wrk`) to CPU 1. Target: sipQuery
throughput at least 50% of the bare endpoint's.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import free_port, pinned, wait_http
from sipline.domain.signing import compute_sign

HERE = Path(__file__).resolve().parent
BASELINES = {
    "bare: dict, FastAPI default": "default",
    "bare: dict, orjson response": "orjson",
    "bare: pre-encoded bytes": "bytes",
}
QUERY, ADD = "sipQuery size=100", "sipAdd quantity=50"
CPU_SERVER, CPU_LOAD = "0", "1"


def wrk(url: str, mode: str, seconds: int, connections: int, env: dict[str, str]) -> dict[str, float]:
    """Load `url` with signed requests (signed.lua in `mode` "query" or "add"); its figures."""
    script = str(HERE / "signed.lua")
    command = pinned(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url], CPU_LOAD
    )
    output = subprocess.run(
        command, capture_output=True, text=True, env=env | {"BENCH_MODE": mode}, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = {m.group(1): _ms(m.group(2)) for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": rps,
        "p50": latency["50"],
        "p99": latency["99"],
        "non2xx": float(errors.group(1)) if errors else 0,
    }


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/api needs wrk: apt-get install wrk")

    work = Path(tempfile.mkdtemp(prefix="sipline-bench-"))
    sipline = [sys.executable, "-m", "sipline"]
    env = os.environ | {"SIPLINE_DATA_DIR": str(work / "data"), "SIPLINE_LOG_LEVEL": "WARNING"}
    env.pop("SIPLINE_DATABASE_URL", None)

    def admin(*cmd: str) -> dict[str, str]:
        out = subprocess.run(
            [*sipline, "admin", *cmd, "--json"], env=env, capture_output=True, text=True, check=True
        )
        return json.loads(out.stdout)  # type: ignore[no-any-return]

    account = admin("account", "create")
    key, secret = account["apiKey"], account["apiSecret"]
    app_id = admin("app", "create", "--api-key", key, "--phone-limit", "100000000")["appId"]

    port = free_port()
    server = subprocess.Popen(
        pinned([*sipline, "serve", "--http-port", str(port), "--sip-port", "0"], CPU_SERVER), env=env
    )
    processes = [server]
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/openapi.json", server)
        timestamp = str(int(time.time()))
        headers = {
            "Api-Key": key,
            "Timestamp": timestamp,
            "Sign": compute_sign(key, secret, timestamp),
            "Content-Type": "application/json;charset=UTF-8",
        }
        for index in range(2):  # 100 phones for a full page
            body = {
                "groupName": f"seed{index}",
                "phoneName": f"seed{index}",
                "quantity": 50,
                "displayNum": "861000000",
                "appId": app_id,
            }
            assert httpx.post(f"{base}/voice/sipAdd", json=body, headers=headers).json()["status"] == "0"
        query = {"current": 1, "size": 100, "params": {"appId": app_id}}
        page = httpx.post(f"{base}/voice/sipQuery", json=query, headers=headers)
        assert page.json()["status"] == "0" and len(page.json()["data"]["records"]) == 100
        (work / "page.json").write_bytes(page.content)

        bare_port = free_port()
        bare = subprocess.Popen(
            pinned(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bench.api.bare_app:app",
                    "--port",
                    str(bare_port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                CPU_SERVER,
            ),
            env=env | {"BENCH_BARE_BODY": str(work / "page.json")},
            cwd=HERE.parent.parent,
        )
        processes.append(bare)
        wait_http(f"http://127.0.0.1:{bare_port}/docs", bare)

        lua_env = env | {
            "BENCH_HEADERS": json.dumps(headers),
            "BENCH_QUERY": json.dumps(query),
            "BENCH_APP": app_id,
        }
        bare_url = f"http://127.0.0.1:{bare_port}"
        results = {
            name: wrk(
                f"{bare_url}/{path}/voice/sipQuery",
                "query",
                args.seconds,
                args.connections,
                lua_env,
            )
            for name, path in BASELINES.items()
        }
        results[QUERY] = wrk(f"{base}/voice/sipQuery", "query", args.seconds, args.connections, lua_env)
        results[ADD] = wrk(f"{base}/voice/sipAdd", "add", args.seconds, 4, lua_env)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)

    where = f"servers on CPU {CPU_SERVER}, wrk on CPU {CPU_LOAD}"
    print(f"\nbody size {len(page.content)} bytes; {args.seconds}s per run; {where}")
    print(f"{'endpoint':28} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name, figures in results.items():
        rps, p50, p99, bad = figures["rps"], figures["p50"], figures["p99"], figures["non2xx"]
        print(f"{name:28} {rps:10.0f} {p50:8.2f} {p99:8.2f} {bad:8.0f}")
    print()
    for name in BASELINES:
        ratio = results[QUERY]["rps"] / results[name]["rps"]
        verdict = "met" if ratio >= 0.5 else "NOT met"
        print(f"sipQuery / {name:30} throughput ratio {ratio:5.2f}  (target >= 0.50: {verdict})")
    phones_per_s = results[ADD]["rps"] * 50
    print(f"sipAdd: {phones_per_s:.0f} phones created per second")


if __name__ == "__main__":
    main()
