"""The change feed and the live stream (issue 12), for `bench/run --feed` (see bench.py).

Scenarios (SQLite, one release server, unless --smoke):
  1. live latency and POST throughput: --feed-subscribers WebSocket subscribers, each
     following an order of its own (`order_id=`), while wrk POSTs at 32 connections spread
     over those orders (bench/feed_post.lua); the POST rate as a ratio to the same wrk run
     without subscribers (before and after), and POST-acknowledgement-to-event latency from a
     probe: a client that POSTs to an order of its own every ~10 ms and a subscriber of that
     order. Then the same with --feed-fanout subscribers that follow every event (full
     fan-out), the probe's subscriber being one of them.
  2. --feed-idle idle subscribers: the server's RSS, then one POST that all of them receive.
  3. `GET /webhook/feed?after=<cursor>&limit=1000` at random cursors over a feed of
     --feed-events events, written straight into the SQLite file.
  4. DynamoDB (moto): POSTs to one instance, the probe's subscriber on another one on the same
     table. Skipped, and said so, while the DynamoDB feed answers 503.

The WebSocket client is a minimal one of its own (asyncio, RFC 6455 client frames: masked
pongs and close, server frames read unmasked), so that a few thousand frames a second and
10,000 connections cost one Python process little. Every frame a subscriber receives is
checked: it is JSON-looking text with a `cursor`, and (when it follows one) of its order.
Any lost event, unexpected close or wrong frame fails the run; speed never does.
"""

import asyncio
import base64
import http.client
import json
import multiprocessing
import os
import random
import resource
import shutil
import sqlite3
import statistics
import struct
import subprocess
import tempfile
import threading
import time

import bench as common

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC11B85"


# MARK: A minimal WebSocket client

