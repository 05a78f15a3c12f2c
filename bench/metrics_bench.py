"""The cost of metrics (issue 15), for `bench/run --metrics` (see bench.py).

On SQLite, --metrics-rounds rounds (3; 1 with --smoke), each with two servers on fresh files,
one with METRICS_ENABLED=false and one with METRICS_ENABLED=true, one after the other,
alternating which goes first (the machine's noise drifts; interleaving spreads it over both).
Each gets a 1 s warm-up of GET /health, then POST (bench/post.lua: a unique valid webhook per
request) at 32 connections for --duration seconds. After each "on" run, GET /metrics must
parse, and its count of `POST /webhook/messages` 200s must equal the POSTs wrk saw answered
200 (so the benchmark also checks the counts are right under load); the "off" server must
answer /metrics with 404.

Reported: each run's req/s, p50, p99 and the server's CPU time (user + system, from
/proc/PID/stat) per POST, since POST on SQLite waits for the disk more than for the CPU; per round req/s on / off; and the median req/s of
the "on" runs over the median of the "off" runs (and the median of the rounds' own ratios),
against the target of at least 0.95 (metrics
cost at most 5% of POST throughput). The run fails (non-zero exit) if a request fails (a
non-2xx or a socket error in wrk) or a check above does not hold; the target never fails it,
it is printed as met or NOT met.
"""

import http.client
import re
import shutil
import statistics
import tempfile
import time

import bench as common

TARGET = 0.95
POST_SERIES = re.compile(
    r'^qualia_webhook_http_requests_total\{route="/webhook/messages",method="POST",status="200"\} (\d+(?:\.\d+)?)$', re.M)


def add_arguments(parser):
    parser.add_argument("--metrics", action="store_true",
                        help="POST throughput with METRICS_ENABLED=false vs true, interleaved rounds at 32 connections")
    parser.add_argument("--metrics-rounds", type=int, default=3, help="rounds of one off and one on run each")


def scrape(port):
    """GET /metrics with the webhook's credentials: (status, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/metrics", headers={"Authorization": "Basic " + common.AUTH})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def one_run(args, label, run_id, problems):
    """A server of its own on a fresh file: warm-up, POST at 32 connections, then the checks."""
    workdir = tempfile.mkdtemp(prefix=f"qualia-bench-metrics-{label}-")
    environment = {**common.store_environment("sqlite", workdir, None), "METRICS_ENABLED": "true" if label == "on" else "false"}
    try:
        server = common.Server(args.binary, workdir, environment)
        try:
            common.run_wrk(server.port, "health.lua", "/health", 8, 1)
            cpu_before = sum(common.process_cpu_seconds(server.process.pid))
            post = common.run_wrk(server.port, "post.lua", "/webhook/messages", 32, args.duration, (run_id, common.AUTH))
            post["cpu_us_per_post"] = (sum(common.process_cpu_seconds(server.process.pid)) - cpu_before) / max(1, post["requests"]) * 1e6
            if post["non_2xx"] or post["socket_errors"]:
                problems.append(f"metrics {label}: {post['non_2xx']} non-2xx, {post['socket_errors']} socket errors")
            status, text = scrape(server.port)
            if label == "off" and status != 404:
                problems.append(f"metrics off: GET /metrics answered {status}, not 404")
            if label == "on":
                match = POST_SERIES.search(text) if status == 200 else None
                counted = int(float(match.group(1))) if match else None
                # wrk's count is of answers it read; a request still in flight at its end was
                # answered (and counted) too, so the server's count may be higher by at most
                # one per connection.
                if counted is None or not post["requests"] <= counted <= post["requests"] + 32:
                    problems.append(f"metrics on: /metrics ({status}) counted {counted} POST 200s, wrk saw {post['requests']}")
                post["counted"] = counted
        finally:
            exit_code = server.stop()
        if exit_code != 0:
            problems.append(f"metrics {label}: server exited with {exit_code} on SIGTERM; log: {server.log_path}")
        return post
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def metrics_main(args):
    """`bench/run --metrics`: the module's scenario; non-zero when a request or a check failed."""
    if args.smoke:
        args.metrics_rounds = 1
    results = {"machine": common.machine_facts(), "args": {k: v for k, v in vars(args).items() if k != "json"}}
    problems, rounds = [], []
    print(f"metrics: POST at 32 connections, {args.duration} s, METRICS_ENABLED false and true, "
          f"{args.metrics_rounds} rounds alternating:", flush=True)
    for number, order in common.alternating_rounds(args.metrics_rounds, "off", "on"):
        figures = {}
        for label in order:
            post = one_run(args, label, f"m{number}{label}{int(time.time())}", problems)
            figures[label] = post
            print(f"  round {number + 1} metrics {label:3}: {post['rps']:7.0f} req/s, p50 {post['p50_ms']:6.2f} ms, "
                  f"p99 {post['p99_ms']:6.2f} ms, server CPU {post['cpu_us_per_post']:5.0f} µs per POST, non-2xx {post['non_2xx']}, socket errors {post['socket_errors']}", flush=True)
        figures["rps_on_over_off"] = figures["on"]["rps"] / figures["off"]["rps"]
        rounds.append({"order": order, **figures})
        print(f"  round {number + 1}: req/s on / off {figures['rps_on_over_off']:.3f}", flush=True)
    off = statistics.median(r["off"]["rps"] for r in rounds)
    on = statistics.median(r["on"]["rps"] for r in rounds)
    ratio = on / off
    # Each round's own ratio too: its two runs are a minute apart, so drift in the machine's
    # speed between rounds (two shared cores) cancels within a round.
    paired = statistics.median(r["rps_on_over_off"] for r in rounds)
    results["metrics"] = {"rounds": rounds, "median_rps_off": off, "median_rps_on": on, "ratio": ratio, "median_round_ratio": paired,
                          "target": TARGET, "met": ratio >= TARGET,
                          "median_p99_off_ms": statistics.median(r["off"]["p99_ms"] for r in rounds),
                          "median_p99_on_ms": statistics.median(r["on"]["p99_ms"] for r in rounds),
                          "median_cpu_us_per_post_off": statistics.median(r["off"]["cpu_us_per_post"] for r in rounds),
                          "median_cpu_us_per_post_on": statistics.median(r["on"]["cpu_us_per_post"] for r in rounds)}
    print(f"  median req/s on {on:.0f}, off {off:.0f}: ratio on / off {ratio:.3f} (target >= {TARGET}: "
          f"{'met' if ratio >= TARGET else 'NOT met'}); median of the rounds' ratios {paired:.3f}; median p99 on {results['metrics']['median_p99_on_ms']:.2f} ms, "
          f"off {results['metrics']['median_p99_off_ms']:.2f} ms; median server CPU per POST on "
          f"{results['metrics']['median_cpu_us_per_post_on']:.0f} µs, off {results['metrics']['median_cpu_us_per_post_off']:.0f} µs", flush=True)
    common.write_json(args, results)
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0
