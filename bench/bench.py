#!/usr/bin/env python3
"""Benchmarks qualia-webhook as its users would: the real binary on a loopback port, driven by wrk.

For each store (SQLite, and DynamoDB on a local moto server) and each connection count it runs,
back to back in one run:
  - GET /health (the ceiling of this machine at that moment),
  - POST /webhook/messages with a unique valid webhook per request,
  - GET /webhook/messages/{order_id} of an order holding 20 messages,
and prints req/s, p50/p99/p99.9 latency, non-2xx and socket errors, the server's peak RSS
during that scenario, and each figure as a ratio to the same run's /health. It also measures
the time from process start to the first 200 on /health, and (SQLite) POST and GET again over
a store already holding --fill messages.

With --auth-failures it measures instead what a failing authentication costs (SQLite, 32
connections): GET with a wrong password, each request naming its client in X-Forwarded-For,
rotating through 10 addresses, through 100,000 (all tracked), and a new address every time
(the table full, every request evicting one record).

With --listing-memory it measures instead what a large order's GET costs in memory: it
fills one order with --listing-messages messages of --listing-text-bytes of text each (100 of
199 KB: about 20 MB of JSON), then runs --listing-rounds rounds of --listing-clients concurrent
GETs of it, and reports the server's peak RSS (VmHWM) before the GETs and during them. Each
answer is read to the end and checked (its length, and in the first round that its count
matches its messages). On SQLite a peak at or above --listing-peak-limit-mb fails the run.

With --dynamodb-cpu it measures instead what the DynamoDB path costs the service itself: the
service's CPU time (utime + stime from /proc/PID/stat) per POST, at 1 and 8 connections. moto
answers every request with `Connection: close`, so the service talks to it through nginx, a
keep-alive reverse proxy of the run's own on a free loopback port; otherwise every request would
also pay for a new TCP connection. moto is slow, so req/s is low: the CPU per request of our
process is the figure. Then, because CPU per request rises as the rate falls (every request
pays its own wake-ups), it runs GET /health and a SQLite POST paced to the rate each DynamoDB
run reached (bench/pace.lua), so the three figures differ only by what a request does. With --perf-data FILE it then records a profile of one more run at 8
connections (perf record -e cpu-clock -g), kept apart from the measured runs.

With --feed it measures instead the change feed and the live stream (issue 12): subscribers'
POST-to-event latency and their cost to POST throughput, 10,000 idle subscribers' memory,
pages of 1,000 events over a feed of 1,000,000, and (DynamoDB on moto) the latency from one
instance to another; see bench/feed_bench.py.

With --search it measures instead full-text search (issue 13) on SQLite: it fills a file with
--search-messages messages of varied text (1,000,000) straight through sqlite3, checks that
planted words are found exactly, newest first, then times one-word, rare-word, three-character
substring and one-order queries at 1 and 4 connections beside /health, reports the index's
bytes per message, and, with --baseline-binary (a build without the index), POST throughput
with and without it; see bench/search_bench.py.

With --attachments it measures instead the attachment archive (issue 14) on SQLite: a 100 MB
file archived from nginx, then downloaded from the download route beside curl reading it from
nginx (rate, SHA-256, the server's peak RSS over one and over 4 concurrent downloads), and POST
with archiving on vs off; see bench/attachments_bench.py.

With --metrics it measures instead what metrics cost (issue 15): POST on SQLite at 32
connections with METRICS_ENABLED=false and true, interleaved rounds, the ratio of the medians
on / off (target at least 0.95), and that /metrics counted every POST; see bench/metrics_bench.py.

With --reader it measures instead the reader's side on SQLite at 32 connections: it fills,
through the API, one order with 10,000 messages and 100,000 orders with one message each, then
runs GET /health, the first and the 100th 100-message page of the large order, PATCHes of
random messages' read status, a 50-order page of the orders list, a 100-message conversation
page, and POST, each as a ratio to the run's /health.

Usage: bench/run [--smoke] [--stores sqlite,dynamodb] [--duration S] [--connections 1,32,256]
                 [--fill N] [--binary PATH] [--json FILE]
       bench/run --auth-failures
       bench/run --dynamodb-cpu [--duration S] [--perf-data FILE]
       bench/run --reader [--duration S] [--smoke]
       bench/run --feed [--smoke] [--feed-scenarios live,idle,read,dynamodb] [--duration S]
       bench/run --search [--smoke] [--search-messages N] [--baseline-binary PATH] [--duration S]
       bench/run --attachments [--smoke] [--duration S] [--perf-data FILE]
       bench/run --metrics [--smoke] [--metrics-rounds 3] [--duration S]
       bench/run --listing-memory [--stores sqlite,dynamodb] [--listing-clients 8] [--listing-rounds 5]
"""

import argparse
import contextlib
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import attachments_bench
import metrics_bench
import tls_bench
import feed_bench
import search_bench

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
USER, PASSWORD = "bench_user", "bench-password-not-secret"
AUTH = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def alternating_rounds(count, first, second):
    """(round number, the order of its two runs) for `count` rounds, alternating which setting
    goes first, so that the machine's drift during a run falls on both settings alike."""
    for number in range(count):
        yield number, [first, second] if number % 2 == 0 else [second, first]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(port, method, path, body=None, timeout=5):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Authorization": "Basic " + AUTH}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


