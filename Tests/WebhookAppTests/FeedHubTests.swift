import MessageStore
import NIOCore
import Testing

@testable import WebhookApp

/// The in-memory window on the feed: what subscribers get from it, and when they are too far
/// behind.
@Suite struct FeedHubTests {
    static func frame(_ sequence: Int64, order: String = "QO-1", bytes: Int = 10) -> FeedFrame {
        FeedFrame(position: FeedPosition(sequence: sequence, time: 0), orderID: order, json: ByteBuffer(repeating: UInt8(ascii: "x"), count: bytes))
    }

    static func sequences(_ read: FeedHub.Read) -> [Int64]? {
        guard case .frames(let frames, _) = read else { return nil }
        return frames.map(\.position.sequence)
    }

    @Test func aWaitingSubscriberIsWokenByItsOrdersEventsOnly() async throws {
        let hub = FeedHub()
        await hub.start(at: FeedPosition(sequence: 0, time: 0))
        let id = await hub.subscribe()
        async let read = hub.read(id, after: FeedPosition(sequence: 0, time: 0), orderID: "QO-2", limit: 10)
        try await Task.sleep(for: .milliseconds(50))
        await hub.append([Self.frame(1), Self.frame(2)], next: FeedPosition(sequence: 2, time: 0))
        await hub.append([Self.frame(3, order: "QO-2"), Self.frame(4)], next: FeedPosition(sequence: 4, time: 0))
        let first = try await read
        #expect(Self.sequences(first) == [3])
        guard case .frames(_, let next) = first else { return }
        #expect(next.sequence == 4)
        await hub.unsubscribe(id)
    }

    @Test func aPositionBeforeTheWindowReadsTheStoreUntilItIsLive() async throws {
        let hub = FeedHub()
        await hub.start(at: FeedPosition(sequence: 10, time: 0))
        let id = await hub.subscribe()
        let early = try await hub.read(id, after: FeedPosition(sequence: 3, time: 0), orderID: nil, limit: 10)
        guard case .notInWindow = early else { Issue.record("expected notInWindow, got \(early)"); return }
        await hub.append([Self.frame(11), Self.frame(12)], next: FeedPosition(sequence: 12, time: 0))
        #expect(Self.sequences(try await hub.read(id, after: FeedPosition(sequence: 10, time: 0), orderID: nil, limit: 1)) == [11])
        #expect(Self.sequences(try await hub.read(id, after: FeedPosition(sequence: 11, time: 0), orderID: nil, limit: 10)) == [12])
    }

    @Test func aLiveSubscriberThatFallsBehindTheBytesKeptIsTooFarBehind() async throws {
        let hub = FeedHub(limits: .init(capacity: 1000, maximumBytes: 1000, maximumLag: 1000))
        await hub.start(at: FeedPosition(sequence: 0, time: 0))
        let slow = await hub.subscribe()
        // It reads once (so it is live), then stalls while 2,000 bytes arrive.
        await hub.append([Self.frame(1, bytes: 100)], next: FeedPosition(sequence: 1, time: 0))
        #expect(Self.sequences(try await hub.read(slow, after: FeedPosition(sequence: 0, time: 0), orderID: nil, limit: 1)) == [1])
        async let watchdog: Void = hub.untilTooFarBehind(slow)
        for sequence in Int64(2)...21 { await hub.append([Self.frame(sequence, bytes: 100)], next: FeedPosition(sequence: sequence, time: 0)) }
        await watchdog  // returns only once the hub found it too far behind
        let next = try await hub.read(slow, after: FeedPosition(sequence: 1, time: 0), orderID: nil, limit: 10)
        guard case .tooFarBehind = next else { Issue.record("expected tooFarBehind, got \(next)"); return }
        #expect(await hub.base.map(\.sequence).map { $0 > 1 } == true)
    }

    @Test func aCancelledReadStopsWaiting() async throws {
        let hub = FeedHub()
        await hub.start(at: FeedPosition(sequence: 0, time: 0))
        let id = await hub.subscribe()
        let waiting = Task { try await hub.read(id, after: FeedPosition(sequence: 0, time: 0), orderID: nil, limit: 10) }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
    }
}
