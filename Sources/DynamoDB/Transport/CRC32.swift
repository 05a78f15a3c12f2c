internal import CZlib

/// The CRC-32 of ISO-HDLC (zlib's and `binascii.crc32`'s), as DynamoDB sends it in
/// `x-amz-crc32`: the checksum of an answer's body bytes, as they came over the wire.
///
/// zlib computes it: the process links zlib already, and its CRC runs several bytes at a time,
/// where a table of our own would read one byte per step through bodies of up to a megabyte.
enum CRC32 {
    /// The checksum of `bytes`: `0xCBF43926` for the ASCII digits `123456789`.
    static func checksum(_ bytes: some Collection<UInt8>) -> UInt32 {
        let value = bytes.withContiguousStorageIfAvailable { buffer in
            UInt32(truncatingIfNeeded: crc32_z(0, buffer.baseAddress, buffer.count))
        }
        return value ?? checksum(Array(bytes))
    }
}
