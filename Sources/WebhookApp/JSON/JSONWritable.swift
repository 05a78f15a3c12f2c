import Hummingbird
import HTTPTypes
import JSON
import MessageStore
import NIOCore

/// A value that writes itself as JSON, and so can be a response body.
protocol JSONWritable: ResponseGenerator {
    func write(to writer: inout JSONWriter)
    /// About how many bytes ``write(to:)`` writes, to reserve them at once.
    var estimatedJSONBytes: Int { get }
}

extension JSONWritable {
    var estimatedJSONBytes: Int { 256 }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        jsonResponse(status: .ok)
    }

    /// The value's JSON, ready to be a response body.
    var jsonBody: ByteBuffer {
        var writer = JSONWriter(capacity: estimatedJSONBytes)
        write(to: &writer)
        return ByteBuffer(bytes: writer.bytes)
    }

    /// A response with this value as its JSON body.
    func jsonResponse(status: HTTPResponse.Status, headers: HTTPFields = [:]) -> Response {
        .json(jsonBody, status: status, headers: headers)
    }
}

extension Response {
    /// A response whose body is JSON already encoded.
    static func json(_ body: ByteBuffer, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }
}
