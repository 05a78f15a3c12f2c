import JSON
import MessageStore

/// A page of search results:
/// `{"results": [{"order_id", "message_type", "message_id", "timestamp", "from_name",
/// "snippet", "message"}], "next_cursor"}`, newest first.
///
/// `timestamp` is the message's (Unix milliseconds, as stored). `snippet` is
/// `{"field": "text" | "from_name" | "order_number" | "attachment_name", "parts": [{"text", "match"}]}`:
/// the field's text around the first match, cut into parts that a client shows as plain text,
/// marking those whose `match` is true (see ``SearchSnippet``). No part is markup.
struct SearchResponse: JSONWritable {
    var query: SearchQuery
    var results: [StoredMessage]
    var nextCursor: String?

    var estimatedJSONBytes: Int { results.reduce(256) { $0 + 512 + $1.estimatedJSONBytes } }

    func write(to writer: inout JSONWriter) {
        writer.object { body in
            body.key("results")
            body.array(results) { list, message in
                list.object { item in
                    item.field("order_id", message.orderID)
                    item.field("message_type", message.messageType.rawValue)
                    item.field("message_id", message.messageID)
                    item.field("timestamp", message.timestamp)
                    item.field("from_name", message.fromName)
                    let snippet = SearchSnippet(of: message, for: query)
                    item.key("snippet")
                    item.object { object in
                        object.field("field", snippet.field.rawValue)
                        object.key("parts")
                        object.array(snippet.parts) { parts, part in
                            parts.object { entry in
                                entry.field("text", part.text)
                                entry.field("match", part.isMatch)
                            }
                        }
                    }
                    item.key("message")
                    message.write(to: &item)
                }
            }
            body.field("next_cursor", nextCursor)
        }
    }
}
