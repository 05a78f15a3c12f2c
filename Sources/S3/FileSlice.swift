import NIOCore
import NIOPosix

/// A stretch of an open file, read again from its start each time it is sent (a retried
/// request re-reads it), in chunks of ``chunkSize`` so it never sits in memory whole.
struct FileSlice: Sendable {
    /// How much is read at once.
    static let chunkSize = 256 * 1024

    /// The open file.
    var handle: NIOFileHandle
    /// Where the slice starts.
    var offset: Int64
    /// How many bytes it holds.
    var length: Int64

    /// The slice's bytes, chunk by chunk.
    var chunks: Chunks { Chunks(slice: self) }

    /// The slice's bytes as an `AsyncSequence`, for a streamed request body.
    struct Chunks: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let slice: FileSlice

        func makeAsyncIterator() -> Iterator { Iterator(slice: slice, position: slice.offset) }

        /// Reads the next chunk with positioned reads on NIO's shared blocking-I/O pool.
        struct Iterator: AsyncIteratorProtocol {
            let slice: FileSlice
            var position: Int64

            mutating func next() async throws -> ByteBuffer? {
                let end = slice.offset + slice.length
                guard position < end else { return nil }
                let count = Int(Swift.min(Int64(FileSlice.chunkSize), end - position))
                let fileIO = NonBlockingFileIO(threadPool: .singleton)
                let buffer = try await fileIO.read(fileHandle: slice.handle, fromOffset: position, byteCount: count, allocator: ByteBufferAllocator())
                guard buffer.readableBytes > 0 else {
                    throw S3Error(status: 0, code: "FileUnreadable", message: "the file ended before its stated size")
                }
                position += Int64(buffer.readableBytes)
                return buffer
            }
        }
    }
}
