import Testing

@testable import WebhookApp

/// The download route's header rules: `Range` parsing and the safe file name.
@Suite struct AttachmentHeaderTests {
    @Test(arguments: [
        ("bytes=0-0", ByteRange.range(0...0)),
        ("bytes=0-99", .range(0...99)),
        ("bytes=10-", .range(10...99)),
        ("bytes=90-500", .range(90...99)),
        ("bytes=-10", .range(90...99)),
        ("bytes=-500", .range(0...99)),
        ("BYTES=5-6", .range(5...6)),
        ("bytes = 5-6", .whole),
        ("bytes=100-", .unsatisfiable),
        ("bytes=100-200", .unsatisfiable),
        ("bytes=-0", .unsatisfiable),
        ("bytes=5-4", .whole),
        ("bytes=0-1,3-4", .whole),
        ("items=0-1", .whole),
        ("bytes=a-b", .whole),
        ("bytes=-", .whole),
        ("bytes=٣-٤", .whole),
        ("bytes=99999999999999999999-", .whole),
    ])
    func aRangeIsReadAsRFC9110Says(_ header: String, _ expected: ByteRange) {
        #expect(ByteRange.parse(header, size: 100) == expected)
    }

    @Test func noRangeOrAnEmptyFileIsServedWhole() {
        #expect(ByteRange.parse(nil, size: 100) == .whole)
        #expect(ByteRange.parse("bytes=0-", size: 0) == .unsatisfiable)
    }

    @Test(arguments: [
        ("deed.pdf", #"attachment; filename="deed.pdf"; filename*=UTF-8''deed.pdf"#),
        ("Closing \"final\".pdf", #"attachment; filename="Closing _final_.pdf"; filename*=UTF-8''Closing%20%22final%22.pdf"#),
        ("../../etc/passwd", #"attachment; filename=".._.._etc_passwd"; filename*=UTF-8''.._.._etc_passwd"#),
        ("a\r\nSet-Cookie: x=1", #"attachment; filename="a__Set-Cookie: x=1"; filename*=UTF-8''a__Set-Cookie%3A%20x%3D1"#),
        ("Übersicht 100%.pdf", #"attachment; filename="_bersicht 100_.pdf"; filename*=UTF-8''%C3%9Cbersicht%20100%25.pdf"#),
        ("", #"attachment; filename="attachment"; filename*=UTF-8''attachment"#),
        ("..", #"attachment; filename="attachment"; filename*=UTF-8''attachment"#),
    ])
    func theFileNameIsSafe(_ name: String, _ expected: String) {
        let header = ContentDisposition.attachment(named: name)
        #expect(header == expected)
        #expect(!header.unicodeScalars.contains { $0.value < 0x20 || $0.value > 0x7E }, "visible ASCII only")
    }

    @Test(arguments: [
        ("application/pdf", "application/pdf"),
        ("text/plain; charset=utf-8", "text/plain; charset=utf-8"),
        (nil, "application/octet-stream"),
        ("", "application/octet-stream"),
        ("pdf", "application/octet-stream"),
        ("/pdf", "application/octet-stream"),
        ("text/html\r\nX: y", "application/octet-stream"),
        ("image/ü", "application/octet-stream"),
    ] as [(String?, String)])
    func aContentTypeIsKeptOnlyWhenPlain(_ given: String?, _ kept: String) {
        #expect(AttachmentFetcher.contentType(given) == kept)
    }
}
