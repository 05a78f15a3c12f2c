#!/usr/bin/env python3
"""Opens one HTTP/2 connection (the `h2` package) to a qualia-webhook HTTPS server, sends
GET /health on stream 1, then breaks the protocol as MODE says, then GET /health on a later
stream, and prints what came back (once every stream has ended or been reset, the connection has
closed, or 20 s have passed) as one JSON object:
{"answered": [stream ids with a complete 200], "reset": [stream ids reset], "closed": bool}.

MODE: `none` (stream 3 is another good GET), `bad-header` (stream 3's header block has an
upper-case field name: a malformed request, a stream error), `data-after-end` (DATA on stream
3 after its END_STREAM: a stream error), `connection-error` (a WINDOW_UPDATE of 0 on the
connection: a connection error, RFC 9113 section 6.9).

Usage: h2_stream_errors.py PORT CA_FILE MODE
"""
import json
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.events
from hyperframe.frame import DataFrame

port, ca_file, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
context = ssl.create_default_context(cafile=ca_file)
context.set_alpn_protocols(["h2"])
sock = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
assert sock.selected_alpn_protocol() == "h2", sock.selected_alpn_protocol()
connection = h2.connection.H2Connection(h2.config.H2Configuration(
    client_side=True, validate_outbound_headers=False, normalize_outbound_headers=False, validate_inbound_headers=False))
connection.initiate_connection()
sock.sendall(connection.data_to_send())


def get(stream, extra=()):
    headers = [(":method", "GET"), (":path", "/health"), (":scheme", "https"), (":authority", "localhost"), *extra]
    connection.send_headers(stream, headers, end_stream=True)
    sock.sendall(connection.data_to_send())


closed = False
try:
    get(1)
    if mode == "bad-header":
        get(3, [("Upper-Case", "x")])
    elif mode == "data-after-end":
        get(3)
        sock.sendall(DataFrame(3, data=b"late", flags=["END_STREAM"]).serialize())
    elif mode == "connection-error":
        sock.sendall(bytes([0, 0, 4, 0x8, 0, 0, 0, 0, 0, 0, 0, 0, 0]))
    else:
        get(3)
    time.sleep(0.3)
    get(5)
except OSError:
    closed = True

statuses, ended, reset = {}, set(), set()
# Until every stream has ended or been reset, the connection closed, or 20 s (a loaded
# machine answers slowly; a stream the server forgot stays unanswered).
deadline = time.monotonic() + 20
while not closed and not {1, 3, 5} <= ended | reset:
    sock.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        data = sock.recv(65536)
    except socket.timeout:
        break
    except OSError:
        closed = True
        break
    if not data:
        closed = True
        break
    for event in connection.receive_data(data):
        if isinstance(event, h2.events.ResponseReceived):
            statuses[event.stream_id] = dict(event.headers).get(b":status")
        elif isinstance(event, h2.events.StreamEnded):
            ended.add(event.stream_id)
        elif isinstance(event, h2.events.StreamReset):
            reset.add(event.stream_id)
        elif isinstance(event, h2.events.ConnectionTerminated):
            closed = True
    try:
        sock.sendall(connection.data_to_send())
    except OSError:
        closed = True
answered = sorted(stream for stream, status in statuses.items() if status == b"200" and stream in ended)
print(json.dumps({"answered": answered, "reset": sorted(reset), "closed": closed}))
