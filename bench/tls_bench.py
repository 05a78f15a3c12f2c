"""HTTPS beside plain HTTP (issue 16), for `bench/run --tls` (see bench.py).

On SQLite, --tls-rounds rounds (3; 1 with --smoke), each with two servers on fresh files, one
plain HTTP and one HTTPS (a P-256 certificate made here by openssl), alternating which goes
first. Each server gets a 1 s warm-up, then for --duration seconds each:

- `health`: GET /health at 32 keep-alive connections (wrk, HTTP/1.1): the cost of the records;
- `post`: POST /webhook/messages at 32 keep-alive connections (bench/post.lua);
- `new-connection`: GET /health at 8 connections with `Connection: close`, so every request
  opens a connection, and over HTTPS does a full handshake (TLS 1.3, ECDHE P-256): what a
  client that never reuses a connection costs;
- `h2` (HTTPS only): GET /health over HTTP/2 (h2load) at 32 connections of 10 concurrent
  streams each, beside `health` over HTTP/1.1 on the same server.

wrk counts a read error for each connection the server closes after `Connection: close`, so
`new-connection` fails only on non-2xx answers and connect, write or timeout errors.

Reported: each run's req/s, p50/p99 where the tool gives them, and the server's CPU time
(user + system, /proc/PID/stat) per request, which the shared machine's noise moves less than
req/s; per scenario the median ratio https / http. The run fails (non-zero exit) if a request
fails (a non-2xx, a socket error) or h2load did not negotiate h2; the figures never fail it.
"""

import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time

import bench as common

SCENARIOS = ("health", "post", "new-connection")


def add_arguments(parser):
    parser.add_argument("--tls", action="store_true",
                        help="HTTPS beside plain HTTP: /health, POST, a new connection per request, and HTTP/2 (h2load)")
    parser.add_argument("--tls-rounds", type=int, default=3, help="rounds of one plain and one HTTPS server each")


def make_certificate(workdir):
    """A self-signed P-256 certificate for localhost and 127.0.0.1, and its key: (cert, key)."""
    certificate, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return certificate, key


def run_h2load(port, connections, streams, duration):
    """GET /health over HTTP/2 for `duration` seconds: req/s, requests, failures, protocol."""
    result = subprocess.run(
        ["h2load", "-c", str(connections), "-m", str(streams), "-t", "2" if connections > 1 else "1", "-D", str(duration),
         "--warm-up-time=1", f"https://127.0.0.1:{port}/health"],
        capture_output=True, text=True, timeout=duration + 60)
    output = result.stdout
    finished = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", output)
    requests = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", output)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", output)
    protocol = re.search(r"Application protocol: (\S+)", output)
    if result.returncode != 0 or not (finished and requests and codes):
        raise RuntimeError(f"h2load failed ({result.returncode}): {output}\n{result.stderr}")
    return {
        "rps": float(finished.group(1)), "requests": int(requests.group(3)),
        "non_2xx": sum(int(codes.group(n)) for n in (2, 3, 4)), "socket_errors": int(requests.group(4)) + int(requests.group(5)),
        "protocol": protocol.group(1) if protocol else None,
    }


def measured(server, run):
    """Runs `run()` and adds the server's CPU time per request to its figures."""
    before = sum(common.process_cpu_seconds(server.process.pid))
    figures = run()
    figures["cpu_us_per_request"] = (sum(common.process_cpu_seconds(server.process.pid)) - before) / max(1, figures["requests"]) * 1e6
    return figures


