"""The attachment archive (issue 14), for `bench/run --attachments` (see bench.py).

On SQLite, with nginx (Debian's, a config of the run's own on a free loopback port, one worker,
sendfile) serving a temp folder that holds a file of --attachment-mb MB (100; 10 with --smoke)
of random bytes and a 50 KB one:
  1. Archive: a server with ATTACHMENT_ALLOWED_HOSTS=127.0.0.1 (fresh temp folder, the local
     blob store) is POSTed one message whose attachment's URL is the large file on nginx; the
     listing is polled until the attachment shows `archived: true`, and its `size` and
     `sha256` must equal the file's.
  2. First download: the download route (Basic auth) read by curl into a temp file, whose
     SHA-256 must be the file's, with the server's RSS sampled (VmRSS from /proc/PID/status
     every 10 ms, and VmHWM reset just before) from just before the download to its end.
  3. Rate: `curl -s -o /dev/null -w '%{speed_download}'` of the file from nginx directly and
     from the download route, alternately, --attachment-rounds rounds (5; 1 with --smoke);
     each rate, each round's ratio ours / nginx, and their median (target: at least 50%).
  4. Memory: one more download with the RSS sampled as in 2 (target: peak growth under
     16 MB), then 4 concurrent downloads the same way (a second figure, no target).
  5. With --perf-data FILE, a perf profile (perf record -e cpu-clock -g) of the server during
     one further download, kept apart from the measured ones.
  6. POST with archiving on vs off: two servers on fresh files, one after the other,
     alternating which goes first, --attachment-post-rounds rounds (3; 1 with --smoke). Each
     gets GET /health, then POST (bench/attachment_post.lua: a unique message per request, each
     with one attachment whose URL is the 50 KB file on nginx; the same payloads for both) at
     32 connections for --duration seconds. "On" has ATTACHMENT_ALLOWED_HOSTS=127.0.0.1, so its
     archiver downloads during the run; "off" has it unset. After each "on" run the SQLite
     file (read with Python's sqlite3) says how many of the run's messages were archived by
     the run's end, how many jobs were still waiting, and then how long the backlog took to
     drain (waited for at most --attachment-drain-seconds, 60; 15 with --smoke). Reported:
     req/s, p50, p99, each as a ratio to the same server's /health; per round p99 on / off,
     and the median p99 on against the median p99 off beside the "off" runs' own spread
     (target: within noise, taken as a ratio of medians no more than the larger of 1.10 and
     the off runs' max / min p99).

The run fails (non-zero exit) if the archive never completes or records another size or
SHA-256, if a downloaded file differs from the original, if any request fails (a non-200
download, a non-2xx or socket error in wrk), or if an "on" run archived nothing. Speed and
memory never fail it; each target is printed as met or NOT met.
"""

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request

import bench as common

RSS_LIMIT_MB = 16
RATE_TARGET = 0.5