class Server:
    """The qualia-webhook binary as a child process, with its log in a file."""

    def __init__(self, binary, workdir, environment):
        self.port = free_port()
        self.log_path = os.path.join(workdir, f"server-{self.port}.log")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WEBHOOK_USERNAME": USER,
            "WEBHOOK_PASSWORD": PASSWORD,
            "LOG_LEVEL": "info",
        }
        env.update(environment)
        # With TLS files the health check speaks HTTPS (trusting the bench's own certificate).
        self.tls = ssl.create_default_context(cafile=env["TLS_CERT_PATH"]) if "TLS_CERT_PATH" in env else None
        self.log = open(self.log_path, "wb")
        started = time.perf_counter()
        self.process = subprocess.Popen([binary, "serve"], cwd=workdir, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.startup_ms = self._wait_until_healthy(started)

    def _wait_until_healthy(self, started):
        deadline = started + 30
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; log: {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as raw:
                    with (self.tls.wrap_socket(raw, server_hostname="localhost") if self.tls else contextlib.nullcontext(raw)) as s:
                        s.sendall(b"GET /health HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                        if s.recv(64).startswith(b"HTTP/1.1 200"):
                            return (time.perf_counter() - started) * 1000
            except OSError:
                pass
            time.sleep(0.001)
        raise RuntimeError(f"server not healthy after 30 s; log: {self.log_path}")

    def reset_peak_rss(self):
        # Writing 5 to clear_refs resets the kernel's peak-RSS mark (VmHWM) for this process.
        with open(f"/proc/{self.process.pid}/clear_refs", "w") as f:
            f.write("5")

    def peak_rss_mb(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode


def run_wrk(port, script, path, connections, duration, script_args=(), scheme="http", headers=()):
    threads = 1 if connections == 1 else 2
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
        *[option for header in headers for option in ("-H", header)],
        "-s", os.path.join(BENCH_DIR, script), f"{scheme}://127.0.0.1:{port}{path}",
    ]
    if script_args:
        command += ["--", *script_args]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "BENCH_DIR": BENCH_DIR})
    match = re.search(r"^WRK_SUMMARY (\{.*\})$", result.stdout, re.M)
    if result.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stdout}\n{result.stderr}")
    summary = json.loads(match.group(1))
    seconds = summary["duration_us"] / 1e6
    return {
        "rps": summary["requests"] / seconds,
        "requests": summary["requests"],
        "p50_ms": summary["p50_us"] / 1000,
        "p99_ms": summary["p99_us"] / 1000,
        "p999_ms": summary["p999_us"] / 1000,
        "non_2xx": summary["errors_status"],
        "socket_errors": sum(summary[k] for k in ("errors_connect", "errors_read", "errors_write", "errors_timeout")),
        "read_errors": summary["errors_read"],
    }


def measure(server, scenario, connections, duration, run_id, order_path):
    server.reset_peak_rss()
    if scenario == "health":
        figures = run_wrk(server.port, "health.lua", "/health", connections, duration)
    elif scenario == "post":
        figures = run_wrk(server.port, "post.lua", "/webhook/messages", connections, duration, (f"{run_id}c{connections}", AUTH))
    else:
        figures = run_wrk(server.port, "get.lua", order_path, connections, duration, (AUTH,))
    figures["peak_rss_mb"] = server.peak_rss_mb()
    return figures


def seed_order(port, order_id, count):
    """Stores `count` messages in one order through the API, so GET serves a realistic body."""
    for n in range(count):
        body = json.dumps({
            "order_id": order_id, "message_id": f"MSG-{n:03d}", "order_number": "ORD-2025-001",
            "from_name": "John Smith", "text": f"Message {n}: the title commitment is attached for review.",
            "created_date": "2025-10-28T10:30:00Z", "read": n % 2 == 0,
            "attachments": [{"_id": f"ATT-{n}", "name": "commitment.pdf", "url": "https://example.com/files/commitment.pdf", "tag": "title"}],
            "message_type": "message.received" if n % 3 else "message.sent", "timestamp": "2025-10-28T10:30:00Z",
        })
        status = http_status(port, "POST", "/webhook/messages", body)
        if status != 200:
            raise RuntimeError(f"seeding {order_id} answered {status}")
    return f"/webhook/messages/{order_id}"


