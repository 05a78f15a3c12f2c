import AsyncHTTPClient
import Foundation
import JSON
import MessageStore
import NIOCore
import NIOHTTP1

/// The spec's test-script steps against a running server: send a received message, send a
/// sent message, list the order, list it by type; then the reader's side: find the order in
/// the orders list, fetch one message, mark it read; then the change feed: find the run's
/// changes in it, and receive a change live on the stream. Each step checks what came back.
public struct SendTestRunner: Sendable {
    /// What one step did and whether it passed.
    public struct Step: Sendable {
        /// What the step does, in words.
        public var title: String
        /// The HTTP request, as `METHOD URL`.
        public var request: String
        /// The response status, when one came.
        public var status: Int?
        /// The response body as text.
        public var body: String
        /// Why the step failed, or `nil` when it passed.
        public var failure: String?

        /// Whether the step passed.
        public var passed: Bool { failure == nil }
    }

    private let baseURL: String
    private let username: String
    private let password: String
    private let orderID: String
    private let httpClient: HTTPClient

    /// Creates a runner.
    /// - Parameters:
    ///   - baseURL: The server, such as `http://localhost:8000`.
    ///   - username: The webhook user name.
    ///   - password: The webhook password.
    ///   - orderID: The order to use; a fresh one by default, so repeated runs don't mix.
    ///   - httpClient: The client to send with.
    public init(baseURL: String, username: String, password: String, orderID: String? = nil, httpClient: HTTPClient = .shared) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.username = username
        self.password = password
        self.orderID = orderID ?? "QO-SENDTEST-\(Int(Date().timeIntervalSince1970))-\(Int.random(in: 1000...9999))"
        self.httpClient = httpClient
    }

    /// What a run did.
    public struct Run: Sendable {
        /// Every step; the run passed when all of them did.
        public var steps: [Step]
        /// The feed's end before the run's first message, when the first step found it: the
        /// run's changes come after it (`send-test --watch` follows the stream from there).
        public var feedCursorBeforeRun: String?
    }

    /// Runs the eleven steps in order, calling `report` after each.
    /// - Returns: every step; the run passed when all of them did.
    public func run(report: (Step) -> Void = { _ in }) async -> [Step] {
        await runAll(report: report).steps
    }

    /// Runs the eleven steps in order, calling `report` after each.
    public func runAll(report: (Step) -> Void = { _ in }) async -> Run {
        let started = Date()
        let now = ISO8601DateFormatter().string(from: started)
        let received = samplePayload(messageID: "MSG-001", type: .received, text: "Message content here", date: now, withAttachment: true)
        let sent = samplePayload(messageID: "MSG-002", type: .sent, text: "Reply from our system", date: now, withAttachment: false)
        let encodedOrder = orderID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? orderID

        var steps: [Step] = []
        func record(_ step: Step) {
            steps.append(step)
            report(step)
        }
        let (endStep, start) = await feedEnd(title: "Find the end of the change feed")
        record(endStep)
        record(await post(title: "Send a received message", payload: received, messageID: "MSG-001", type: .received))
        record(await post(title: "Send a sent message", payload: sent, messageID: "MSG-002", type: .sent))
        record(await list(title: "Retrieve all messages for the order", path: "/webhook/messages/\(encodedOrder)", expected: [.received: "MSG-001", .sent: "MSG-002"]))
        record(await list(
            title: "Retrieve only received messages",
            path: "/webhook/messages/\(encodedOrder)?message_type=message.received",
            expected: [.received: "MSG-001"]
        ))
        record(await search(title: "Find the received message by searching its text", since: started.addingTimeInterval(-60)))
        record(await findOrder(title: "Find the order in the orders list"))
        let messagePath = "/webhook/messages/\(encodedOrder)/\(MessageType.received.rawValue)/MSG-001"
        record(await readMessage(title: "Fetch the received message", method: .GET, path: messagePath, body: nil, expectRead: false))
        record(await readMessage(
            title: "Mark the received message read", method: .PATCH, path: messagePath, body: Data(#"{"read":true}"#.utf8), expectRead: true
        ))
        record(await findChanges(title: "Find the run's changes in the change feed", after: start, encodedOrder: encodedOrder))
        record(await receiveLive(title: "Receive a change live on the stream", messagePath: messagePath))
        return Run(steps: steps, feedCursorBeforeRun: start)
    }

    /// Asks the feed for its end (`after=now`); the step, and the cursor it answered.
    private func feedEnd(title: String) async -> (Step, String?) {
        var step = await send(title: title, method: .GET, path: "/webhook/feed?after=now", body: nil)
        guard step.failure == nil else { return (step, nil) }
        guard case .object(let page)? = try? JSONValue.parse(step.body.utf8), case .array(let events)? = page["events"], events.isEmpty,
            let cursor = page["next_cursor"]?.stringValue
        else {
            step.failure = "the response is not an empty feed page with a next_cursor"
            return (step, nil)
        }
        return (step, cursor)
    }

    /// The order's events after `start`: MSG-001 and MSG-002 created, then MSG-001 read.
    /// (The order is the run's own, so from the oldest event kept it holds the same ones.)
    private func findChanges(title: String, after start: String?, encodedOrder: String) async -> Step {
        // Without the first step's cursor (it failed), from the oldest event kept.
        var step = await send(title: title, method: .GET, path: "/webhook/feed?limit=100&order_id=\(encodedOrder)" + (start.map { "&after=\($0)" } ?? ""), body: nil)
        guard step.failure == nil else { return step }
        guard case .object(let page)? = try? JSONValue.parse(step.body.utf8), case .array(let events)? = page["events"] else {
            step.failure = "the response is not a feed page"
            return step
        }
        let changes = events.compactMap { event -> String? in
            guard case .object(let fields) = event, let kind = fields["kind"]?.stringValue, let id = fields["message_id"]?.stringValue else { return nil }
            return "\(kind) \(id)"
        }
        let expected = ["message.created MSG-001", "message.created MSG-002", "message.read MSG-001"]
        if changes != expected { step.failure = "expected the events \(expected), got \(changes)" }
        return step
    }

    /// Opens the stream at the feed's end, marks the received message unread, and waits (at
    /// most 10 s) for that change to arrive on the stream.
    private func receiveLive(title: String, messagePath: String) async -> Step {
        let (endStep, end) = await feedEnd(title: title)
        guard endStep.failure == nil, let end else { return endStep }
        let client = FeedStreamClient(baseURL: baseURL, username: username, password: password)
        let request = "WS \(baseURL)/webhook/stream?after=…&order_id=\(orderID), then PATCH \(baseURL)\(messagePath)"
        let arrived: StreamedEvent?
        do {
            arrived = try await withThrowingTaskGroup(of: StreamedEvent?.self) { group in
                group.addTask {
                    try await client.firstEvent(after: end, orderID: orderID) { event in
                        event.messageID == "MSG-001" && event.kind == "message.read" && event.read == false
                    }
                }
                group.addTask {
                    // The stream starts at `end` whenever it connects, so this change is on it.
                    let patch = await send(title: title, method: .PATCH, path: messagePath, body: Data(#"{"read":false}"#.utf8))
                    if let failure = patch.failure { throw SendTestFailure(reason: "marking the message unread failed: \(failure)") }
                    try await Task.sleep(for: .seconds(10))
                    throw SendTestFailure(reason: "the change did not arrive on the stream within 10 s")
                }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
        } catch {
            return Step(title: title, request: request, status: nil, body: "", failure: "\(error)")
        }
        guard let event = arrived else {
            return Step(title: title, request: request, status: nil, body: "", failure: "the stream ended before the change arrived")
        }
        return Step(title: title, request: request, status: 101, body: event.json, failure: nil)
    }

    /// Pages through the orders list until the run's order shows up, with its two messages.
    private func findOrder(title: String) async -> Step {
        var path = "/webhook/orders?limit=100"
        while true {
            var step = await send(title: title, method: .GET, path: path, body: nil)
            guard step.failure == nil else { return step }
            guard case .object(let page)? = try? JSONValue.parse(step.body.utf8), case .array(let orders)? = page["orders"] else {
                step.failure = "the response is not an orders list"
                return step
            }
            for case .object(let order) in orders where order["order_id"]?.stringValue.map({ Array($0.utf8) == Array(orderID.utf8) }) == true {
                if case .number(let count)? = order["message_count"], count == 2 { return step }
                step.failure = "the order is listed, but not with its 2 messages"
                return step
            }
            guard let cursor = page["next_cursor"]?.stringValue else {
                step.failure = "the order is not in the orders list"
                return step
            }
            path = "/webhook/orders?limit=100&cursor=" + cursor
        }
    }

    /// GETs or PATCHes one message and checks that the answer is that message with `read` as expected.
    private func readMessage(title: String, method: HTTPMethod, path: String, body: Data?, expectRead: Bool) async -> Step {
        var step = await send(title: title, method: method, path: path, body: body)
        guard step.failure == nil else { return step }
        guard case .object(let answer)? = try? JSONValue.parse(step.body.utf8), case .object(let item)? = answer["message"] else {
            step.failure = "the response is not one message"
            return step
        }
        if item[StoredMessage.Attribute.messageID.rawValue]?.stringValue != "MSG-001" {
            step.failure = "the response is another message"
        } else if item[StoredMessage.Attribute.read.rawValue] != .bool(expectRead) {
            step.failure = "expected read to be \(expectRead)"
        }
        return step
    }

    /// Searches every order for the received message's text, stored since `since` (the window
    /// the DynamoDB store needs), and expects this run's message among the newest results,
    /// with its match marked in the snippet.
    private func search(title: String, since: Date) async -> Step {
        let from = ISO8601DateFormatter().string(from: since).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let query = "\"Message content here\"".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        var step = await send(title: title, method: .GET, path: "/webhook/search?q=\(query)&from=\(from)&limit=100", body: nil)
        guard step.failure == nil else { return step }
        guard case .object(let page)? = try? JSONValue.parse(step.body.utf8), case .array(let results)? = page["results"] else {
            step.failure = "the response is not a page of search results"
            return step
        }
        let ours = results.first { result in
            guard case .object(let fields) = result else { return false }
            return fields["order_id"]?.stringValue == orderID && fields["message_id"]?.stringValue == "MSG-001"
        }
        guard case .object(let result)? = ours else {
            step.failure = "the received message is not among the \(results.count) newest results"
            return step
        }
        guard case .object(let snippet)? = result["snippet"], case .array(let parts)? = snippet["parts"],
            parts.contains(where: { if case .object(let part) = $0, case .bool(true)? = part["match"] { true } else { false } })
        else {
            step.failure = "the result's snippet marks no match"
            return step
        }
        return step
    }

    private func samplePayload(messageID: String, type: MessageType, text: String, date: String, withAttachment: Bool) -> [String: Any] {
        var payload: [String: Any] = [
            "order_id": orderID,
            "message_id": messageID,
            "order_number": "ORD-2025-001",
            "from_name": "John Smith",
            "text": text,
            "created_date": date,
            "read": false,
            "message_type": type.rawValue,
            "timestamp": date,
        ]
        if withAttachment {
            payload["attachments"] = [["_id": "ATT-001", "name": "document.pdf", "url": "https://example.com/files/document.pdf", "tag": "contract"]]
        }
        return payload
    }

    private func post(title: String, payload: [String: Any], messageID: String, type: MessageType) async -> Step {
        let body = (try? JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys])) ?? Data()
        var step = await send(title: title, method: .POST, path: "/webhook/messages", body: body)
        guard step.failure == nil else { return step }
        guard case .object(let receipt)? = try? JSONValue.parse(step.body.utf8) else {
            step.failure = "the response is not the spec's receipt"
            return step
        }
        if receipt["order_id"]?.stringValue != orderID || receipt["message_id"]?.stringValue != messageID
            || receipt["message_type"]?.stringValue != type.rawValue
        {
            step.failure = "the receipt names another message"
        }
        return step
    }

    private func list(title: String, path: String, expected: [MessageType: String]) async -> Step {
        var step = await send(title: title, method: .GET, path: path, body: nil)
        guard step.failure == nil else { return step }
        guard case .object(let listing)? = try? JSONValue.parse(step.body.utf8), case .array(let items)? = listing["messages"] else {
            step.failure = "the response is not the spec's message list"
            return step
        }
        // Each item's type and id, by the spec's attribute names.
        let pairs = items.compactMap { item -> (MessageType, String)? in
            guard case .object(let fields) = item,
                let type = fields[StoredMessage.Attribute.messageType.rawValue]?.stringValue.flatMap(MessageType.init(rawValue:)),
                let id = fields[StoredMessage.Attribute.messageID.rawValue]?.stringValue
            else { return nil }
            return (type, id)
        }
        let found = Dictionary(pairs, uniquingKeysWith: { first, _ in first })
        if items.count != expected.count || pairs.count != items.count || found != expected {
            step.failure = "expected \(expected.count) message(s) (\(expected.values.sorted().joined(separator: ", "))), got \(items.count)"
        }
        return step
    }

    private func send(title: String, method: HTTPMethod, path: String, body: Data?) async -> Step {
        let url = baseURL + path
        var step = Step(title: title, request: "\(method.rawValue) \(url)", status: nil, body: "", failure: nil)
        var request = HTTPClientRequest(url: url)
        request.method = method
        let token = Data("\(username):\(password)".utf8).base64EncodedString()
        request.headers.add(name: "Authorization", value: "Basic \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await httpClient.execute(request, timeout: .seconds(10))
            let bytes = try await response.body.collect(upTo: 16 * 1024 * 1024)
            step.status = Int(response.status.code)
            step.body = String(buffer: bytes)
            if response.status != .ok { step.failure = "expected status 200, got \(response.status.code)" }
        } catch {
            step.failure = "request failed: \(error)"
        }
        return step
    }
}

/// Why a step failed, in words.
struct SendTestFailure: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}