NGINX_FILES_CONFIG = """\
worker_processes 1;
daemon off;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


@contextlib.contextmanager
def nginx_serving(root):
    """nginx on a free loopback port serving the files of `root` (see ``bench.nginx``). Yields
    its base URL."""
    with common.nginx(NGINX_FILES_CONFIG, "/small.bin", root=root) as base:
        yield base


def write_random_file(path, size):
    """`size` random bytes into `path`; their SHA-256 (hex)."""
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            piece = os.urandom(min(left, 1 << 20))
            digest.update(piece)
            f.write(piece)
            left -= len(piece)
    return digest.hexdigest()


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while piece := f.read(1 << 20):
            digest.update(piece)
    return digest.hexdigest()


def vm_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


class RssSampler:
    """The server's VmRSS every 10 ms from just before a download to its end, beside VmHWM
    (reset when sampling starts), which also catches a peak between two samples."""

    def __init__(self, server):
        self.server, self.pid = server, server.process.pid
        self.samples, self._stop = [], threading.Event()

    def __enter__(self):
        self.server.reset_peak_rss()
        self.baseline_kb = vm_kb(self.pid, "VmRSS")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.samples.append(vm_kb(self.pid, "VmRSS"))
            self._stop.wait(0.01)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.samples.append(vm_kb(self.pid, "VmRSS"))
        self.hwm_kb = vm_kb(self.pid, "VmHWM")

    def figures(self):
        baseline, sampled_peak = self.baseline_kb / 1024, max(self.samples) / 1024
        peak = max(sampled_peak, self.hwm_kb / 1024)
        return {"baseline_mb": baseline, "sampled_peak_mb": sampled_peak, "hwm_mb": self.hwm_kb / 1024, "peak_mb": peak,
                "growth_mb": peak - baseline, "after_mb": self.samples[-1] / 1024, "samples": len(self.samples)}


def curl(url, output="/dev/null", auth=False):
    """One curl download; (bytes per second, HTTP status, bytes)."""
    command = ["curl", "-s", "-o", output, "-w", "%{speed_download} %{http_code} %{size_download}", url]
    if auth:
        command[1:1] = ["-u", f"{common.USER}:{common.PASSWORD}"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"curl {url} failed ({result.returncode}): {result.stderr}")
    speed, status, size = result.stdout.split()
    return float(speed), int(status), int(float(size))


def checked_curl(url, size, problems, label, output="/dev/null", auth=False):
    speed, status, got = curl(url, output, auth)
    if status != 200 or got != size:
        problems.append(f"{label}: HTTP {status}, {got} bytes of {size}")
    return speed


def post_message(port, order_id, url):
    body = json.dumps({
        "order_id": order_id, "message_id": "MSG-1", "order_number": "ORD-2025-001", "from_name": "John Smith",
        "text": "The signed closing package is attached.", "created_date": "2025-10-28T10:30:00Z", "read": False,
        "attachments": [{"_id": "ATT-LARGE", "name": "closing_package.bin", "url": url, "tag": "closing"}],
        "message_type": "message.received", "timestamp": "2025-10-28T10:30:00Z",
    })
    status = common.http_status(port, "POST", "/webhook/messages", body)
    if status != 200:
        raise RuntimeError(f"POST of {order_id} answered {status}")


def wait_archived(port, order_id, timeout):
    """Polls the listing until the order's attachment is archived; (its JSON, seconds), or (None, seconds)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        listing = common.http_json(port, f"/webhook/messages/{order_id}")
        attachment = listing["messages"][0]["attachments"][0]
        if attachment.get("archived"):
            return attachment, time.perf_counter() - started
        time.sleep(0.1)
    return None, time.perf_counter() - started


def print_rss(label, figures):
    print(f"  RSS {label}: baseline {figures['baseline_mb']:.1f} MB, peak {figures['peak_mb']:.1f} MB "
          f"(sampled {figures['sampled_peak_mb']:.1f}, VmHWM {figures['hwm_mb']:.1f}), growth {figures['growth_mb']:.1f} MB, "
          f"after {figures['after_mb']:.1f} MB ({figures['samples']} samples)", flush=True)