def store_environment(store, workdir, moto_endpoint):
    if store == "sqlite":
        return {"STORE": "sqlite", "SQLITE_PATH": os.path.join(workdir, "messages.sqlite")}
    table = f"bench-{int(time.time() * 1000)}"
    return {"STORE": "dynamodb", "DYNAMODB_TABLE": table, "AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint, **AWS_TEST_ENV}


def create_table(binary, environment):
    subprocess.run([binary, "create-table"], env={**os.environ, **environment}, check=True, stdout=subprocess.DEVNULL)


def bench_store(store, binary, args, moto_endpoint, results):
    workdir = tempfile.mkdtemp(prefix=f"qualia-bench-{store}-")
    environment = store_environment(store, workdir, moto_endpoint)
    if store == "dynamodb":
        create_table(binary, environment)
    try:
        startups = []
        for _ in range(args.startups):
            probe = Server(binary, workdir, environment)
            startups.append(probe.startup_ms)
            probe.stop()
        results["startup_ms"][store] = {"median": statistics.median(startups), "max": max(startups), "runs": len(startups)}
        print(f"{store}: start to first healthy response: median {statistics.median(startups):.1f} ms, max {max(startups):.1f} ms "
              f"over {len(startups)} starts", flush=True)

        server = Server(binary, workdir, environment)
        try:
            order_path = seed_order(server.port, f"QO-BENCH-GET-{store}", 20)
            run_id = str(int(time.time()))
            # A short warm-up, so the first measured scenario does not pay for cold caches.
            run_wrk(server.port, "health.lua", "/health", 8, 1)
            for connections in args.connections:
                # GET before POST: moto's Query slows as its table grows, so this keeps the
                # DynamoDB GET figure about our client more than about moto's table scan.
                for scenario in ("health", "get", "post"):
                    figures = measure(server, scenario, connections, args.duration, run_id, order_path)
                    results["runs"].append({"store": store, "scenario": scenario, "connections": connections, "fill": 0, **figures})
                    print_row(store, scenario, connections, 0, figures, results)
        finally:
            exit_code = server.stop()
            if exit_code != 0:
                raise RuntimeError(f"server exited with {exit_code} on SIGTERM; log: {server.log_path}")

        if store == "sqlite":
            bench_without_listing_cache(binary, args, environment, workdir, results)
        if store == "sqlite" and args.fill > 0:
            bench_filled_sqlite(binary, args, environment, workdir, results)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def bench_without_listing_cache(binary, args, environment, workdir, results):
    """GET with LISTING_CACHE_BYTES=0: every request decodes the rows and encodes the answer,
    as when every read finds its order changed since the last one (the worst case)."""
    server = Server(binary, workdir, {**environment, "LISTING_CACHE_BYTES": "0"})
    try:
        order_path = seed_order(server.port, "QO-BENCH-GET-UNCACHED", 20)
        run_wrk(server.port, "health.lua", "/health", 8, 1)
        connections = 32 if 32 in args.connections else args.connections[0]
        for scenario in ("health", "get"):
            figures = measure(server, scenario, connections, args.duration, "uncached", order_path)
            results["runs"].append({"store": "sqlite", "scenario": scenario, "connections": connections, "fill": 0,
                                    "variant": "listing cache off", **figures})
            print_row("sqlite", scenario, connections, 0, figures, results, variant="listing cache off")
    finally:
        server.stop()


def fill_sqlite(path, count):
    """Adds `count` messages (10 per order, realistic sizes) straight into the SQLite file."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    attachments = json.dumps([{"_id": "ATT-1", "name": "document.pdf", "url": "https://example.com/files/document.pdf", "tag": "contract"}],
                             separators=(",", ":"))
    text = "Closing documents are ready for review. Please sign by Friday."

    def rows():
        for n in range(count):
            order = f"QO-FILL-{n // 10:07d}"
            message_id = f"MSG-{n:08d}"
            message_type = "message.received" if n % 2 else "message.sent"
            yield (f"MESSAGE#{order}", f"{message_type}#{message_id}", order, message_id, message_type, "John Smith", text,
                   "2025-10-28T10:30:00Z", n % 2, 1761647400000 + n, "2025-10-28T10:30:05Z", "ORD-2025-001", attachments)

    with connection:
        connection.executemany(
            "INSERT OR IGNORE INTO messages (PK, SK, orderId, messageId, messageType, fromName, text, createdDate, read, "
            "timestamp, storedAt, orderNumber, attachments) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows())
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    total = connection.execute("SELECT count(*) FROM messages").fetchone()[0]
    connection.close()
    return total


def bench_filled_sqlite(binary, args, environment, workdir, results):
    started = time.perf_counter()
    total = fill_sqlite(environment["SQLITE_PATH"], args.fill)
    fill_seconds = time.perf_counter() - started
    size_mb = os.path.getsize(environment["SQLITE_PATH"]) / 1e6
    results["fill"] = {"added": args.fill, "messages": total, "seconds": fill_seconds, "file_mb": size_mb,
                       "how": "Python's sqlite3, executemany in one transaction, into the file the server created"}
    print(f"sqlite: added {args.fill} messages in {fill_seconds:.1f} s, {total} in all ({size_mb:.0f} MB file)", flush=True)
    # The file stays in the page cache, as it would on a server that has been running a while.
    subprocess.run(["sync"])
    server = Server(binary, workdir, environment)
    try:
        order_path = seed_order(server.port, "QO-BENCH-GET-FILLED", 20)
        run_id = f"filled{int(time.time())}"
        run_wrk(server.port, "health.lua", "/health", 8, 1)
        connections = 32 if 32 in args.connections else args.connections[0]
        for scenario in ("health", "post", "get"):
            figures = measure(server, scenario, connections, args.duration, run_id, order_path)
            results["runs"].append({"store": "sqlite", "scenario": scenario, "connections": connections, "fill": total, **figures})
            print_row("sqlite", scenario, connections, total, figures, results)
    finally:
        server.stop()


def bench_auth_failures(binary, args, results):
    """Failing authentications over few and many client addresses (see the module's doc)."""
    workdir = tempfile.mkdtemp(prefix="qualia-bench-auth-")
    environment = {
        **store_environment("sqlite", workdir, None),
        "CLIENT_ADDRESS_HEADER": "X-Forwarded-For",
        # Count every failure but never lock: a locked address is refused before counting.
        "AUTH_FAILURE_LIMIT": "1000000",
    }
    wrong = base64.b64encode(f"{USER}:wrong-password".encode()).decode()
    connections = 32 if 32 in args.connections else args.connections[0]
    server = Server(binary, workdir, environment)
    try:
        run_wrk(server.port, "health.lua", "/health", 8, 1)

        def failing(rotation, first, duration=args.duration):
            server.reset_peak_rss()
            figures = run_wrk(server.port, "auth_failures.lua", "/webhook/messages/QO-1", connections, duration,
                              (wrong, str(rotation), str(first)))
            figures["peak_rss_mb"] = server.peak_rss_mb()
            return figures

        rows = [("health", measure(server, "health", connections, args.duration, "auth", "/health"))]
        rows.append(("401, 10 addresses", failing(10, 0)))
        # Touch each of 100,000 addresses at least once before measuring over them.
        touched = 0
        while touched < 100_000:
            touched += failing(100_000, touched, duration=5)["requests"]
        rows.append(("401, 100,000 addresses", failing(100_000, touched)))
        # Addresses never seen: the table is full, so each request evicts a record.
        rows.append(("401, a new address each", failing(0, 1_000_000)))
        ceiling = rows[0][1]["rps"]
        print(f"auth failures at c={connections} (SQLite):", flush=True)
        for label, figures in rows:
            results["runs"].append({"store": "sqlite", "scenario": label, "connections": connections, "fill": 0,
                                    "variant": "auth failures", **figures})
            print(f"  {label:26} {figures['rps']:9.0f} req/s  ratio {figures['rps'] / ceiling:6.1%}  "
                  f"{1e6 / figures['rps']:7.1f} us/request  p50 {figures['p50_ms']:6.2f} ms  p99 {figures['p99_ms']:6.2f} ms  "
                  f"non-2xx {figures['non_2xx']} of {figures['requests']}  peak RSS {figures['peak_rss_mb']:.1f} MB", flush=True)
        few, many = rows[1][1]["rps"], rows[2][1]["rps"]
        print(f"  100,000 addresses vs 10: {few / many:.2f}x the time per failing request", flush=True)
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def print_row(store, scenario, connections, fill, figures, results, variant=""):
    ceiling = next((r["rps"] for r in results["runs"]
                    if r["store"] == store and r["scenario"] == "health" and r["connections"] == connections and r["fill"] == fill
                    and r.get("variant", "") == variant), None)
    ratio = f"{figures['rps'] / ceiling:6.1%}" if ceiling else "     -"
    label = ("filled " if fill else "") + (f"({variant}) " if variant else "")
    print(f"{store:8} {label}{scenario:6} c={connections:<3} {figures['rps']:9.0f} req/s  ratio {ratio}  "
          f"p50 {figures['p50_ms']:7.2f} ms  p99 {figures['p99_ms']:7.2f} ms  p99.9 {figures['p999_ms']:7.2f} ms  "
          f"non-2xx {figures['non_2xx']}  socket errors {figures['socket_errors']}  peak RSS {figures['peak_rss_mb']:.1f} MB",
          flush=True)


def start_moto():
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="moto-", suffix=".log", delete=False)
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1).read()
            return process, endpoint
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"moto_server did not start; log: {log.name}")


