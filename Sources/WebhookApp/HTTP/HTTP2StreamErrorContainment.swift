import Logging
import NIOCore
import NIOHTTP2

/// Keeps a stream error on an HTTP/2 connection to its own stream.
///
/// When a client breaks the protocol on one stream (a malformed header block, DATA after the
/// end of its request), NIOHTTP2 resets that stream, as RFC 9113 section 5.4.2 says, and then
/// reports the error down the pipeline. Hummingbird's connection manager closes the whole
/// connection on any error it sees, so every other request in flight on it (a browser's other
/// fetches, or other clients' requests behind a proxy) failed too. A connection error is told
/// apart by the GOAWAY NIOHTTP2 writes before reporting it: ``OutboundGoAwayWatcher`` sees it
/// go out, and ``StreamErrorFilter`` lets the error through only then. Errors from anything
/// but NIOHTTP2 (TLS) always go through.
enum HTTP2StreamErrorContainment {
    /// Adds the watcher before the HTTP/2 codec and the filter after it, to `channel`, whose
    /// HTTP/2 pipeline is already configured.
    static func add(to channel: any Channel, logger: Logger) throws {
        let codec = try channel.pipeline.syncOperations.handler(type: NIOHTTP2Handler.self)
        let watcher = OutboundGoAwayWatcher()
        try channel.pipeline.syncOperations.addHandler(watcher, position: .before(codec))
        try channel.pipeline.syncOperations.addHandler(StreamErrorFilter(watcher: watcher, logger: logger), position: .after(codec))
    }
}

/// Reads the frame headers of everything the HTTP/2 codec writes, and notes the first GOAWAY.
///
/// The server's side of a connection is a plain sequence of frames (it sends no preface):
/// a 9-byte header whose first three bytes are the payload's length and whose fourth is the
/// type, then the payload. Only the headers are read, so it costs one look per frame. It is
/// added once the codec has written its SETTINGS (a whole frame) and before any of the client's
/// frames is read, so the first byte it sees starts a frame.
final class OutboundGoAwayWatcher: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// HTTP/2's GOAWAY frame type.
    private static let goAwayType: UInt8 = 0x7
    /// Bytes of the current frame's header read so far (a header may span two writes).
    private var header: [UInt8] = []
    /// Bytes of the current frame's payload still to come.
    private var payloadRemaining = 0
    /// Whether the codec has written a GOAWAY on this connection.
    private(set) var sawGoAway = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if !sawGoAway, case .byteBuffer(let buffer) = unwrapOutboundIn(data) {
            scan(buffer.readableBytesView)
        }
        context.write(data, promise: promise)
    }

    private func scan(_ bytes: ByteBufferView) {
        var rest = bytes[...]
        while !rest.isEmpty, !sawGoAway {
            if payloadRemaining > 0 {
                let skipped = min(payloadRemaining, rest.count)
                payloadRemaining -= skipped
                rest = rest.dropFirst(skipped)
                continue
            }
            let needed = 9 - header.count
            header += rest.prefix(needed)
            rest = rest.dropFirst(needed)
            guard header.count == 9 else { return }
            payloadRemaining = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
            sawGoAway = header[3] == Self.goAwayType
            header.removeAll(keepingCapacity: true)
        }
    }
}

/// Stops NIOHTTP2's reports of stream errors before Hummingbird's connection manager, which
/// would close the connection for them; connection errors (after a GOAWAY) and other errors
/// pass.
final class StreamErrorFilter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame

    private let watcher: OutboundGoAwayWatcher
    private let logger: Logger

    init(watcher: OutboundGoAwayWatcher, logger: Logger) {
        self.watcher = watcher
        self.logger = logger
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !watcher.sawGoAway, String(reflecting: type(of: error)).hasPrefix("NIOHTTP2.") else {
            return context.fireErrorCaught(error)
        }
        // NIOHTTP2 has reset the stream; the connection and its other streams carry on.
        logger.debug("HTTP/2 stream reset for a protocol error", metadata: ["error": .string(String(describing: error))])
    }
}