def bench_download(args, base, size, digest, workdir, results, problems):
    """Steps 1 to 5 of the module's doc on one server; its figures in results["download"]."""
    environment = {**common.store_environment("sqlite", workdir, None), "ATTACHMENT_ALLOWED_HOSTS": "127.0.0.1",
                   "ATTACHMENT_DIR": os.path.join(workdir, "attachments")}
    figures = results["download"] = {"bytes": size, "sha256": digest}
    server = common.Server(args.binary, workdir, environment)
    try:
        order_id = "QO-ATT-LARGE"
        post_message(server.port, order_id, base + "/large.bin")
        attachment, seconds = wait_archived(server.port, order_id, args.attachment_archive_timeout)
        if attachment is None:
            problems.append(f"the {size}-byte attachment was not archived within {seconds:.0f} s; log: {server.log_path}")
            return
        figures["archive_seconds"] = seconds
        print(f"attachments: {size / 1e6:.0f} MB archived {seconds:.1f} s after its POST "
              f"(listing: size {attachment.get('size')}, sha256 {attachment.get('sha256')})", flush=True)
        if attachment.get("size") != size or attachment.get("sha256") != digest:
            problems.append(f"archived size {attachment.get('size')} sha256 {attachment.get('sha256')}, "
                            f"file {size} bytes sha256 {digest}")
            return
        ours = f"http://127.0.0.1:{server.port}/webhook/messages/{order_id}/message.received/MSG-1/attachments/ATT-LARGE"
        nginx = base + "/large.bin"

        copy = os.path.join(workdir, "downloaded.bin")
        with RssSampler(server) as sampler:
            first_rate = checked_curl(ours, size, problems, "first download", output=copy, auth=True)
        downloaded = file_sha256(copy)
        os.remove(copy)
        figures["first"] = {"rate_mb_s": first_rate / 1e6, "sha256_matches": downloaded == digest, **sampler.figures()}
        print(f"  first download, to a file: {first_rate / 1e6:.0f} MB/s, SHA-256 "
              f"{'matches' if downloaded == digest else 'DIFFERS: ' + downloaded}", flush=True)
        print_rss("over the first download", figures["first"])
        if downloaded != digest:
            problems.append(f"downloaded bytes' SHA-256 {downloaded}, not the file's {digest}")

        rounds = []
        for number in range(args.attachment_rounds):
            nginx_rate = checked_curl(nginx, size, problems, f"nginx round {number + 1}")
            our_rate = checked_curl(ours, size, problems, f"download route round {number + 1}", auth=True)
            rounds.append({"nginx_mb_s": nginx_rate / 1e6, "ours_mb_s": our_rate / 1e6, "ratio": our_rate / nginx_rate})
            print(f"  round {number + 1}: nginx {nginx_rate / 1e6:7.0f} MB/s, ours {our_rate / 1e6:7.0f} MB/s, "
                  f"ratio {our_rate / nginx_rate:6.1%}", flush=True)
        median = statistics.median(r["ratio"] for r in rounds)
        figures["rate"] = {"rounds": rounds, "median_ratio": median, "target": RATE_TARGET, "met": median >= RATE_TARGET}
        print(f"  median ratio ours / nginx {median:.1%} (target >= {RATE_TARGET:.0%}: "
              f"{'met' if median >= RATE_TARGET else 'NOT met'})", flush=True)

        with RssSampler(server) as sampler:
            checked_curl(ours, size, problems, "RSS download", auth=True)
        single = figures["single_rss"] = {**sampler.figures(), "limit_mb": RSS_LIMIT_MB}
        single["met"] = single["growth_mb"] < RSS_LIMIT_MB
        print_rss("over one download", single)
        print(f"  peak RSS growth {single['growth_mb']:.1f} MB (target < {RSS_LIMIT_MB} MB: "
              f"{'met' if single['met'] else 'NOT met'})", flush=True)

        with RssSampler(server) as sampler:
            rates = [None] * 4

            def download(index):
                try:
                    rates[index] = checked_curl(ours, size, problems, f"concurrent download {index + 1}", auth=True)
                except Exception as error:  # reported as a failure below
                    problems.append(f"concurrent download {index + 1}: {error!r}")

            threads = [threading.Thread(target=download, args=(i,)) for i in range(4)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
        concurrent = figures["concurrent_rss"] = {**sampler.figures(), "clients": 4, "seconds": elapsed,
                                                   "total_mb_s": 4 * size / elapsed / 1e6,
                                                   "each_mb_s": [r / 1e6 for r in rates if r]}
        print_rss("over 4 concurrent downloads", concurrent)
        print(f"  4 concurrent downloads: {elapsed:.2f} s, {concurrent['total_mb_s']:.0f} MB/s together "
              f"({', '.join(f'{r:.0f}' for r in concurrent['each_mb_s'])} MB/s each)", flush=True)

        if args.perf_data:
            perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-g", "-p", str(server.process.pid),
                                     "-o", args.perf_data], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            checked_curl(ours, size, problems, "profiled download", auth=True)
            perf.send_signal(2)
            perf.wait()
            print(f"  profile of one further download in {args.perf_data}; read it with "
                  f"perf report -i {args.perf_data} --no-children --sort symbol", flush=True)
    finally:
        exit_code = server.stop()
        if exit_code != 0:
            problems.append(f"download server exited with {exit_code} on SIGTERM; log: {server.log_path}")