@contextlib.contextmanager
def dynamodb_endpoint(stores):
    """DYNAMODB_TEST_ENDPOINT, or a moto server of the run's own while the stores need one."""
    endpoint = os.environ.get("DYNAMODB_TEST_ENDPOINT")
    if "dynamodb" not in stores or endpoint:
        yield endpoint
        return
    moto, endpoint = start_moto()
    try:
        yield endpoint
    finally:
        moto.terminate()
        moto.wait()


def write_json(args, results):
    """Every figure of the run, to --json when given."""
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--stores", default="sqlite,dynamodb")
    parser.add_argument("--connections", default="1,32,256")
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--fill", type=int, default=1_000_000, help="messages to fill the SQLite store with (0: skip)")
    parser.add_argument("--startups", type=int, default=5, help="how many starts to time")
    parser.add_argument("--smoke", action="store_true", help="a short run that checks the benchmark still works")
    parser.add_argument("--json", help="also write every figure to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument("--auth-failures", action="store_true", help="measure failing authentications over many addresses only")
    parser.add_argument("--listing-memory", action="store_true", help="measure peak RSS under concurrent GETs of one large order")
    parser.add_argument("--listing-messages", type=int, default=100, help="messages in the large order")
    parser.add_argument("--listing-text-bytes", type=int, default=199_000, help="text bytes per message of the large order (the most is 200,000)")
    parser.add_argument("--listing-clients", type=int, default=8, help="concurrent GETs per round")
    parser.add_argument("--listing-rounds", type=int, default=5, help="rounds of concurrent GETs")
    parser.add_argument("--dynamodb-cpu", action="store_true",
                        help="measure the service's CPU per DynamoDB POST through a keep-alive front to moto (1 and 8 connections)")
    parser.add_argument("--reader", action="store_true",
                        help="measure the reader's side on SQLite: pages, PATCH, the orders list, a conversation page, POST")
    parser.add_argument("--perf-data", help="with --dynamodb-cpu: also record a perf profile of a further run at 8 connections "
                        "here; with --attachments, of one further download")
    parser.add_argument("--listing-peak-limit-mb", type=float, default=96, help="SQLite peak RSS that fails the run")
    feed_bench.add_arguments(parser)
    search_bench.add_arguments(parser)
    attachments_bench.add_arguments(parser)
    metrics_bench.add_arguments(parser)
    tls_bench.add_arguments(parser)
    args = parser.parse_args()
    if args.smoke:
        args.duration, args.connections, args.fill, args.startups = 1, "1,8", 1000, 1
        args.listing_messages, args.listing_rounds = 12, 1
    args.binary = os.path.abspath(args.binary)
    args.connections_given = "--connections" in sys.argv[1:] or any(a.startswith("--connections=") for a in sys.argv[1:])
    args.connections = [int(c) for c in str(args.connections).split(",")]
    stores = args.stores.split(",")
    if args.listing_memory:
        return listing_memory_main(args, stores)
    if args.feed:
        if args.smoke:
            args.feed_connections = 8
        return feed_bench.feed_main(args, stores)
    if args.search:
        return search_bench.search_main(args)
    if args.attachments:
        return attachments_bench.attachments_main(args)
    if args.metrics:
        return metrics_bench.metrics_main(args)
    if args.tls:
        return tls_bench.tls_main(args)

    results = {"machine": machine_facts(), "args": {k: v for k, v in vars(args).items() if k != "json"},
               "startup_ms": {}, "runs": []}
    if args.auth_failures:
        bench_auth_failures(args.binary, args, results)
        write_json(args, results)
        return 0
    if args.dynamodb_cpu:
        bench_dynamodb_cpu(args.binary, args, results)
        write_json(args, results)
        return 0
    if args.reader:
        bench_reader(args.binary, args, results)
        write_json(args, results)
        return 0
    with dynamodb_endpoint(stores) as moto_endpoint:
        for store in stores:
            bench_store(store, args.binary, args, moto_endpoint, results)
            if args.smoke:
                # A small large-order round too, so the streamed GET path stays exercised.
                results.setdefault("listing_memory", [])
                bench_listing_memory(store, args.binary, args, moto_endpoint, results)
    write_json(args, results)
    # Any non-2xx on SQLite fails the run. On DynamoDB the ceiling is moto, a single Python
    # process whose Query scans its whole table: when it falls behind, the service answers 503
    # with Retry-After after its bounded retries, as designed, so those are reported only.
    failures = [r for r in results["runs"] if r["non_2xx"] or r["socket_errors"]]
    for r in failures:
        verdict = "FAILED" if r["store"] == "sqlite" else "note (moto fell behind)"
        print(f"{verdict}: {r['store']} {r['scenario']} c={r['connections']}: {r['non_2xx']} non-2xx, {r['socket_errors']} socket errors")
    listing_failures = [f for f in results.get("listing_memory", []) if f["errors"] or not f["same_length"]]
    for figures in listing_failures:
        print(f"FAILED: {figures['store']} large-order GET: {figures['errors'][:3]}")
    return 1 if any(r["store"] == "sqlite" for r in failures) or listing_failures else 0


def seed_large_order(port, order_id, count, text_bytes):
    """Stores `count` messages of `text_bytes` of text each in one order, through the API."""
    for n in range(count):
        body = json.dumps({
            "order_id": order_id, "message_id": f"MSG-{n:04d}", "order_number": "ORD-2025-001", "from_name": "John Smith",
            "text": chr(ord("a") + n % 26) * text_bytes, "created_date": "2025-10-28T10:30:00Z", "read": False,
            "attachments": [{"_id": f"ATT-{n}", "name": "commitment.pdf", "url": "https://example.com/files/commitment.pdf"}],
            "message_type": "message.received" if n % 2 else "message.sent", "timestamp": "2025-10-28T10:30:00Z",
        })
        status = http_status(port, "POST", "/webhook/messages", body, timeout=30)
        if status != 200:
            raise RuntimeError(f"seeding {order_id} answered {status}")
    return f"/webhook/messages/{order_id}"


def read_listing(port, path, check):
    """GETs a listing and reads it to the end in 64 KB pieces; returns its length in bytes."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("GET", path, headers={"Authorization": "Basic " + AUTH})
        response = connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}")
        pieces, length = [], 0
        while True:
            piece = response.read(65536)
            if not piece:
                break
            length += len(piece)
            if check:
                pieces.append(piece)
        if check:
            listing = json.loads(b"".join(pieces))
            if listing["count"] != len(listing["messages"]):
                raise RuntimeError(f"count {listing['count']} but {len(listing['messages'])} messages")
        return length
    finally:
        connection.close()


def bench_listing_memory(store, binary, args, moto_endpoint, results):
    workdir = tempfile.mkdtemp(prefix=f"qualia-bench-listing-{store}-")
    environment = store_environment(store, workdir, moto_endpoint)
    if store == "dynamodb":
        create_table(binary, environment)
    server = Server(binary, workdir, environment)
    try:
        started = time.perf_counter()
        path = seed_large_order(server.port, f"QO-BENCH-LISTING-{store}", args.listing_messages, args.listing_text_bytes)
        seed_seconds = time.perf_counter() - started
        seeded_peak = server.peak_rss_mb()
        server.reset_peak_rss()
        before = server.peak_rss_mb()
        lengths, errors, seconds = [], [], []
        for round_number in range(args.listing_rounds):
            round_lengths = [None] * args.listing_clients

            def client(index, first_round=(round_number == 0)):
                try:
                    round_lengths[index] = read_listing(server.port, path, check=first_round and index == 0)
                except Exception as error:  # reported below
                    errors.append(repr(error))

            threads = [threading.Thread(target=client, args=(i,)) for i in range(args.listing_clients)]
            round_started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds.append(time.perf_counter() - round_started)
            lengths += round_lengths
        peak = server.peak_rss_mb()
        body_mb = max((n for n in lengths if n), default=0) / 1e6
        same_length = len({n for n in lengths if n}) <= 1
        figures = {"store": store, "messages": args.listing_messages, "text_bytes": args.listing_text_bytes, "body_mb": body_mb,
                   "clients": args.listing_clients, "rounds": args.listing_rounds, "seed_seconds": seed_seconds,
                   "peak_rss_while_seeding_mb": seeded_peak, "rss_before_mb": before, "peak_rss_during_gets_mb": peak,
                   "median_round_seconds": statistics.median(seconds), "errors": errors, "same_length": same_length}
        results["listing_memory"].append(figures)
        print(f"{store:8} listing memory: {args.listing_messages} messages, {body_mb:.1f} MB per answer, "
              f"{args.listing_clients} concurrent GETs x {args.listing_rounds} rounds (median round {figures['median_round_seconds']:.2f} s): "
              f"RSS before {before:.1f} MB, peak during GETs {peak:.1f} MB "
              f"(peak while seeding {seeded_peak:.1f} MB); errors {len(errors)}", flush=True)
        for error in errors[:5]:
            print(f"  error: {error}")
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def listing_memory_main(args, stores):
    results = {"machine": machine_facts(), "args": {k: v for k, v in vars(args).items() if k != "json"}, "listing_memory": []}
    with dynamodb_endpoint(stores) as moto_endpoint:
        for store in stores:
            bench_listing_memory(store, args.binary, args, moto_endpoint, results)
    write_json(args, results)
    failed = False
    for figures in results["listing_memory"]:
        problems = []
        if figures["errors"] or not figures["same_length"]:
            problems.append("failed or inconsistent answers")
        if figures["store"] == "sqlite" and figures["peak_rss_during_gets_mb"] >= args.listing_peak_limit_mb:
            problems.append(f"peak RSS {figures['peak_rss_during_gets_mb']:.1f} MB >= {args.listing_peak_limit_mb} MB")
        for problem in problems:
            print(f"FAILED: {figures['store']} listing memory: {problem}")
        failed = failed or bool(problems)
    return 1 if failed else 0


NGINX_CONFIG = """\
worker_processes 1;
daemon off;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream moto {{
        server 127.0.0.1:{upstream_port};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        keepalive_requests 1000000;
        keepalive_timeout 120s;
        client_max_body_size 64m;
        location / {{
            proxy_pass http://moto;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
        }}
    }}
}}
"""


@contextlib.contextmanager
def nginx(config_template, probe_path, **values):
    """nginx on a free loopback port, with `config_template` filled in with `prefix`, `port` and
    `values`; its own prefix, pid and logs in a temp folder. Yields its base URL once
    `probe_path` answers; stops it and removes the folder afterwards."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    prefix = tempfile.mkdtemp(prefix="qualia-bench-nginx-")
    port = free_port()
    config = os.path.join(prefix, "nginx.conf")
    with open(config, "w") as f:
        f.write(config_template.format(prefix=prefix, port=port, **values))
    log = open(os.path.join(prefix, "stdout.log"), "wb")
    process = subprocess.Popen([binary, "-p", prefix, "-c", config], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            if process.poll() is not None:
                raise RuntimeError(f"nginx exited with {process.returncode}; see {prefix}")
            try:
                urllib.request.urlopen(base + probe_path, timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"nginx did not answer {probe_path}; see {prefix}")
        yield base
    finally:
        process.terminate()
        process.wait()
        log.close()
        shutil.rmtree(prefix, ignore_errors=True)


@contextlib.contextmanager
def keep_alive_front(upstream_endpoint):
    """nginx on a free loopback port, proxying to `upstream_endpoint` and keeping the client's
    connections open whatever the upstream answers (see ``nginx``)."""
    upstream_port = int(upstream_endpoint.rsplit(":", 1)[1].rstrip("/"))
    with nginx(NGINX_CONFIG, "/moto-api/", upstream_port=upstream_port) as endpoint:
        yield endpoint


def process_cpu_seconds(pid):
    """(utime, stime) of a process, in seconds (fields 14 and 15 of /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state), so utime (14) and stime (15) are fields[11] and fields[12].
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def context_switches(pid):
    """Voluntary and involuntary context switches of all of a process's threads so far."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/status") as f:
                total += sum(int(line.split()[1]) for line in f
                             if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")))
        except OSError:  # a thread that ended meanwhile
            pass
    return total


def bench_dynamodb_cpu(binary, args, results):
    """Service CPU per DynamoDB POST, through a keep-alive front to moto (see the module's doc)."""
    workdir = tempfile.mkdtemp(prefix="qualia-bench-dynamodb-cpu-")
    connection_counts = args.connections if args.connections_given else [1, 8]
    with dynamodb_endpoint(["dynamodb"]) as moto_endpoint, keep_alive_front(moto_endpoint) as front:
        environment = store_environment("dynamodb", workdir, front)
        create_table(binary, environment)
        server = Server(binary, workdir, environment)
        try:
            run_id = f"cpu{int(time.time())}"
            # Warm-up: the connection pool, credentials, signing key and allocator settle.
            run_wrk(server.port, "post.lua", "/webhook/messages", 8, 2, (f"{run_id}w", AUTH))
            print(f"dynamodb CPU per POST (moto {moto_endpoint} behind nginx {front}):", flush=True)
            for connections in connection_counts:
                user_before, system_before = process_cpu_seconds(server.process.pid)
                switches_before = context_switches(server.process.pid)
                figures = run_wrk(server.port, "post.lua", "/webhook/messages", connections, args.duration,
                                  (f"{run_id}c{connections}", AUTH))
                user_after, system_after = process_cpu_seconds(server.process.pid)
                figures["context_switches_per_request"] = (context_switches(server.process.pid) - switches_before) / max(1, figures["requests"])
                user, system = user_after - user_before, system_after - system_before
                cpu = user + system
                figures["cpu_seconds"] = cpu
                figures["user_ms_per_request"] = user * 1000 / max(1, figures["requests"])
                figures["system_ms_per_request"] = system * 1000 / max(1, figures["requests"])
                figures["cpu_ms_per_request"] = cpu * 1000 / max(1, figures["requests"])
                figures["peak_rss_mb"] = server.peak_rss_mb()
                results["runs"].append({"store": "dynamodb", "scenario": "post", "connections": connections, "fill": 0,
                                        "variant": "service CPU, keep-alive front", **figures})
                print(f"  POST c={connections:<3} {figures['rps']:7.0f} req/s  p50 {figures['p50_ms']:7.2f} ms  "
                      f"p99 {figures['p99_ms']:7.2f} ms  non-2xx {figures['non_2xx']}  socket errors {figures['socket_errors']}  "
                      f"service CPU {cpu:.2f} s for {figures['requests']} requests: "
                      f"{figures['cpu_ms_per_request']:.3f} ms per request (user {figures['user_ms_per_request']:.3f}, "
                      f"system {figures['system_ms_per_request']:.3f}); "
                      f"{figures['context_switches_per_request']:.1f} context switches per request", flush=True)
            if args.perf_data:
                perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-g", "-p", str(server.process.pid),
                                         "-o", args.perf_data], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.5)
                run_wrk(server.port, "post.lua", "/webhook/messages", 8, args.duration, (f"{run_id}perf", AUTH))
                perf.send_signal(signal.SIGINT)
                perf.wait()
                print(f"  profile of a further {args.duration} s at c=8 in {args.perf_data}; read it with "
                      f"perf report -i {args.perf_data} --no-children --sort symbol", flush=True)
        finally:
            server.stop()
    try:
        bench_rate_matched_baselines(binary, args, workdir, results)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def measure_cpu(server, script, path, connections, duration, script_args=()):
    """One wrk run against `server`, with the server's CPU per request beside wrk's figures."""
    user_before, system_before = process_cpu_seconds(server.process.pid)
    figures = run_wrk(server.port, script, path, connections, duration, script_args)
    user_after, system_after = process_cpu_seconds(server.process.pid)
    figures["cpu_ms_per_request"] = (user_after - user_before + system_after - system_before) * 1000 / max(1, figures["requests"])
    return figures


