import Testing

@testable import S3

/// The reader of S3's XML answers: the values it needs, and nothing from documents it should refuse.
@Suite struct S3XMLTests {
    @Test func readsAnErrorsCodeAndMessage() {
        let document = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a &amp; b</Key><RequestId>1</RequestId></Error>
            """
        let values = S3XML.values(["Code", "Message"], inRoot: "Error", of: Array(document.utf8))
        #expect(values == ["Code": "NoSuchKey", "Message": "The specified key does not exist."])
    }

    @Test func readsTheUploadIDWithEntitiesDecodedAndNamespacesIgnored() {
        let document = #"""
            <?xml version="1.0" encoding="UTF-8"?>
            <InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>k</Key><UploadId>abc&amp;def~1</UploadId></InitiateMultipartUploadResult>
            """#
        let values = S3XML.values(["UploadId"], inRoot: "InitiateMultipartUploadResult", of: Array(document.utf8))
        #expect(values?["UploadId"] == "abc&def~1")
    }

    @Test func onlyChildrenOfTheRootCount() {
        let document = "<Error><Details><Code>Nested</Code></Details><Code>Outer</Code></Error>"
        #expect(S3XML.values(["Code"], inRoot: "Error", of: Array(document.utf8))?["Code"] == "Outer")
    }

    @Test(arguments: ["<Error><Code>x</Error>", "not xml", "", "<Other><Code>x</Code></Other>", "<Error><Code>x</Code></Error><Error/>"])
    func refusesMalformedDocumentsAndOtherRoots(_ document: String) {
        #expect(S3XML.values(["Code"], inRoot: "Error", of: Array(document.utf8)) == nil)
    }

    @Test func escapesTextForElementContent() {
        #expect(S3XML.escape(#""etag"<&>'"#) == "&quot;etag&quot;&lt;&amp;&gt;&apos;")
    }
}
