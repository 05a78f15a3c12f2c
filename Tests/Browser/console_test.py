#!/usr/bin/env python3
"""The browser console (`GET /`), tested in a real browser: Debian's headless Chromium,
driven by Playwright (from PyPI) pointed at the system's browser.

Runs the real qualia-webhook binary on one store, with a TCP relay of our own between the
browser and the server so that a test can cut the browser's connections (the WebSocket
among them) and refuse new ones for a while. Messages are POSTed straight to the server,
as Qualia would, never through the page.

Usage: Tests/Browser/console_test.py BINARY [--store sqlite|dynamodb] [--tls] [--screenshots DIR]
       (--tls: the server speaks HTTPS with a certificate made for the run, so the page comes
       over HTTP/2 and the stream over wss; --screenshots: a fresh server with sample
       messages, pictures instead of checks)
       (dynamodb needs DYNAMODB_TEST_ENDPOINT; CHROMIUM names the browser, /usr/bin/chromium
       by default). Exits non-zero when a check fails, saying which and why.
"""
import argparse
import base64
import ssl
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid

from playwright.sync_api import expect, sync_playwright

WEBHOOK = ("webhook_user", "webhook_pass")
READER = ("escrow_reader", "reader_pass")
TIMEOUT_MS = 15_000
# With --tls: "https", the browser contexts' options to accept the run's own certificate, and
# the context urllib checks the server's certificate with.
SCHEME = "http"
CONTEXT_OPTIONS = {}
SSL_CONTEXT = None
WEBSOCKET_SCHEME = {"http": "ws", "https": "wss"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def basic(credentials):
    return "Basic " + base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()


class Server:
    """The real binary on a free loopback port, on the chosen store."""

    def __init__(self, binary, store, work, certificate=None):
        self.port = free_port()
        self.url = f"{SCHEME}://127.0.0.1:{self.port}"
        env = dict(os.environ, WEBHOOK_USERNAME=WEBHOOK[0], WEBHOOK_PASSWORD=WEBHOOK[1],
                   READER_USERNAME=READER[0], READER_PASSWORD=READER[1], HOST="127.0.0.1", PORT=str(self.port),
                   STORE=store, SQLITE_PATH=os.path.join(work, "messages.sqlite"), LOG_LEVEL="notice",
                   ATTACHMENT_DIR=os.path.join(work, "attachments"))
        if certificate:
            env.update(TLS_CERT_PATH=certificate[0], TLS_KEY_PATH=certificate[1])
        if store == "dynamodb":
            env.update(DYNAMODB_TABLE=f"console-{uuid.uuid4().hex[:12]}", AWS_REGION="us-east-1",
                       AWS_ENDPOINT_URL_DYNAMODB=os.environ["DYNAMODB_TEST_ENDPOINT"], AWS_ACCESS_KEY_ID="testing",
                       AWS_SECRET_ACCESS_KEY="testing", AWS_EC2_METADATA_DISABLED="true")
            subprocess.run([binary, "create-table"], env=env, check=True, stdout=subprocess.DEVNULL)
        self.log_path = os.path.join(work, "server.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([binary, "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url + "/health", timeout=1, context=SSL_CONTEXT)
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start; see " + self.log_path)
                time.sleep(0.1)

    def request(self, method, path, body=None, credentials=WEBHOOK, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json", "Authorization": basic(credentials),
                                                  **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=20, context=SSL_CONTEXT) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def post(self, order_id, message_id, text, **fields):
        payload = {"order_id": order_id, "message_id": message_id, "from_name": fields.pop("from_name", "Jane Buyer"),
                   "text": text, "created_date": "2026-01-05T09:00:00Z", "message_type": fields.pop("message_type", "message.received"),
                   "timestamp": fields.pop("timestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())), **fields}
        status, answer = self.request("POST", "/webhook/messages", payload)
        assert status == 200, f"POST {order_id}/{message_id} answered {status}: {answer}"
        return answer

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class Relay:
    """A TCP relay from a loopback port to the server. `cut()` closes every connection
    through it and refuses new ones (closing them at once) until `restore()`."""

    def __init__(self, target_port):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.url = f"{SCHEME}://127.0.0.1:{self.port}"
        self.target_port = target_port
        self.lock = threading.Lock()
        self.sockets = set()
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if not self.open:
                    client.close()
                    continue
                try:
                    upstream = socket.create_connection(("127.0.0.1", self.target_port))
                except OSError:
                    client.close()
                    continue
                self.sockets.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            self.open = False
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.sockets.clear()

    def restore(self):
        with self.lock:
            self.open = True


class Console:
    """A browser page on the console, with the WebSocket frames it received recorded."""

    def __init__(self, browser, relay, credentials=READER, viewport=None):
        self.context = browser.new_context(
            **CONTEXT_OPTIONS, http_credentials={"username": credentials[0], "password": credentials[1]},
            viewport=viewport or {"width": 1200, "height": 760})
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.errors = []
        self.dialogs = []
        self.frames = []
        self.sockets = 0
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.page.on("websocket", self._socket)
        self.failed_requests = []
        self.page.on("requestfailed", lambda request: self.failed_requests.append((request.url, request.failure)))
        self.response = self.page.goto(relay.url + "/")
        expect(self.page.locator("#live-status")).to_have_attribute("data-state", "live")

    def _socket(self, ws):
        self.sockets += 1
        ws.on("framereceived", lambda payload: self.frames.append(json.loads(payload)))

    def order(self, order_id):
        return self.page.locator(f".order-item[data-order-id='{order_id}']")

    def message(self, order_id, message_id):
        return self.page.locator(f"#messages .message[data-order-id='{order_id}'][data-message-id='{message_id}']")

    def open_order(self, order_id):
        self.order(order_id).locator("button").click()
        expect(self.page.locator("#conversation-heading")).to_have_text(order_id)

    def close(self):
        self.context.close()


# ---- The checks -------------------------------------------------------------------------

def check_loads_with_credentials_and_shows_orders(browser, server, relay):
    server.post("QO-LOAD-1", "M-1", "First order's message", order_number="ORD-LOAD-1", timestamp="2026-01-05T09:00:00Z")
    server.post("QO-LOAD-2", "M-1", "Second order's message", timestamp="2026-01-06T09:00:00Z")
    # Without credentials: the browser is asked for them, and nothing of the page is served.
    anonymous = browser.new_context(**CONTEXT_OPTIONS)
    response = anonymous.request.get(relay.url + "/")
    assert response.status == 401, response.status
    assert response.headers.get("www-authenticate", "").startswith("Basic"), response.headers
    assert "<script" not in response.text(), "the page was served without credentials"
    anonymous.close()

    console = Console(browser, relay)
    headers = console.response.headers
    assert console.response.status == 200
    csp = headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "connect-src 'self'" in csp, csp
    assert "unsafe-inline" not in csp, csp
    assert headers.get("cache-control") == "no-store", headers
    expect(console.order("QO-LOAD-1")).to_contain_text("ORD-LOAD-1")
    expect(console.order("QO-LOAD-1")).to_contain_text("1 unread")
    expect(console.order("QO-LOAD-2")).to_be_visible()
    ids = console.page.locator(".order-item").evaluate_all("items => items.map(i => i.dataset.orderId)")
    # Most recent activity first: QO-LOAD-2's message is newer.
    assert ids.index("QO-LOAD-1") > ids.index("QO-LOAD-2"), ids
    console.open_order("QO-LOAD-1")
    expect(console.message("QO-LOAD-1", "M-1").locator(".text")).to_have_text("First order's message")
    assert not console.errors, console.errors
    console.close()


def check_a_posted_message_appears_live(browser, server, relay):
    console = Console(browser, relay)
    console.page.evaluate("window.__sameDocument = true")
    server.post("QO-LIVE", "M-1", "Arrived while the page was open", timestamp="2026-01-09T09:00:00Z")
    expect(console.order("QO-LIVE")).to_contain_text("Arrived while the page was open")
    console.open_order("QO-LIVE")
    server.post("QO-LIVE", "M-2", "A reply in the open conversation", message_type="message.sent", from_name="Escrow desk",
                in_reply_to="M-1", timestamp="2026-01-09T09:05:00Z")
    sent = console.message("QO-LIVE", "M-2")
    expect(sent).to_contain_text("A reply in the open conversation")
    expect(sent).to_have_class("message sent unread")
    expect(sent.locator(".direction")).to_have_text("Sent")
    expect(console.message("QO-LIVE", "M-1").locator(".direction")).to_have_text("Received")
    # Oldest first: the reply comes after the message it answers.
    keys = console.page.locator("#messages .message").evaluate_all("items => items.map(i => i.dataset.messageId)")
    assert keys == ["M-1", "M-2"], keys
    assert console.page.evaluate("window.__sameDocument") is True, "the page reloaded"
    console.close()


def check_threads_and_attachments(browser, server, relay):
    server.post("QO-THREADS", "M-1", "On the main thread", timestamp="2026-01-07T09:00:00Z",
                attachments=[{"_id": "ATT-1", "name": "closing disclosure.pdf", "url": "https://files.example.com/cd.pdf"}])
    server.post("QO-THREADS", "M-2", "On the lender thread", thread_id="lender", timestamp="2026-01-07T10:00:00Z")
    server.post("QO-THREADS", "M-3", "Lender again", thread_id="lender", timestamp="2026-01-07T11:00:00Z")
    console = Console(browser, relay)
    console.open_order("QO-THREADS")
    link = console.message("QO-THREADS", "M-1").locator(".attachment a")
    expect(link).to_have_text("closing disclosure.pdf")
    href = link.get_attribute("href")
    assert href == "/webhook/messages/QO-THREADS/message.received/M-1/attachments/ATT-1", href
    expect(console.message("QO-THREADS", "M-1").locator(".attachment")).to_have_attribute("data-archived", "false")
    expect(console.message("QO-THREADS", "M-1").locator(".attachment-state")).to_contain_text("not archived")
    options = console.page.locator("#thread-select option").all_text_contents()
    assert options[0] == "All messages" and any(o.startswith("Main thread (1") for o in options) \
        and any(o.startswith("Thread lender (2") for o in options), options
    console.page.select_option("#thread-select", "lender")
    expect(console.page.locator("#messages .message")).to_have_count(2)
    expect(console.message("QO-THREADS", "M-1")).to_have_count(0)
    console.close()


def check_search_and_mark_read_change_the_unread_count(browser, server, relay):
    word = "escrowword" + uuid.uuid4().hex[:8]
    server.post("QO-SEARCH", "M-1", f"Please confirm the {word} before Friday", from_name="Title officer")
    server.post("QO-SEARCH", "M-2", "Another unread message")
    console = Console(browser, relay)
    unread = console.order("QO-SEARCH").locator(".unread-count")
    expect(unread).to_have_attribute("data-count", "2")
    console.page.get_by_label("Search all orders").fill(word)
    console.page.get_by_role("button", name="Search", exact=True).click()
    result = console.message("QO-SEARCH", "M-1")
    expect(result.locator(".snippet mark")).to_have_text(word)
    expect(console.page.locator("#messages .message")).to_have_count(1)
    result.locator(".toggle-read").click()
    expect(unread).to_have_attribute("data-count", "1")
    expect(result.locator(".read-state")).to_have_text("Read")
    status, answer = server.request("GET", "/webhook/messages/QO-SEARCH/message.received/M-1", credentials=READER)
    assert status == 200 and answer["message"]["read"] is True, (status, answer)
    # And back, from the order's conversation this time.
    result.locator(".open-order").click()
    message = console.message("QO-SEARCH", "M-1")
    expect(message.locator(".toggle-read")).to_have_text("Mark unread")
    message.locator(".toggle-read").click()
    expect(unread).to_have_attribute("data-count", "2")
    # A change made elsewhere (another reader) arrives live, too.
    server.request("PATCH", "/webhook/messages/QO-SEARCH/message.received/M-2", {"read": True}, credentials=READER)
    expect(unread).to_have_attribute("data-count", "1")
    expect(console.message("QO-SEARCH", "M-2").locator(".read-state")).to_have_text("Read")
    console.close()


PAYLOAD = "<img src=x onerror=\"window.__xss = 1; alert(1)\"><script>window.__xss = 2</script>"


def check_markup_is_text_and_inline_script_is_blocked(browser, server, relay):
    server.post("QO-XSS", "M-1", PAYLOAD, from_name="<b onmouseover=alert(3)>Mallory</b>",
                order_number="<svg onload=alert(4)>", thread_id="t<i>",
                attachments=[{"_id": "A\"><script>alert(5)</script>", "name": "<img src=x onerror=alert(6)>.pdf",
                              "url": "https://files.example.com/x.pdf"}])
    console = Console(browser, relay)
    expect(console.order("QO-XSS")).to_contain_text("<svg onload=alert(4)>")
    console.open_order("QO-XSS")
    message = console.message("QO-XSS", "M-1")
    expect(message.locator(".text")).to_have_text(PAYLOAD)
    expect(message.locator(".from")).to_have_text("<b onmouseover=alert(3)>Mallory</b>")
    expect(message.locator(".attachment a")).to_have_text("<img src=x onerror=alert(6)>.pdf")
    message.locator(".from").hover()
    assert console.page.locator("#messages img, #messages script, #messages svg, #messages b").count() == 0
    console.page.wait_for_timeout(300)
    assert console.page.evaluate("window.__xss") is None, "a payload ran"
    assert not console.dialogs, console.dialogs

    # An inline script injected into the page is refused by the CSP, and so is an inline
    # event handler.
    violations = console.page.evaluate("""() => new Promise(resolve => {
        const seen = [];
        document.addEventListener('securitypolicyviolation', e => seen.push(e.violatedDirective));
        const script = document.createElement('script');
        script.textContent = 'window.__inline = 1';
        document.body.appendChild(script);
        const handler = document.createElement('img');
        handler.setAttribute('onerror', 'window.__handler = 1');
        handler.src = '/no-such-image';
        document.body.appendChild(handler);
        setTimeout(() => resolve({seen, inline: window.__inline === 1, handler: window.__handler === 1}), 500);
    })""")
    assert not violations["inline"], "an inline script ran"
    assert not violations["handler"], "an inline event handler ran"
    assert sum(d.startswith("script-src") for d in violations["seen"]) >= 2, violations
    # Other origins are refused too: a fetch to another port never leaves the page.
    other = console.page.evaluate(f"""() => fetch('{SCHEME}://127.0.0.1:{server.port}/health')
        .then(() => 'fetched', () => 'refused')""")
    assert other == "refused", other
    console.close()


def check_pages_of_another_origin_cannot_use_the_credentials(browser, server, relay):
    """A page of another origin, in a browser holding the console's credentials, can neither
    open the stream (a WebSocket is not bound by CORS) nor POST a message (a form can)."""
    evil = subprocess.Popen([sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1"],
                            cwd=tempfile.mkdtemp(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = evil.stdout.readline()
        evil_port = int(line.split("port ")[1].split()[0])
        context = browser.new_context(**CONTEXT_OPTIONS, http_credentials={"username": WEBHOOK[0], "password": WEBHOOK[1]})
        page = context.new_page()
        page.goto(relay.url + "/")  # the browser now holds the credentials
        page.goto(f"http://127.0.0.1:{evil_port}/")
        opened = page.evaluate(f"""() => new Promise(resolve => {{
            const ws = new WebSocket('{WEBSOCKET_SCHEME[SCHEME]}://127.0.0.1:{relay.port}/webhook/stream');
            ws.onopen = () => resolve('open'); ws.onerror = () => resolve('refused');
            setTimeout(() => resolve('timeout'), 5000);
        }})""")
        assert opened == "refused", opened
        with page.expect_navigation():
            page.evaluate(f"""() => {{
                const form = document.createElement('form');
                form.method = 'POST'; form.enctype = 'text/plain';
                form.action = '{SCHEME}://127.0.0.1:{relay.port}/webhook/messages';
                const field = document.createElement('input');
                field.name = '{{"order_id":"QO-FORGED","message_id":"M-1","from_name":"x","text":"x","message_type":"message.received","created_date":"2026-01-01T00:00:00Z","timestamp":"2026-01-01T00:00:00Z","pad":"';
                field.value = '"}}';
                form.appendChild(field); document.body.appendChild(form); form.submit();
            }}""")
        assert "cross_origin" in page.content(), page.content()[:500]
        status, answer = server.request("GET", "/webhook/messages/QO-FORGED")
        assert status == 200 and answer["count"] == 0, ("a cross-origin form stored a message", answer)
        context.close()
    finally:
        evil.terminate()
        evil.wait()


def check_a_cut_stream_resumes_from_its_last_cursor(browser, server, relay):
    server.post("QO-GAP", "M-1", "Before the gap", timestamp="2026-01-08T09:00:00Z")
    console = Console(browser, relay)
    console.open_order("QO-GAP")
    server.post("QO-GAP", "M-2", "Live before the gap", timestamp="2026-01-08T10:00:00Z")
    expect(console.message("QO-GAP", "M-2")).to_be_visible()
    sockets_before = console.sockets

    relay.cut()
    expect(console.page.locator("#live-status")).to_have_attribute("data-state", "reconnecting")
    server.post("QO-GAP", "M-3", "Stored during the gap", timestamp="2026-01-08T11:00:00Z")
    server.post("QO-OTHER-GAP", "M-1", "Another order, during the gap")
    console.page.wait_for_timeout(1500)  # a few reconnection attempts fail meanwhile
    expect(console.message("QO-GAP", "M-3")).to_have_count(0)
    relay.restore()

    expect(console.page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(console.message("QO-GAP", "M-3").locator(".text")).to_have_text("Stored during the gap")
    expect(console.order("QO-OTHER-GAP")).to_be_visible()
    assert console.sockets > sockets_before, "the console did not open a new stream"
    # Resumed after its last cursor: every event came once, none repeated, none lost.
    cursors = [frame["cursor"] for frame in console.frames]
    assert len(cursors) == len(set(cursors)), ("an event came twice", cursors)
    gap = [(f["order_id"], f["message_id"]) for f in console.frames]
    assert gap.count(("QO-GAP", "M-3")) == 1 and gap.count(("QO-OTHER-GAP", "M-1")) == 1, gap
    assert gap.count(("QO-GAP", "M-2")) == 1, gap
    try:
        expect(console.page.locator("#messages .message")).to_have_count(3)
    except AssertionError:
        shown = console.page.locator("#messages .message").evaluate_all(
            "elements => elements.map(e => e.dataset.orderId + '/' + e.dataset.messageId)")
        error = console.page.locator("#conversation-error").text_content()
        raise AssertionError(f"the conversation shows {shown}, not M-1, M-2 and M-3 (error shown: {error!r}; page errors: {console.errors}; failed requests: {console.failed_requests})")
    console.close()


def check_keyboard_and_labels(browser, server, relay):
    server.post("QO-KEYS", "M-1", "Reached by keyboard", timestamp="2026-01-10T09:00:00Z")
    console = Console(browser, relay)
    page = console.page
    # Every control has a name a screen reader can say.
    unnamed = page.evaluate("""() => Array.from(document.querySelectorAll('input, select, button'))
        .filter(c => !(c.labels && c.labels.length) && !c.getAttribute('aria-label') && !c.textContent.trim())
        .map(c => c.outerHTML)""")
    assert not unnamed, unnamed
    # Tab from the search box through its controls to the orders; Enter opens one.
    page.get_by_label("Search all orders").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('.order-item')?.dataset.orderId") == "QO-KEYS":
            break
    else:
        raise AssertionError("the order could not be reached with Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#conversation-heading")).to_have_text("QO-KEYS")
    expect(console.message("QO-KEYS", "M-1")).to_be_visible()
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('toggle-read')"):
            break
    else:
        raise AssertionError("the read control could not be reached with Tab")
    page.evaluate("window.__blurred = false; document.activeElement.addEventListener('blur', () => { window.__blurred = true; })")
    page.keyboard.press("Enter")
    expect(console.message("QO-KEYS", "M-1").locator(".read-state")).to_have_text("Read")
    page.wait_for_timeout(300)
    # The control keeps the focus throughout, not only in the end.
    assert page.evaluate("document.activeElement.classList.contains('toggle-read')"), "focus was lost"
    assert page.evaluate("window.__blurred") is False, "focus left the control while the change was stored"
    console.close()


def check_phone_sized_window(browser, server, relay):
    server.post("QO-PHONE", "M-1", "Readable on a phone, with a long unbroken word: " + "x" * 120,
                timestamp="2026-01-10T10:00:00Z")
    console = Console(browser, relay, viewport={"width": 375, "height": 740})
    page = console.page
    fits = "document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(fits), "the orders view scrolls sideways"
    expect(page.locator("#conversation")).to_be_hidden()
    console.open_order("QO-PHONE")
    expect(page.locator(".orders-pane")).to_be_hidden()
    expect(console.message("QO-PHONE", "M-1")).to_be_visible()
    assert page.evaluate(fits), "the conversation scrolls sideways"
    page.get_by_role("button", name="← Orders").click()
    expect(console.order("QO-PHONE")).to_be_visible()
    console.close()


def take_screenshots(browser, server, relay, folder):
    """The README's pictures: the orders with a conversation, and a search."""
    order = "QO-2026-0142"
    common = {"order_number": "ORD-2026-0142"}
    server.post(order, "MSG-101", "Hi, the buyer's lender has sent the closing disclosure. Can you confirm the wire amount?",
                from_name="Dana Whitfield (Buyer's agent)", timestamp="2026-03-02T14:05:00Z",
                attachments=[{"_id": "ATT-1", "name": "Closing Disclosure.pdf", "url": "https://files.example.com/cd.pdf"}], **common)
    server.post(order, "MSG-102", "Confirmed: $48,250.00 to the escrow account. Please call us before sending any wire.",
                from_name="Harbor Title escrow team", message_type="message.sent", in_reply_to="MSG-101",
                timestamp="2026-03-02T14:20:00Z", **common)
    server.post(order, "MSG-103", "Thanks! Lender confirms the payoff letter is attached.", from_name="Dana Whitfield (Buyer's agent)",
                timestamp="2026-03-02T15:02:00Z", thread_id="lender",
                attachments=[{"_id": "ATT-2", "name": "Payoff letter.pdf", "url": "https://files.example.com/payoff.pdf"}], **common)
    server.post("QO-2026-0139", "MSG-88", "Survey scheduled for Thursday morning.", from_name="Luis Ortega (Surveyor)",
                order_number="ORD-2026-0139", timestamp="2026-03-01T09:30:00Z")
    console = Console(browser, relay, viewport={"width": 1280, "height": 720})
    console.open_order(order)
    expect(console.message(order, "MSG-103")).to_be_visible()
    console.page.screenshot(path=os.path.join(folder, "console-orders.png"))
    console.page.get_by_label("Search all orders").fill("wire")
    console.page.get_by_role("button", name="Search", exact=True).click()
    expect(console.page.locator("#messages .message").first).to_be_visible()
    console.page.screenshot(path=os.path.join(folder, "console-search.png"))
    console.close()
    phone = Console(browser, relay, viewport={"width": 390, "height": 720})
    phone.open_order(order)
    expect(phone.message(order, "MSG-103")).to_be_visible()
    phone.page.screenshot(path=os.path.join(folder, "console-phone.png"))
    phone.close()


def check_https_serves_the_page_over_http2_and_the_stream_over_wss(browser, server, relay):
    """With --tls: the page and its API calls come over HTTP/2, and the live stream (a
    WebSocket, which HTTP/2 does not carry here) over wss on a connection of its own."""
    console = Console(browser, relay)
    protocols = console.page.evaluate("""() => performance.getEntriesByType('navigation').concat(
        performance.getEntriesByType('resource')).map(entry => [entry.name, entry.nextHopProtocol])""")
    assert protocols and all(protocol == "h2" for _, protocol in protocols), protocols
    assert console.page.evaluate("location.protocol") == "https:"
    server.post("QO-TLS", "M-1", "Over HTTPS")
    expect(console.order("QO-TLS")).to_be_visible()
    assert any(frame.get("order_id") == "QO-TLS" or "QO-TLS" in json.dumps(frame) for frame in console.frames), console.frames
    console.close()


CHECKS = [
    check_loads_with_credentials_and_shows_orders,
    check_a_posted_message_appears_live,
    check_threads_and_attachments,
    check_search_and_mark_read_change_the_unread_count,
    check_markup_is_text_and_inline_script_is_blocked,
    check_pages_of_another_origin_cannot_use_the_credentials,
    check_a_cut_stream_resumes_from_its_last_cursor,
    check_keyboard_and_labels,
    check_phone_sized_window,
]


def make_certificate(work):
    """A self-signed P-256 certificate for 127.0.0.1 and localhost, and its key."""
    certificate, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return certificate, key


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--store", choices=["sqlite", "dynamodb"], default="sqlite")
    parser.add_argument("--tls", action="store_true", help="HTTPS with a certificate made for the run")
    parser.add_argument("--screenshots", help="instead of the checks, save the README's screenshots in this folder")
    args = parser.parse_args()
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    work = tempfile.mkdtemp(prefix="console-test-")
    certificate = make_certificate(work) if args.tls else None
    if certificate:
        global SCHEME, CONTEXT_OPTIONS, SSL_CONTEXT
        SCHEME, CONTEXT_OPTIONS = "https", {"ignore_https_errors": True}
        SSL_CONTEXT = ssl.create_default_context(cafile=certificate[0])
        CHECKS.insert(0, check_https_serves_the_page_over_http2_and_the_stream_over_wss)
    server = Server(os.path.abspath(args.binary), args.store, work, certificate)
    relay = Relay(server.port)
    failures = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            if args.screenshots:
                take_screenshots(browser, server, relay, args.screenshots)
                print(f"screenshots saved in {args.screenshots}")
                return
            for check in CHECKS:
                started = time.monotonic()
                try:
                    check(browser, server, relay)
                    print(f"ok    {check.__name__} ({time.monotonic() - started:.1f} s)")
                except Exception:
                    failures.append(check.__name__)
                    print(f"FAIL  {check.__name__}")
                    traceback.print_exc()
                finally:
                    relay.restore()
            browser.close()
    finally:
        server.stop()
    if failures:
        print(f"console_test ({args.store}{', https' if args.tls else ''}): {len(failures)} failed: {', '.join(failures)}; server log:")
        with open(server.log_path) as log:
            sys.stdout.write(log.read()[-20000:])
        sys.exit(1)
    shutil.rmtree(work, ignore_errors=True)
    print(f"console_test ({args.store}{', https' if args.tls else ''}): all {len(CHECKS)} checks passed")


if __name__ == "__main__":
    main()