class StreamClient(asyncio.Protocol):
    """One subscriber of /webhook/stream: upgrades, then hands each text frame to `on_frame`
    with the monotonic time its last byte was read. Answers pings; records a close's code."""

    def __init__(self, path, on_frame, connected):
        self.path, self.on_frame, self.connected = path, on_frame, connected
        self.buffer = bytearray()
        self.upgraded = False
        self.closed_code = None
        self.lost = False
        self.transport = None
        self.frames = 0

    def connection_made(self, transport):
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((f"GET {self.path} HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                         f"Authorization: Basic {common.AUTH}\r\n\r\n").encode())

    def data_received(self, data):
        now = time.monotonic()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            del self.buffer[:end + 4]
            if not head.startswith(b"HTTP/1.1 101"):
                if not self.connected.done():
                    self.connected.set_exception(RuntimeError(f"upgrade refused: {head.splitlines()[0]!r}"))
                self.transport.close()
                return
            self.upgraded = True
            if not self.connected.done():
                self.connected.set_result(self)
        buffer = self.buffer
        offset = 0
        while len(buffer) - offset >= 2:
            first, second = buffer[offset], buffer[offset + 1]
            length, header = second & 0x7F, 2
            if length == 126:
                if len(buffer) - offset < 4:
                    break
                length, header = struct.unpack_from("!H", buffer, offset + 2)[0], 4
            elif length == 127:
                if len(buffer) - offset < 10:
                    break
                length, header = struct.unpack_from("!Q", buffer, offset + 2)[0], 10
            if len(buffer) - offset < header + length:
                break
            payload = bytes(buffer[offset + header:offset + header + length])
            offset += header + length
            opcode = first & 0x0F
            if opcode == 0x1:
                self.frames += 1
                self.on_frame(self, payload, now)
            elif opcode == 0x9:
                self.send(0xA, payload)
            elif opcode == 0x8:
                self.closed_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.send(0x8, payload[:2])
                self.transport.close()
        del buffer[:offset]

    def send(self, opcode, payload):
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        length = len(payload)
        header = bytes([0x80 | opcode, 0x80 | length]) if length < 126 else bytes([0x80 | opcode, 0xFE]) + struct.pack("!H", length)
        self.transport.write(header + mask + masked)

    def close(self):
        if self.transport and not self.transport.is_closing():
            self.send(0x8, struct.pack("!H", 1000))
            self.transport.close()

    def connection_lost(self, exc):
        self.lost = True
        if not self.connected.done():
            self.connected.set_exception(RuntimeError(f"connection lost before the upgrade: {exc}"))


async def connect_stream(port, path, on_frame):
    loop = asyncio.get_running_loop()
    connected = loop.create_future()
    await loop.create_connection(lambda: StreamClient(path, on_frame, connected), "127.0.0.1", port)
    return await asyncio.wait_for(connected, 30)


def stream_path(order_id=None, after=None):
    query = []
    if after:
        query.append(f"after={after}")
    if order_id:
        query.append(f"order_id={order_id}")
    return "/webhook/stream" + ("?" + "&".join(query) if query else "")


def end_cursor(port):
    """The cursor of the feed's end now (`after=now`'s next_cursor)."""
    return common.http_json(port, "/webhook/feed?after=now&limit=1")["next_cursor"]


def raise_open_files():
    """Raises this process's open-file limit (children inherit it) as far as allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1 << 20
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# MARK: Many subscribers, in a process of their own

def swarm_main(port, orders, after, connection, concurrency):
    """The child process: one subscriber per entry of `orders` (an order id, or None for every
    event), each after the cursor `after`, connected `concurrency` at a time. Answers "stats"
    and "stop" on `connection`."""
    raise_open_files()
    state = {"frames": [0] * len(orders), "bad": 0, "bad_examples": []}
    clients = []

    def on_frame(index, expected_order):
        needle = None if expected_order is None else f'"order_id":"{expected_order}"'.encode()

        def handle(client, payload, now):
            state["frames"][index] += 1
            if not payload.startswith(b"{") or b'"cursor":"' not in payload or (needle is not None and needle not in payload):
                state["bad"] += 1
                if len(state["bad_examples"]) < 3:
                    state["bad_examples"].append(payload[:200].decode(errors="replace"))
        return handle

    async def main():
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        semaphore = asyncio.Semaphore(concurrency)
        failures = []

        async def one(index, order_id):
            async with semaphore:
                try:
                    client = await connect_stream(port, stream_path(order_id, after), on_frame(index, order_id))
                    client.index = index
                    clients.append(client)
                except Exception as error:  # reported, and the run fails
                    failures.append(str(error))

        await asyncio.gather(*(one(i, order) for i, order in enumerate(orders)))
        connection.send({"connected": len(clients), "failures": failures[:5], "failed": len(failures),
                         "seconds": time.monotonic() - started})
        done = asyncio.Event()

        def command():
            message = connection.recv()
            if message == "stop":
                done.set()
            connection.send(stats())

        def stats():
            frames = state["frames"]
            return {"connected": len(clients), "frames": sum(frames), "min_frames": min(frames) if frames else 0,
                    "per_subscriber": list(frames) if len(frames) <= 64 else None,
                    "closed": sum(1 for c in clients if c.lost or c.closed_code is not None),
                    # Closed with 1013: fell too far behind (a slow client), which the service does by design.
                    "slow_closed": sum(1 for c in clients if c.closed_code == 1013),
                    "min_frames_open": min((frames[c.index] for c in clients if not c.lost and c.closed_code is None), default=0),
                    "close_codes": sorted({c.closed_code for c in clients if c.closed_code is not None}),
                    "bad": state["bad"], "bad_examples": state["bad_examples"], "time": time.monotonic()}

        loop.add_reader(connection.fileno(), command)
        await done.wait()
        for client in clients:
            client.close()
        await asyncio.sleep(0.2)

    asyncio.run(main())


class Swarm:
    """Subscribers in a child process (so that their frames do not slow the probe's clock)."""

    def __init__(self, port, orders, concurrency=200):
        # From a cursor taken now: a stream without `after` starts at the feed's end as the
        # server finds it after the upgrade, which an event stored meanwhile may already be past.
        after = end_cursor(port)
        context = multiprocessing.get_context("fork")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=swarm_main, args=(port, orders, after, child, concurrency), daemon=True)
        self.process.start()
        if not self.connection.poll(300):
            raise RuntimeError("the subscribers did not connect within 300 s")
        self.connected = self.connection.recv()
        if self.connected["failed"]:
            raise RuntimeError(f"{self.connected['failed']} subscribers could not connect: {self.connected['failures']}")

    def stats(self):
        self.connection.send("stats")
        return self.connection.recv()

    def wait_for_each(self, count, timeout):
        """Polls until every subscriber has `count` frames or more; the stats then."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if stats["min_frames"] >= count or time.monotonic() > deadline:
                return stats
            time.sleep(0.01)

    def stop(self):
        try:
            self.connection.send("stop")
            stats = self.connection.recv() if self.connection.poll(30) else None
        except (OSError, EOFError):
            stats = None
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        return stats


# MARK: The probe: POST every ~10 ms, and see each event arrive

def probe_body(order_id, message_id):
    return json.dumps({
        "order_id": order_id, "message_id": message_id, "order_number": "ORD-2025-001", "from_name": "Probe",
        "text": "Probe message: the time from this POST's answer to its event at a subscriber.",
        "created_date": "2025-10-28T10:30:00Z", "read": False, "attachments": [],
        "message_type": "message.received", "timestamp": "2025-10-28T10:30:00Z",
    })


class Probe:
    """POSTs a message to `order_id` on `post_port` every `interval` seconds (one keep-alive
    connection), noting when each answer arrived; a subscriber on `stream_port` notes when
    each event arrived (following `order_id`, or every event when `follow_all`)."""

    def __init__(self, post_port, stream_port, order_id, interval=0.01, follow_all=False, timeout=5):
        self.post_port, self.stream_port, self.order_id = post_port, stream_port, order_id
        self.interval, self.follow_all, self.timeout = interval, follow_all, timeout
        self.acknowledged, self.arrived, self.failures = {}, {}, []
        self.other_frames = 0
        self.loop = asyncio.new_event_loop()
        self.stop_posting = threading.Event()
        self.client = None
        self.loop_thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.loop_thread.start()
        needle = f'"order_id":"{order_id}"'.encode()

        def on_frame(client, payload, now):
            if needle not in payload:
                self.other_frames += 1
                return
            event = json.loads(payload)
            self.arrived.setdefault(event["message_id"], now)

        path = stream_path(None if follow_all else order_id, end_cursor(stream_port))
        self.client = asyncio.run_coroutine_threadsafe(connect_stream(stream_port, path, on_frame), self.loop).result(30)

    def start(self):
        self.poster = threading.Thread(target=self._post, daemon=True)
        self.poster.start()

    def _post(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.post_port, timeout=self.timeout)
        headers = {"Authorization": "Basic " + common.AUTH, "Content-Type": "application/json"}
        n = 0
        next_at = time.monotonic()
        while not self.stop_posting.is_set():
            n += 1
            message_id = f"PROBE-{n}"
            try:
                connection.request("POST", "/webhook/messages", body=probe_body(self.order_id, message_id), headers=headers)
                response = connection.getresponse()
                response.read()
                now = time.monotonic()
                if response.status == 200:
                    self.acknowledged[message_id] = now
                else:
                    self.failures.append(f"{message_id}: {response.status}")
            except OSError as error:
                self.failures.append(f"{message_id}: {error}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.post_port, timeout=self.timeout)
            next_at += self.interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_at = time.monotonic()
        connection.close()

    def finish(self, settle=2.0):
        """Stops posting, waits up to `settle` s for the last events; the figures."""
        self.stop_posting.set()
        self.poster.join()
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline and not set(self.acknowledged) <= set(self.arrived):
            time.sleep(0.01)
        closed = self.client.closed_code
        self.loop.call_soon_threadsafe(self.client.close)
        time.sleep(0.05)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.loop_thread.join(5)
        latencies = sorted((self.arrived[m] - t) * 1000 for m, t in self.acknowledged.items() if m in self.arrived)
        missing = [m for m in self.acknowledged if m not in self.arrived]
        return {
            "posted": len(self.acknowledged), "arrived": len(latencies), "missing": len(missing), "post_failures": len(self.failures),
            "post_failure_examples": self.failures[:3], "close_code": closed,
            "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99), "max_ms": latencies[-1] if latencies else None,
            "min_ms": latencies[0] if latencies else None, "negative": sum(1 for x in latencies if x < 0),
            "other_frames": self.other_frames,
        }


def percentile(values, p):
    if not values:
        return None
    index = min(len(values) - 1, max(0, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[index]


def fmt(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


# MARK: Scenarios

def settle_frames(swarm, expected_each=None, expected_total=None, timeout=10):
    """Waits until the swarm's frames stop growing (or reach what is expected); its stats."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        stats = swarm.stats()
        if expected_total is not None and stats["frames"] >= expected_total:
            return stats
        if expected_each is not None and stats["min_frames_open"] >= expected_each:
            return stats
        if last is not None and stats["frames"] == last["frames"] and expected_total is None and expected_each is None:
            return stats
        last = stats
        time.sleep(0.25)
    return swarm.stats()


def feed_count(port, order_prefix_orders=None):
    """How many events the feed holds, read page by page through its cursors."""
    total, after = 0, None
    while True:
        page = common.http_json(port, "/webhook/feed?limit=1000" + (f"&after={after}" if after else ""))
        total += len(page["events"])
        if not page["events"]:
            return total
        after = page["next_cursor"]


def bench_live(binary, args, results, problems):
    """Scenario 1 (see the module's doc)."""
    workdir = tempfile.mkdtemp(prefix="qualia-bench-feed-live-")
    environment = common.store_environment("sqlite", workdir, None)
    connections, duration = args.feed_connections, args.duration
    subscribers, fanout = args.feed_subscribers, args.feed_fanout
    server = common.Server(binary, workdir, environment)
    rows = []
    try:
        run_id = f"{int(time.time())}"
        common.run_wrk(server.port, "health.lua", "/health", 8, 1)

        def post_run(tag, with_probe=None):
            server.reset_peak_rss()
            user0, system0 = common.process_cpu_seconds(server.process.pid)
            figures = common.run_wrk(server.port, "feed_post.lua", "/webhook/messages", connections, duration,
                                     (f"{run_id}{tag}", common.AUTH, str(subscribers), str(1 if connections == 1 else 2)))
            user1, system1 = common.process_cpu_seconds(server.process.pid)
            figures["peak_rss_mb"] = server.peak_rss_mb()
            figures["cpu_ms_per_post"] = (user1 - user0 + system1 - system0) * 1000 / max(1, figures["requests"])
            return figures

        health = common.measure(server, "health", connections, duration, run_id, "/health")
        rows.append(("GET /health", health))
        base_before = post_run("a")
        rows.append(("POST, no subscribers (before)", base_before))

        # 1,000 subscribers, each following its own order; wrk spreads its POSTs over them.
        orders = [f"QO-FEED-{run_id}b-{k}" for k in range(subscribers)]
        swarm = Swarm(server.port, orders)
        print(f"feed live: {subscribers} subscribers connected in {swarm.connected['seconds']:.1f} s", flush=True)
        probe = Probe(server.port, server.port, f"QO-FEED-PROBE-{run_id}b")
        probe.start()
        filtered = post_run("b")
        latency = probe.finish()
        stats = settle_frames(swarm, expected_total=filtered["requests"])
        swarm_end = swarm.stop()
        filtered.update({"probe": latency, "frames": stats["frames"], "closed": stats["closed"], "bad": stats["bad"]})
        rows.append((f"POST, {subscribers} subscribers of one order each", filtered))
        check_delivery(f"{subscribers} filtered subscribers", filtered, stats, latency, problems, expected=filtered["requests"])

        base_after = post_run("c")
        rows.append(("POST, no subscribers (after)", base_after))

        # Full fan-out: `fanout` subscribers of every event, the probe's subscriber among them.
        swarm = Swarm(server.port, [None] * (fanout - 1))
        probe = Probe(server.port, server.port, f"QO-FEED-PROBE-{run_id}d", follow_all=True)
        probe.start()
        full = post_run("d")
        latency = probe.finish(settle=5)
        stats = settle_frames(swarm, expected_each=full["requests"], timeout=20)
        swarm.stop()
        full.update({"probe": latency, "frames": stats["frames"], "closed": stats["closed"], "bad": stats["bad"],
                     "min_frames": stats["min_frames"], "slow_closed": stats["slow_closed"]})
        rows.append((f"POST, {fanout} subscribers of every event", full))
        check_delivery(f"{fanout} unfiltered subscribers", full, stats, latency, problems, expected_each=full["requests"])

        baseline = statistics.mean([base_before["rps"], base_after["rps"]])
        print(f"feed live, SQLite, wrk at c={connections}, {duration} s each (POSTs spread over {subscribers} orders):", flush=True)
        for label, figures in rows:
            line = (f"  {label:44} {figures['rps']:8.0f} req/s  /health {figures['rps'] / health['rps']:6.1%}  "
                    f"p50 {figures['p50_ms']:6.2f} ms  p99 {figures['p99_ms']:6.2f} ms  non-2xx {figures['non_2xx']}  "
                    f"socket errors {figures['socket_errors']}  peak RSS {figures['peak_rss_mb']:.1f} MB")
            if label.startswith("POST") and "no subscribers" not in label:
                line += f"  CPU {figures['cpu_ms_per_post']:.3f} ms/POST  vs no subscribers {figures['rps'] / baseline:6.1%}"
            print(line, flush=True)
            if "probe" in figures:
                p = figures["probe"]
                print(f"    probe: {p['posted']} POSTs, {p['arrived']} events arrived, missing {p['missing']}; "
                      f"acknowledgement to event p50 {fmt(p['p50_ms'])} ms p99 {fmt(p['p99_ms'])} ms max {fmt(p['max_ms'])} ms "
                      f"min {fmt(p['min_ms'])} ms ({p['negative']} negative: the event before the answer); "
                      f"swarm frames {figures['frames']}, closed {figures['closed']}", flush=True)
            results["runs"].append({"store": "sqlite", "scenario": label, "connections": connections, "fill": 0,
                                    "variant": "feed live", **figures})
        results["feed"]["live"] = {"baseline_rps": baseline, "filtered_ratio": filtered["rps"] / baseline,
                                   "fanout_ratio": full["rps"] / baseline, "filtered_probe": filtered["probe"],
                                   "fanout_probe": full["probe"], "health_rps": health["rps"]}
        print(f"  POST with {subscribers} subscribers / without (mean of before and after): {filtered['rps'] / baseline:.1%} "
              f"(target >= 80%); probe p99 {fmt(filtered['probe']['p99_ms'])} ms (target < 20 ms)", flush=True)
        print(f"  POST with {fanout} unfiltered subscribers / without: {full['rps'] / baseline:.1%}; "
              f"probe p99 {fmt(full['probe']['p99_ms'])} ms", flush=True)
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def check_delivery(label, figures, stats, latency, problems, expected=None, expected_each=None):
    """Records anything that says the feed or stream did not work (never slowness)."""
    if figures["non_2xx"] or figures["socket_errors"]:
        problems.append(f"{label}: wrk saw {figures['non_2xx']} non-2xx and {figures['socket_errors']} socket errors")
    # A subscriber closed with 1013 fell too far behind: slowness (of this box's clients), which
    # is noted, not failed; any other close is a failure.
    if stats["slow_closed"]:
        print(f"note: {label}: {stats['slow_closed']} subscribers were closed with 1013 (too far behind)", flush=True)
    if stats["closed"] > stats["slow_closed"]:
        problems.append(f"{label}: {stats['closed'] - stats['slow_closed']} subscribers were closed (codes {stats['close_codes']})")
    if stats["bad"]:
        problems.append(f"{label}: {stats['bad']} frames were not the subscriber's events, e.g. {stats['bad_examples']}")
    if expected is not None and stats["frames"] < expected and not stats["slow_closed"]:
        problems.append(f"{label}: {stats['frames']} events reached the subscribers of {expected} POSTs acknowledged")
    if expected_each is not None and stats["min_frames_open"] < expected_each:
        problems.append(f"{label}: a subscriber received {stats['min_frames_open']} events of {expected_each} POSTs acknowledged")
    if latency["close_code"] == 1013:
        print(f"note: {label}: the probe's subscriber was closed with 1013 (too far behind); its misses are not counted", flush=True)
    elif latency["posted"] == 0 or latency["missing"] or latency["post_failures"] or latency["close_code"] is not None:
        problems.append(f"{label}: probe posted {latency['posted']}, {latency['missing']} never arrived, "
                        f"{latency['post_failures']} POSTs failed {latency['post_failure_examples']}, close {latency['close_code']}")


def bench_idle(binary, args, results, problems):
    """Scenario 2: many idle subscribers, the server's RSS; then one POST that reaches all."""
    workdir = tempfile.mkdtemp(prefix="qualia-bench-feed-idle-")
    environment = common.store_environment("sqlite", workdir, None)
    count = args.feed_idle
    server = common.Server(binary, workdir, environment)
    try:
        common.run_wrk(server.port, "health.lua", "/health", 8, 1)
        before = current_rss_mb(server)
        server.reset_peak_rss()
        swarm = Swarm(server.port, [None] * count, concurrency=100)
        time.sleep(2)
        idle_rss, idle_peak = current_rss_mb(server), server.peak_rss_mb()
        started = time.monotonic()
        status = common.http_status(server.port, "POST", "/webhook/messages", probe_body("QO-FEED-IDLE", "MSG-ALL"))
        acknowledged = time.monotonic()
        stats = swarm.wait_for_each(1, timeout=60)
        everyone = stats["time"] - acknowledged
        after_rss, after_peak = current_rss_mb(server), server.peak_rss_mb()
        swarm.stop()
        figures = {"subscribers": count, "connect_seconds": swarm.connected["seconds"], "rss_before_mb": before,
                   "rss_idle_mb": idle_rss, "peak_idle_mb": idle_peak, "rss_after_event_mb": after_rss, "peak_mb": after_peak,
                   "kb_per_subscriber": (idle_rss - before) * 1024 / max(1, count), "post_status": status,
                   "post_ms": (acknowledged - started) * 1000, "all_received_after_ack_ms": everyone * 1000,
                   "received": stats["frames"], "closed": stats["closed"]}
        results["feed"]["idle"] = figures
        print(f"feed idle: {count} subscribers connected in {figures['connect_seconds']:.1f} s; server RSS {before:.1f} MB before, "
              f"{idle_rss:.1f} MB with them idle (peak {idle_peak:.1f} MB; {figures['kb_per_subscriber']:.1f} KB each; "
              f"target < 200 MB); one POST: all {stats['frames']} frames received {everyone * 1000:.0f} ms after its answer, "
              f"RSS then {after_rss:.1f} MB (peak {after_peak:.1f} MB)", flush=True)
        if status != 200 or stats["min_frames"] < 1 or stats["closed"] or stats["bad"]:
            problems.append(f"idle subscribers: POST {status}, {stats['frames']} of {count} received, {stats['closed']} closed, "
                            f"{stats['bad']} bad frames")
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def current_rss_mb(server):
    with open(f"/proc/{server.process.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def feed_cursor(sequence, time_ms):
    """The feed's cursor after (sequence, time), as the service writes it (ReaderCursor)."""
    document = {"v": 1, "of": "feed", "order": None, "filter": None, "after": [str(sequence), str(time_ms)]}
    return base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode()).decode().rstrip("=")


def fill_feed(path, count):
    """Adds `count` messages (common.fill_sqlite) and one `message.created` event for each to
    the file the server created, the events in the messages' order, the newest one now."""
    total = common.fill_sqlite(path, count)
    connection = sqlite3.connect(path)
    feed_columns = [row[1] for row in connection.execute("PRAGMA table_info(feed)")]
    message_columns = {row[1] for row in connection.execute("PRAGMA table_info(messages)")}
    copied = [c for c in feed_columns if c not in ("seq", "kind", "eventTime")]
    if not set(copied) <= message_columns:
        raise RuntimeError(f"feed columns {sorted(set(copied) - message_columns)} are not in messages: the schema changed")
    columns = ", ".join(copied)
    now = int(time.time() * 1000)
    first = now - count
    with connection:
        # The fill's timestamps are 1761647400000 + n; one event per millisecond up to now.
        connection.execute(f"INSERT INTO feed (kind, eventTime, {columns}) "
                           f"SELECT 'message.created', ? + (timestamp - 1761647400000), {columns} FROM messages "
                           f"WHERE PK LIKE 'MESSAGE#QO-FILL-%' ORDER BY timestamp", (first,))
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    events = connection.execute("SELECT count(*), min(seq), max(seq) FROM feed").fetchone()
    positions = connection.execute("SELECT seq, eventTime FROM feed ORDER BY seq").fetchall() if events[0] <= 2_000_000 else []
    connection.close()
    return total, events, positions


def bench_feed_reads(binary, args, results, problems):
    """Scenario 3: pages of 1,000 events at random cursors over a feed of --feed-events."""
    workdir = tempfile.mkdtemp(prefix="qualia-bench-feed-read-")
    environment = common.store_environment("sqlite", workdir, None)
    count, limit = args.feed_events, args.feed_page
    try:
        common.Server(binary, workdir, environment).stop()  # creates the schema
        started = time.perf_counter()
        total, (events, first_seq, last_seq), positions = fill_feed(environment["SQLITE_PATH"], count)
        fill_seconds = time.perf_counter() - started
        size_mb = os.path.getsize(environment["SQLITE_PATH"]) / 1e6
        print(f"feed read: wrote {total} messages and {events} events (seq {first_seq}..{last_seq}) in {fill_seconds:.0f} s "
              f"({size_mb:.0f} MB file)", flush=True)
        rng = random.Random(12)
        # Random positions from which a whole page remains; the cursor of the event at each.
        chosen = [positions[rng.randrange(0, len(positions) - limit)] for _ in range(2000)]
        cursors_path = os.path.join(workdir, "cursors.txt")
        with open(cursors_path, "w") as f:
            f.writelines(feed_cursor(seq, t) + "\n" for seq, t in chosen)
        subprocess.run(["sync"])
        server = common.Server(binary, workdir, environment)
        try:
            # The cursor format is the service's: a page after one of them starts at the next event.
            seq, t = chosen[0]
            page = common.http_json(server.port, f"/webhook/feed?after={feed_cursor(seq, t)}&limit={limit}")
            first_cursor = json.loads(base64.urlsafe_b64decode(page["events"][0]["cursor"] + "=="))
            if len(page["events"]) != limit or first_cursor["after"][0] != str(seq + 1):
                problems.append(f"feed read: a page after seq {seq} gave {len(page['events'])} events, first {first_cursor}")
            # Every event, page by page through next_cursor, on a smoke run (a small feed).
            if args.smoke:
                read = feed_count(server.port)
                if read != events:
                    problems.append(f"feed read: paging through next_cursor read {read} events of {events}")
            common.run_wrk(server.port, "health.lua", "/health", 8, 1)
            rows = [("GET /health", common.measure(server, "health", 1, args.duration, "feed", "/health"))]
            for connections in args.feed_read_connections:
                server.reset_peak_rss()
                figures = common.run_wrk(server.port, "feed_get.lua", "/webhook/feed", connections, args.duration,
                                         (common.AUTH, cursors_path, str(limit)))
                figures["peak_rss_mb"] = server.peak_rss_mb()
                rows.append((f"feed page of {limit}, c={connections}", figures))
                if figures["non_2xx"] or figures["socket_errors"]:
                    problems.append(f"feed read c={connections}: {figures['non_2xx']} non-2xx, {figures['socket_errors']} socket errors")
            print(f"feed read over {events} events ({size_mb:.0f} MB file), {args.duration} s each, cursors at 2,000 random positions:",
                  flush=True)
            for label, figures in rows:
                print(f"  {label:28} {figures['rps']:8.0f} req/s  p50 {figures['p50_ms']:6.2f} ms  p99 {figures['p99_ms']:6.2f} ms  "
                      f"p99.9 {figures['p999_ms']:6.2f} ms  non-2xx {figures['non_2xx']}  peak RSS {figures['peak_rss_mb']:.1f} MB",
                      flush=True)
                results["runs"].append({"store": "sqlite", "scenario": label, "connections": 1, "fill": events,
                                        "variant": "feed read", **figures})
            results["feed"]["read"] = {"events": events, "fill_seconds": fill_seconds, "file_mb": size_mb,
                                       "rows": [{"label": label, **figures} for label, figures in rows]}
        finally:
            server.stop()
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def bench_two_instances(store, binary, args, results, problems):
    """Scenario 4: POSTs to instance A, the probe's subscriber on instance B, one moto table.
    With `store` "sqlite", two processes on one SQLite file instead: not a deployment the
    service offers, but the same code path, runnable while the DynamoDB feed is not built."""
    workdir = tempfile.mkdtemp(prefix=f"qualia-bench-feed-two-{store}-")
    with common.dynamodb_endpoint([store]) as moto_endpoint:
        environment = common.store_environment(store, workdir, moto_endpoint)
        if store == "dynamodb":
            common.create_table(binary, environment)
        key = "dynamodb" if store == "dynamodb" else "two_sqlite"
        poll = "250 ms" if store == "dynamodb" else "1 s"
        a = common.Server(binary, workdir, environment)
        b = None
        try:
            b = common.Server(binary, workdir, environment)
            status = common.http_status(b.port, "GET", "/webhook/feed?after=now&limit=1")
            if status != 200:
                note = f"the {store} feed answered {status} on GET /webhook/feed (not built yet?); skipped"
                print(f"feed {key}: {note}", flush=True)
                results["feed"][key] = {"skipped": note}
                return
            probe = Probe(a.port, b.port, f"QO-FEED-PROBE-TWO-{int(time.time())}", interval=args.feed_dynamodb_interval,
                          timeout=30)
            probe.start()
            time.sleep(args.duration)
            latency = probe.finish(settle=10)
            results["feed"][key] = latency
            print(f"feed {key} ({moto_endpoint or 'one SQLite file'}): POSTs to instance A every {args.feed_dynamodb_interval * 1000:.0f} ms, "
                  f"a subscriber on instance B: {latency['posted']} POSTs, {latency['arrived']} events arrived, missing "
                  f"{latency['missing']}; acknowledgement to event p50 {fmt(latency['p50_ms'])} ms p99 {fmt(latency['p99_ms'])} ms "
                  f"max {fmt(latency['max_ms'])} ms (B polls the store every {poll})", flush=True)
            if latency["posted"] == 0 or latency["missing"] or latency["close_code"] is not None:
                problems.append(f"{key} two instances: {latency}")
        finally:
            if b:
                b.stop()
            a.stop()
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)


def feed_main(args, stores):
    """`bench/run --feed`: the scenarios above; non-zero when the feed or stream did not work."""
    limit = raise_open_files()
    if args.smoke:
        args.duration = 2
        args.feed_subscribers, args.feed_fanout, args.feed_idle = 20, 3, 200
        args.feed_events, args.feed_read_connections = 5000, [1]
    needed = args.feed_idle + 1000
    if limit < needed:
        raise SystemExit(f"open-file limit {limit} is below the {needed} the idle scenario needs (run as root, or lower --feed-idle)")
    results = {"machine": common.machine_facts(), "args": {k: v for k, v in vars(args).items() if k != "json"},
               "runs": [], "feed": {}}
    problems = []
    scenarios = args.feed_scenarios.split(",")
    try:
        if "live" in scenarios:
            bench_live(args.binary, args, results, problems)
        if "idle" in scenarios:
            bench_idle(args.binary, args, results, problems)
        if "read" in scenarios:
            bench_feed_reads(args.binary, args, results, problems)
        if "dynamodb" in scenarios and "dynamodb" in stores:
            bench_two_instances("dynamodb", args.binary, args, results, problems)
        if "two-sqlite" in scenarios:
            bench_two_instances("sqlite", args.binary, args, results, problems)
    finally:
        common.write_json(args, results)
    for problem in problems:
        print(f"FAILED: {problem}", flush=True)
    return 1 if problems else 0


def add_arguments(parser):
    parser.add_argument("--feed", action="store_true", help="the change feed and live stream (issue 12)")
    parser.add_argument("--feed-scenarios", default="live,idle,read,dynamodb", help="which of live,idle,read,dynamodb (and two-sqlite: scenario 4's path on two processes sharing one SQLite file)")
    parser.add_argument("--feed-connections", type=int, default=32, help="wrk connections POSTing in the live scenario")
    parser.add_argument("--feed-subscribers", type=int, default=1000, help="subscribers of one order each")
    parser.add_argument("--feed-fanout", type=int, default=10, help="subscribers of every event (the probe's among them)")
    parser.add_argument("--feed-idle", type=int, default=10_000, help="idle subscribers whose memory is measured")
    parser.add_argument("--feed-events", type=int, default=1_000_000, help="events in the feed that pages are read from")
    parser.add_argument("--feed-page", type=int, default=1000, help="events per page read")
    parser.add_argument("--feed-read-connections", type=lambda s: [int(c) for c in s.split(",")], default=[1, 4],
                        help="wrk connections reading pages")
    parser.add_argument("--feed-dynamodb-interval", type=float, default=0.05, help="seconds between the DynamoDB probe's POSTs")