def archive_counts(path, run_id):
    """(messages of the run, of them archived, archive jobs waiting) from the SQLite file."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        prefix = f"QO-ATT-{run_id}-%"
        messages, archived = connection.execute(
            "SELECT count(*), count(attachmentArchive) FROM messages WHERE orderId LIKE ?", (prefix,)).fetchone()
        waiting = connection.execute("SELECT count(*) FROM archive_jobs WHERE orderId LIKE ?", (prefix,)).fetchone()[0]
        return messages, archived, waiting
    finally:
        connection.close()


def post_run(args, label, small_url, run_id, problems):
    """GET /health, then POST at 32 connections, on a server of its own on a fresh file, with
    archiving on or off; for "on", the archiver's progress at the run's end and its drain."""
    workdir = tempfile.mkdtemp(prefix=f"qualia-bench-attachments-post-{label}-")
    environment = {**common.store_environment("sqlite", workdir, None), "ATTACHMENT_DIR": os.path.join(workdir, "attachments")}
    if label == "on":
        environment["ATTACHMENT_ALLOWED_HOSTS"] = "127.0.0.1"
    try:
        server = common.Server(args.binary, workdir, environment)
        try:
            common.run_wrk(server.port, "health.lua", "/health", 8, 1)
            health = common.measure(server, "health", 32, args.duration, run_id, "/health")
            server.reset_peak_rss()
            post = common.run_wrk(server.port, "attachment_post.lua", "/webhook/messages", 32, args.duration,
                                  (run_id, common.AUTH, small_url))
            post["peak_rss_mb"] = server.peak_rss_mb()
            for scenario, run in (("health", health), ("post", post)):
                if run["non_2xx"] or run["socket_errors"]:
                    problems.append(f"archiving {label} {scenario}: {run['non_2xx']} non-2xx, {run['socket_errors']} socket errors")
            archive = None
            if label == "on":
                messages, archived, waiting = archive_counts(environment["SQLITE_PATH"], run_id)
                archive = {"messages": messages, "archived_at_end": archived, "waiting_at_end": waiting}
                started = time.perf_counter()
                while time.perf_counter() - started < args.attachment_drain_seconds:
                    messages, archived, waiting = archive_counts(environment["SQLITE_PATH"], run_id)
                    if archived >= messages:
                        break
                    time.sleep(0.5)
                archive.update({"messages_after_wait": messages, "archived_after_wait": archived, "waiting_after_wait": waiting,
                                "drain_seconds": time.perf_counter() - started, "drained": archived >= messages})
                if archived == 0:
                    problems.append(f"archiving on: none of {messages} attachments archived; log: {server.log_path}")
        finally:
            exit_code = server.stop()
        if exit_code != 0:
            problems.append(f"archiving {label} server exited with {exit_code} on SIGTERM; log: {server.log_path}")
        return health, post, archive
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def bench_post(args, small_url, results, problems):
    """Step 6 of the module's doc (skipped with --attachment-post-rounds 0)."""
    if args.attachment_post_rounds <= 0:
        print("attachments: POST with archiving on vs off skipped (--attachment-post-rounds 0)", flush=True)
        return
    rounds = []
    print(f"attachments: POST at 32 connections, {args.duration} s, archiving on and off (each POST with one "
          f"attachment, {small_url}), {args.attachment_post_rounds} rounds alternating:", flush=True)
    for number, order in common.alternating_rounds(args.attachment_post_rounds, "off", "on"):
        figures = {}
        for label in order:
            health, post, archive = post_run(args, label, small_url, f"r{number}{label}{int(time.time())}", problems)
            figures[label] = {"health": health, "post": post, "archive": archive}
            print(f"  round {number + 1} archiving {label:3}: health {health['rps']:6.0f} req/s; POST {post['rps']:6.0f} req/s "
                  f"({post['rps'] / health['rps']:5.1%} of health), p50 {post['p50_ms']:6.2f} ms "
                  f"({post['p50_ms'] / health['p50_ms']:4.1f}x health's), p99 {post['p99_ms']:6.2f} ms "
                  f"({post['p99_ms'] / health['p99_ms']:4.1f}x health's), non-2xx {post['non_2xx']}, "
                  f"socket errors {post['socket_errors']}, peak RSS {post['peak_rss_mb']:.1f} MB", flush=True)
            if archive:
                print(f"      archived by the run's end {archive['archived_at_end']} of {archive['messages']} "
                      f"({archive['archived_at_end'] / max(1, archive['messages']):.1%}), {archive['waiting_at_end']} jobs waiting; "
                      f"{'drained' if archive['drained'] else 'NOT drained'} {archive['drain_seconds']:.1f} s later "
                      f"({archive['archived_after_wait']} of {archive['messages_after_wait']} archived, {archive['waiting_after_wait']} waiting)", flush=True)
        figures["p99_on_over_off"] = figures["on"]["post"]["p99_ms"] / figures["off"]["post"]["p99_ms"]
        rounds.append({"order": order, **figures})
        print(f"  round {number + 1}: p99 on / off {figures['p99_on_over_off']:.2f}", flush=True)
    off = [r["off"]["post"]["p99_ms"] for r in rounds]
    on = [r["on"]["post"]["p99_ms"] for r in rounds]
    ratio = statistics.median(on) / statistics.median(off)
    noise = max(off) / min(off)
    allowed = max(1.10, noise)
    results["post"] = {"rounds": rounds, "median_p99_on_ms": statistics.median(on), "median_p99_off_ms": statistics.median(off),
                       "ratio_of_medians": ratio, "off_spread": noise, "allowed": allowed, "met": ratio <= allowed}
    print(f"  median p99 on {statistics.median(on):.2f} ms, off {statistics.median(off):.2f} ms: ratio {ratio:.3f}; "
          f"off runs' own spread (max / min p99) {noise:.3f}; target within noise (ratio <= {allowed:.3f}): "
          f"{'met' if ratio <= allowed else 'NOT met'}", flush=True)


