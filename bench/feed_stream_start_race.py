#!/usr/bin/env python3
"""Reproduces a race in /webhook/stream (issue 12): a stream opened without `after` starts at
the feed's end as the server finds it *after* sending 101, so an event stored between the
client's 101 and that moment is never sent. Each round opens a stream of a new order, POSTs one
message to it as soon as the 101 arrived, and waits 3 s for the event.

Usage: python3 bench/feed_stream_start_race.py BINARY ROUNDS [after]
  with `after`, each stream starts after a cursor taken (GET /webhook/feed?after=now) before
  connecting instead: the control, which should never miss.
"""
import asyncio, os, sys, time, json, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as common, feed_bench as fb
binary = os.path.abspath(sys.argv[1]); rounds = int(sys.argv[2])
workdir = tempfile.mkdtemp(prefix="qualia-race-")
server = common.Server(binary, workdir, common.store_environment("sqlite", workdir, None))
missed = 0
async def main():
    global missed
    for n in range(rounds):
        got = asyncio.Event()
        client = await fb.connect_stream(server.port, fb.stream_path(f"QO-RACE-{n}", fb.end_cursor(server.port) if len(sys.argv) > 3 else None), lambda c, p, t: got.set())
        status = await asyncio.to_thread(common.http_status, server.port, "POST", "/webhook/messages", fb.probe_body(f"QO-RACE-{n}", "M1"))
        try:
            await asyncio.wait_for(got.wait(), 3)
        except asyncio.TimeoutError:
            missed += 1
        client.close()
try:
    asyncio.run(main())
finally:
    server.stop()
    __import__("shutil").rmtree(workdir, ignore_errors=True)
print(f"{missed} of {rounds} streams (" + ("after=cursor taken before connecting" if len(sys.argv) > 3 else "no after=") + ") missed the event POSTed right after their upgrade")
