#!/usr/bin/env python3
"""The server's RSS with N idle connections: plain HTTP keep-alive ones (each after one
GET /health) or stream subscribers (of every event), to tell the connection's own cost from
the subscription's. Extra NAME=VALUE arguments go to the server's environment.

Usage: python3 bench/feed_idle_connections.py BINARY N http|ws [NAME=VALUE ...]
"""
import asyncio, sys, time, tempfile, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as common, feed_bench as fb
binary, count, mode = os.path.abspath(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
fb.raise_open_files()
workdir = tempfile.mkdtemp(prefix="qualia-idle-")
extra = dict(a.split("=", 1) for a in sys.argv[4:])
server = common.Server(binary, workdir, {**common.store_environment("sqlite", workdir, None), **extra})
async def main():
    before = fb.current_rss_mb(server)
    conns = []
    sem = asyncio.Semaphore(100)
    async def one(i):
        async with sem:
            if mode == "http":
                r, w = await asyncio.open_connection("127.0.0.1", server.port)
                w.write(b"GET /health HTTP/1.1\r\nHost: b\r\n\r\n"); await w.drain()
                await r.readuntil(b"\r\n\r\n"); conns.append((r, w))
            else:
                conns.append(await fb.connect_stream(server.port, fb.stream_path(None), lambda c, p, t: None))
    await asyncio.gather(*(one(i) for i in range(count)))
    await asyncio.sleep(2)
    print(f"{mode} {extra}: {count} idle connections: RSS {before:.1f} -> {fb.current_rss_mb(server):.1f} MB "
          f"({(fb.current_rss_mb(server) - before) * 1024 / count:.1f} KB each)", flush=True)
try:
    asyncio.run(main())
finally:
    server.stop()
    __import__("shutil").rmtree(workdir, ignore_errors=True)
