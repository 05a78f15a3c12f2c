import DynamoDB
import Logging

/// What one search read from the table, counted as DynamoDB bills it, for the debug log
/// (docs/dynamodb-search.md states what a search costs; this shows what one did cost).
///
/// Read units are those of strongly consistent reads: a `Query` page costs 1 unit per 4 KB of
/// the items it read, summed over the page and rounded up; a `GetItem` costs 1 unit per 4 KB
/// of its item, rounded up, and 1 when there is none. Sizes are estimated from the items as
/// DynamoDB sizes them (attribute names and values, UTF-8), so the units are close to, not
/// exactly, what CloudWatch reports.
struct SearchReadCost: Sendable {
    /// `Query` calls made (each page is one).
    private(set) var queries = 0
    /// `GetItem` calls made.
    private(set) var getItems = 0
    /// Items read, by both.
    private(set) var items = 0
    /// The estimated size of those items, bytes.
    private(set) var bytes = 0
    /// The estimated read capacity units consumed.
    private(set) var readUnits = 0

    /// The bytes one read capacity unit reads, strongly consistent.
    static let bytesPerReadUnit = 4096

    /// Counts one `Query` page that returned `items`.
    mutating func countQuery(_ items: [Item]) {
        let size = items.reduce(0) { $0 + Self.size(of: $1) }
        queries += 1
        self.items += items.count
        bytes += size
        readUnits += Self.readUnits(for: size)
    }

    /// Counts one `GetItem` that returned `item`.
    mutating func countGetItem(_ item: Item?) {
        let size = item.map(Self.size(of:)) ?? 0
        getItems += 1
        items += item == nil ? 0 : 1
        bytes += size
        readUnits += Self.readUnits(for: size)
    }

    /// The counts as log metadata.
    var metadata: Logger.Metadata {
        [
            "queries": .stringConvertible(queries), "get_items": .stringConvertible(getItems), "items_read": .stringConvertible(items),
            "bytes_read": .stringConvertible(bytes), "read_units": .stringConvertible(readUnits),
        ]
    }

    /// Strongly consistent read units for one read of `size` bytes: at least one.
    static func readUnits(for size: Int) -> Int {
        max(1, (size + bytesPerReadUnit - 1) / bytesPerReadUnit)
    }

    /// An item's size as DynamoDB counts it: each attribute's name and value.
    static func size(of item: Item) -> Int {
        item.reduce(0) { $0 + $1.key.utf8.count + size(of: $1.value) }
    }

    /// A value's size: strings and binaries by their bytes (binary as sent, base64, a slight
    /// overestimate), numbers about one byte per two digits plus one, containers 3 bytes plus
    /// one per element plus the elements.
    static func size(of value: AttributeValue) -> Int {
        switch value {
        case .string(let text), .binary(let text): text.utf8.count
        case .number(let digits): digits.utf8.count / 2 + 1
        case .bool, .null: 1
        case .list(let elements): 3 + elements.reduce(0) { $0 + 1 + size(of: $1) }
        case .map(let map): 3 + map.reduce(0) { $0 + 1 + $1.key.utf8.count + size(of: $1.value) }
        case .stringSet(let texts): texts.reduce(0) { $0 + $1.utf8.count }
        case .numberSet(let numbers): numbers.reduce(0) { $0 + $1.utf8.count / 2 + 1 }
        }
    }
}
