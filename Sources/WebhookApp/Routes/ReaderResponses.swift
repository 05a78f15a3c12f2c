import JSON
import MessageStore

// The reader's answers. Times the service derives (`*_at`) are ISO 8601 in UTC with
// milliseconds; stored items keep the spec's item shape (``StoredMessage/write(to:)``).

/// A page of an order's messages: the spec's listing with `count` the page's size and the
/// filter under its own name (`message_type`, or `thread_id` for a conversation; `null` when
/// none), plus `next_cursor` (`null` on the last page).
struct MessagePageResponse: JSONWritable {
    var orderID: String
    /// The filter's field name and value.
    var filter: (name: String, value: String?)
    var messages: [StoredMessage]
    var nextCursor: String?

    var estimatedJSONBytes: Int { messages.reduce(256) { $0 + $1.estimatedJSONBytes } }

    func write(to writer: inout JSONWriter) {
        writer.object { body in
            body.field("order_id", orderID)
            body.field(filter.name, filter.value)
            body.field("count", messages.count)
            body.key("messages")
            body.array(messages) { list, message in message.write(to: &list) }
            body.field("next_cursor", nextCursor)
        }
    }
}

/// One message: `{"message": item}`.
struct SingleMessageResponse: JSONWritable {
    var message: StoredMessage

    var estimatedJSONBytes: Int { 32 + message.estimatedJSONBytes }

    func write(to writer: inout JSONWriter) {
        writer.object { body in
            body.key("message")
            message.write(to: &body)
        }
    }
}

/// A page of the orders list.
struct OrdersResponse: JSONWritable {
    var orders: [OrderSummary]
    var nextCursor: String?

    var estimatedJSONBytes: Int { orders.reduce(256) { $0 + 320 + $1.lastMessage.text.utf8.count } }

    func write(to writer: inout JSONWriter) {
        writer.object { body in
            body.key("orders")
            body.array(orders) { list, order in
                list.object { item in
                    item.field("order_id", order.orderID)
                    item.field("order_number", order.orderNumber)
                    item.field("message_count", order.messageCount)
                    item.field("unread_count", order.unreadCount)
                    item.field("last_message_at", ISO8601.string(fromUnixMilliseconds: order.lastMessageAt, fractionalSeconds: true))
                    item.key("last_message")
                    item.object { last in
                        last.field("message_type", order.lastMessage.messageType.rawValue)
                        last.field("message_id", order.lastMessage.messageID)
                        last.field("from_name", order.lastMessage.fromName)
                        last.field("text", order.lastMessage.text)
                    }
                }
            }
            body.field("next_cursor", nextCursor)
        }
    }
}

/// An order's threads.
struct ThreadsResponse: JSONWritable {
    var orderID: String
    var threads: [ThreadSummary]

    func write(to writer: inout JSONWriter) {
        writer.object { body in
            body.field("order_id", orderID)
            body.key("threads")
            body.array(threads) { list, thread in
                list.object { item in
                    item.field("thread_id", thread.threadID)
                    item.field("message_count", thread.messageCount)
                    item.field("unread_count", thread.unreadCount)
                    item.field("first_message_at", ISO8601.string(fromUnixMilliseconds: thread.firstMessageAt, fractionalSeconds: true))
                    item.field("last_message_at", ISO8601.string(fromUnixMilliseconds: thread.lastMessageAt, fractionalSeconds: true))
                }
            }
        }
    }
}
