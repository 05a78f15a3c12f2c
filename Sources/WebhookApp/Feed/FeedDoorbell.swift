/// Tells the ``FeedFollower`` that this process just stored a change, so that it reads the
/// feed now rather than at its next poll. Ringing never waits: rings that come while the
/// follower is busy fold into one.
struct FeedDoorbell: Sendable {
    /// The rings, as the follower waits for them.
    let rings: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (rings, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Says that a change was stored.
    func ring() {
        continuation.yield()
    }

    /// Ends the rings: the follower stops.
    func finish() {
        continuation.finish()
    }
}