def attachments_main(args):
    """`bench/run --attachments`: the module's scenarios; non-zero when a check or a request failed."""
    if args.smoke:
        args.attachment_mb, args.attachment_rounds, args.attachment_post_rounds = 10, 1, 1
        args.attachment_drain_seconds, args.attachment_archive_timeout = 15, 30
    results = {"machine": common.machine_facts(), "args": {k: v for k, v in vars(args).items() if k != "json"}}
    problems = []
    files = tempfile.mkdtemp(prefix="qualia-bench-attachments-files-")
    workdir = tempfile.mkdtemp(prefix="qualia-bench-attachments-")
    size = args.attachment_mb * 1_000_000
    try:
        digest = write_random_file(os.path.join(files, "large.bin"), size)
        write_random_file(os.path.join(files, "small.bin"), 50_000)
        # Readable by nginx's worker, which may run as another user.
        os.chmod(files, 0o755)
        for name in ("large.bin", "small.bin"):
            os.chmod(os.path.join(files, name), 0o644)
        with nginx_serving(files) as base:
            print(f"attachments: nginx {base} serving {size} random bytes (sha256 {digest}) and 50,000", flush=True)
            try:
                bench_download(args, base, size, digest, workdir, results, problems)
            except Exception as error:
                problems.append(f"download: {error!r}")
            if not problems:
                bench_post(args, base + "/small.bin", results, problems)
    finally:
        common.write_json(args, results)
        shutil.rmtree(files, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    for problem in problems:
        print(f"FAILED: {problem}", flush=True)
    return 1 if problems else 0


def add_arguments(parser):
    parser.add_argument("--attachments", action="store_true", help="the attachment archive (issue 14): download rate and RSS, POST cost")
    parser.add_argument("--attachment-mb", type=int, default=100, help="size of the large attachment, in MB (10^6 bytes)")
    parser.add_argument("--attachment-rounds", type=int, default=5, help="download rounds, nginx and ours alternately")
    parser.add_argument("--attachment-post-rounds", type=int, default=3, help="rounds of POST with archiving on and off")
    parser.add_argument("--attachment-drain-seconds", type=float, default=60, help="how long to wait for an on run's backlog")
    parser.add_argument("--attachment-archive-timeout", type=float, default=120, help="how long the large file may take to archive")