def bench_rate_matched_baselines(binary, args, workdir, results):
    """What `/health` and a SQLite POST cost at the rate each DynamoDB run reached.

    An event loop that wakes for every request pays the wake-ups again each time, so CPU per
    request rises as the rate falls: moto allows a few hundred POSTs per second, where SQLite
    runs thousands. wrk paces each connection (bench/pace.lua) to the DynamoDB run's rate, so
    the three figures differ only by what each request does."""
    dynamodb_runs = [run for run in results["runs"] if run["store"] == "dynamodb" and run["scenario"] == "post"]
    server = Server(binary, workdir, store_environment("sqlite", workdir, None))
    try:
        run_id = f"paced{int(time.time())}"
        run_wrk(server.port, "post.lua", "/webhook/messages", 8, 2, (f"{run_id}w", AUTH))
        print("the same rates on SQLite, paced (bench/pace.lua):", flush=True)
        for dynamodb in dynamodb_runs:
            connections = dynamodb["connections"]
            pace_ms = max(1, round(connections * 1000 / max(1.0, dynamodb["rps"])))
            os.environ["BENCH_PACE_MS"] = str(pace_ms)
            try:
                health = measure_cpu(server, "health.lua", "/health", connections, args.duration)
                post = measure_cpu(server, "post.lua", "/webhook/messages", connections, args.duration,
                                   (f"{run_id}c{connections}", AUTH))
            finally:
                del os.environ["BENCH_PACE_MS"]
            for scenario, figures in (("health", health), ("post", post)):
                results["runs"].append({"store": "sqlite", "scenario": scenario, "connections": connections, "fill": 0,
                                        "variant": f"paced {pace_ms} ms per connection", **figures})
            print(f"  c={connections:<3} paced {pace_ms} ms: GET /health {health['rps']:5.0f} req/s "
                  f"{health['cpu_ms_per_request']:.3f} ms CPU per request; SQLite POST {post['rps']:5.0f} req/s "
                  f"{post['cpu_ms_per_request']:.3f} ms; DynamoDB POST {dynamodb['rps']:5.0f} req/s "
                  f"{dynamodb['cpu_ms_per_request']:.3f} ms", flush=True)
    finally:
        server.stop()


