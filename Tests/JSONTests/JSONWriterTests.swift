import JSON
import Testing

/// The writer's own fast paths give the bytes the plain ones would.
@Suite struct JSONWriterTests {
    @Test func integersAreWrittenAsSwiftPrintsThem() {
        let values: [Int64] = [0, 1, -1, 9, 10, -10, 1_761_647_400_000, -1_761_647_400_000, .max, .min, .max - 1, .min + 1]
        for value in values {
            var writer = JSONWriter()
            writer.integer(value)
            #expect(writer.text == String(value))
        }
        var unsigned = JSONWriter()
        unsigned.integer(UInt64.max)
        #expect(unsigned.text == String(UInt64.max), "beyond Int64 it still writes the number")
    }

    @Test func aQuotedKeyAndAJoinedStringMatchThePlainWriter() {
        let awkward = "a\"b\\c\u{1}\u{7F}é😀\n"
        var fast = JSONWriter()
        fast.object { object in
            object.field(JSONWriter.Key(awkward), joining: "MESSAGE#", awkward)
            object.field(JSONWriter.Key("n"), Int64(-42))
            object.field(JSONWriter.Key("b"), true)
        }
        var plain = JSONWriter()
        plain.object { object in
            object.field(awkward, "MESSAGE#" + awkward)
            object.field("n", -42)
            object.field("b", true)
        }
        #expect(fast.text == plain.text)
    }
}
