/// The instant by which a piece of work, and every DynamoDB call it makes, must be done.
///
/// A caller that makes several calls for one purpose (a store's conditional `PutItem` and the
/// `GetItem` after it, or every page of a `Query`) runs them inside ``run(isolation:_:)``: the deadline is
/// then carried by a task-local value to every call, every attempt of every call, every
/// backoff between attempts and every credential fetch those calls make. No attempt's HTTP
/// timeout reaches past it, no retry starts whose backoff would end after it, and a call that
/// finds it passed fails at once with ``DynamoDBError/deadlineExceeded(_:after:)``.
///
/// Deadlines nest by taking the earlier one: work given 5 seconds inside work that has only 2
/// left still ends within those 2.
public struct Deadline: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The instant itself, on the continuous clock (which keeps counting while the machine sleeps).
    public var instant: ContinuousClock.Instant

    /// A deadline at `instant`.
    public init(_ instant: ContinuousClock.Instant) {
        self.instant = instant
    }

    /// A deadline `duration` from now.
    public static func after(_ duration: Duration) -> Deadline {
        Deadline(.now + duration)
    }

    /// The deadline the current task runs under, if any (set by ``run(isolation:_:)``).
    @TaskLocal public static var current: Deadline?

    /// How long is left; zero or negative once it has passed.
    public var remaining: Duration { instant - .now }

    /// Whether it has passed.
    public var hasPassed: Bool { instant <= .now }

    /// The earlier of this deadline and the current task's, so nesting never extends a deadline.
    public var effective: Deadline {
        Deadline.current.map { Swift.min($0, self) } ?? self
    }

    /// Runs `body` with this deadline (or the current task's, when that is earlier) carried to
    /// every DynamoDB call it makes, its child tasks and the tasks it creates included.
    public func run<T>(isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T) async rethrows -> T {
        try await Deadline.$current.withValue(effective, operation: body)
    }

    public static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.instant < rhs.instant }

    public var description: String {
        "Deadline(in: \(remaining))"
    }
}