def one_run(args, mode, run_id, problems):
    """A server of its own (plain or HTTPS) on a fresh file, through every scenario."""
    workdir = tempfile.mkdtemp(prefix=f"qualia-bench-tls-{mode}-")
    environment = common.store_environment("sqlite", workdir, None)
    scheme = "http"
    if mode == "https":
        certificate, key = make_certificate(workdir)
        environment.update(TLS_CERT_PATH=certificate, TLS_KEY_PATH=key)
        scheme = "https"
    figures = {}
    try:
        server = common.Server(args.binary, workdir, environment)
        try:
            common.run_wrk(server.port, "health.lua", "/health", 8, 1, scheme=scheme)
            figures["health"] = measured(server, lambda: common.run_wrk(server.port, "health.lua", "/health", 32, args.duration, scheme=scheme))
            figures["post"] = measured(server, lambda: common.run_wrk(
                server.port, "post.lua", "/webhook/messages", 32, args.duration, (run_id, common.AUTH), scheme=scheme))
            figures["new-connection"] = measured(server, lambda: common.run_wrk(
                server.port, "health.lua", "/health", 8, args.duration, scheme=scheme, headers=("Connection: close",)))
            if mode == "https":
                figures["h2"] = measured(server, lambda: run_h2load(server.port, 32, 10, args.duration))
                if figures["h2"]["protocol"] != "h2":
                    problems.append(f"tls: h2load negotiated {figures['h2']['protocol']}, not h2")
            for scenario, run in figures.items():
                # wrk counts a read error each time a server closes a connection it was told to
                # close (it reads on until the close), so those are no failure there.
                errors = run["socket_errors"] - (run["read_errors"] if scenario == "new-connection" else 0)
                if run["non_2xx"] or errors:
                    problems.append(f"tls {mode} {scenario}: {run['non_2xx']} non-2xx, {errors} socket errors")
        finally:
            exit_code = server.stop()
        if exit_code != 0:
            problems.append(f"tls {mode}: server exited with {exit_code} on SIGTERM; log: {server.log_path}")
        return figures
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def describe(run):
    latency = f", p50 {run['p50_ms']:6.2f} ms, p99 {run['p99_ms']:6.2f} ms" if "p50_ms" in run else ""
    return f"{run['rps']:8.0f} req/s{latency}, server CPU {run['cpu_us_per_request']:5.0f} µs per request"


def tls_main(args):
    """`bench/run --tls`: the module's scenarios; non-zero when a request or a check failed."""
    if args.smoke:
        args.tls_rounds = 1
    results = {"machine": common.machine_facts(), "args": {k: v for k, v in vars(args).items() if k != "json"}}
    problems, rounds = [], []
    print(f"tls: SQLite, {args.duration} s per scenario, plain HTTP and HTTPS, {args.tls_rounds} rounds alternating:", flush=True)
    for number, order in common.alternating_rounds(args.tls_rounds, "http", "https"):
        figures = {}
        for mode in order:
            figures[mode] = one_run(args, mode, f"t{number}{mode}{int(time.time())}", problems)
            for scenario, run in figures[mode].items():
                print(f"  round {number + 1} {mode:5} {scenario:14} {describe(run)}", flush=True)
        rounds.append({"order": order, **figures})
    summary = {}
    for scenario in SCENARIOS:
        ratios = [r["https"][scenario]["rps"] / r["http"][scenario]["rps"] for r in rounds]
        cpu = [r["https"][scenario]["cpu_us_per_request"] / r["http"][scenario]["cpu_us_per_request"] for r in rounds]
        summary[scenario] = {"rps_https_over_http": statistics.median(ratios), "cpu_https_over_http": statistics.median(cpu)}
        print(f"  {scenario:14}: median req/s https / http {summary[scenario]['rps_https_over_http']:.3f}, "
              f"server CPU per request https / http {summary[scenario]['cpu_https_over_http']:.2f}", flush=True)
    h2 = [r["https"]["h2"]["rps"] / r["https"]["health"]["rps"] for r in rounds]
    summary["h2_over_http1_tls"] = statistics.median(h2)
    print(f"  /health over HTTP/2 / over HTTP/1.1 with TLS: median {summary['h2_over_http1_tls']:.3f}", flush=True)
    results["tls"] = {"rounds": rounds, "summary": summary}
    common.write_json(args, results)
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0
