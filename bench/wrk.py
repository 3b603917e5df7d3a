"""Drive one URL with wrk (Debian's package) and read its figures."""

import re
import subprocess
import tempfile
from dataclasses import dataclass

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    failures: int  # 4xx/5xx answers and socket errors


def run(url, method="GET", body="", headers=None, seconds=10, clients=32, threads=2):
    """Load `url` with `clients` connections for `seconds` and return what wrk measured."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(_lua(method, body, headers or {}))
        script.flush()
        output = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--latency", "-s", script.name, url],
            check=True, capture_output=True, text=True,
        ).stdout
    return parse(output)


def _lua(method, body, headers):
    lines = [f'wrk.method = "{method}"', f"wrk.body = {_lua_string(body)}"]
    lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()]
    return "\n".join(lines) + "\n"


def _lua_string(value):
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse(output):
    percentiles = {p: _ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)}
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    non_ok = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    failures = (int(non_ok.group(1)) if non_ok else 0) + (sum(map(int, socket.groups())) if socket else 0)
    return Figures(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        p50_ms=percentiles["50"], p99_ms=percentiles["99"], requests=requests, failures=failures,
    )


def _ms(value, unit):
    return float(value) * UNITS_MS[unit]