def http_json(port, path, timeout=10):
    """GET `path` with the webhook credentials; the answer's JSON."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Authorization": "Basic " + AUTH})
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}: {body[:200]!r}")
        return json.loads(body)
    finally:
        connection.close()


def fill_through_api(server, mode, prefix, per_thread):
    """Stores 2 x `per_thread` messages through the API with bench/fill.lua (see there), running
    wrk until every one is in: in one order (`order`) or each in an order of its own (`orders`)."""
    started = time.perf_counter()
    total = 0
    while True:
        # At a few thousand POSTs a second; a wrapped request is a duplicate, so overshooting is harmless.
        seconds = max(2, min(60, round(2 * per_thread / 2500)))
        figures = run_wrk(server.port, "fill.lua", "/webhook/messages", 32, seconds, (AUTH, mode, prefix, str(per_thread)))
        total += figures["requests"]
        if figures["non_2xx"]:
            raise RuntimeError(f"filling {prefix} answered {figures['non_2xx']} non-2xx")
        if total >= 2 * per_thread * 1.05:
            break
    return time.perf_counter() - started


def bench_reader(binary, args, results):
    """The reader's side on SQLite at 32 connections (issue 11): pages of a 10,000-message
    order (the first and the 100th), PATCH, a 50-order page over 100,000 orders, a 100-message
    conversation page, and POST, each beside the same run's /health."""
    workdir = tempfile.mkdtemp(prefix="qualia-bench-reader-")
    environment = store_environment("sqlite", workdir, None)
    connections = 32 if 32 in args.connections else args.connections[0]
    big_order, big_count = "QO-BENCH-BIG", (10_000 if not args.smoke else 200)
    orders_count = 100_000 if not args.smoke else 1000
    server = Server(binary, workdir, environment)
    try:
        fill_seconds = fill_through_api(server, "order", big_order, big_count // 2)
        fill_seconds += fill_through_api(server, "orders", "QO-BENCH-ORDERS", orders_count // 2)
        page = http_json(server.port, f"/webhook/messages/{big_order}?limit=1")
        listed = http_json(server.port, "/webhook/orders?limit=1")
        print(f"sqlite reader: filled {big_count} messages in {big_order} and {orders_count} orders through the API "
              f"in {fill_seconds:.0f} s", flush=True)
        # The cursor of the 100th 100-message page (the last one's on a smoke run).
        path, cursor = f"/webhook/messages/{big_order}?limit=100", None
        for _ in range(min(99, big_count // 100 - 1)):
            cursor = http_json(server.port, path + (f"&cursor={cursor}" if cursor else ""))["next_cursor"]
        scenarios = [
            ("health", "health.lua", "/health", ()),
            ("page 1", "get.lua", path, (AUTH,)),
            ("page 100", "get.lua", f"{path}&cursor={cursor}", (AUTH,)),
            ("patch", "patch.lua", "/webhook/messages", (AUTH, big_order, str(big_count))),
            ("orders", "get.lua", "/webhook/orders?limit=50", (AUTH,)),
            ("conversation", "get.lua", f"/webhook/orders/{big_order}/conversation?limit=100", (AUTH,)),
            ("post", "post.lua", "/webhook/messages", (f"reader{int(time.time())}", AUTH)),
        ]
        # Let the checkpointer copy the fill's log into the database before measuring, or the
        # first scenario pays for it (page 1 ran 20% slower than page 100 without this).
        time.sleep(3 if not args.smoke else 0)
        run_wrk(server.port, "health.lua", "/health", 8, 1)
        health = None
        for name, script, url, script_args in scenarios:
            server.reset_peak_rss()
            figures = run_wrk(server.port, script, url, connections, args.duration, script_args)
            figures["peak_rss_mb"] = server.peak_rss_mb()
            health = health or figures["rps"]
            results["runs"].append({"store": "sqlite", "scenario": name, "connections": connections, "fill": big_count + orders_count,
                                    "variant": "reader", **figures})
            print(f"sqlite reader {name:12} c={connections:<3} {figures['rps']:8.0f} req/s  ratio {figures['rps'] / health:6.1%}  "
                  f"p50 {figures['p50_ms']:6.2f} ms  p99 {figures['p99_ms']:6.2f} ms  non-2xx {figures['non_2xx']}  "
                  f"socket errors {figures['socket_errors']}  peak RSS {figures['peak_rss_mb']:.1f} MB", flush=True)
        runs = {run["scenario"]: run for run in results["runs"] if run.get("variant") == "reader"}
        first, hundredth = runs["page 1"]["rps"], runs["page 100"]["rps"]
        print(f"sqlite reader: page 100 / page 1 throughput {hundredth / first:.2f}; p99 page 1 {runs['page 1']['p99_ms']:.2f} ms, "
              f"page 100 {runs['page 100']['p99_ms']:.2f} ms", flush=True)
        if any(run["non_2xx"] for run in runs.values()):
            raise RuntimeError("a reader scenario answered non-2xx")
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def machine_facts():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "unknown")
    return {"cpu": cpu, "cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d"), "kernel": os.uname().release}


if __name__ == "__main__":
    sys.exit(main())
