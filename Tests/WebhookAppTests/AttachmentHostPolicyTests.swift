import Testing

@testable import WebhookApp

/// Issue 14 groundwork: which hosts and addresses the archiver may fetch from.
@Suite struct AttachmentHostPolicyTests {
    @Test func onlyListedNamesAndSuffixesAreAllowed() throws {
        let policy = try AttachmentHostPolicy(parsing: " files.qualia.com , *.cdn.example.com,127.0.0.1, [::1] ")
        #expect(policy.allowsName("files.qualia.com"))
        #expect(policy.allowsName("FILES.Qualia.com."), "case and a trailing dot do not matter")
        #expect(!policy.allowsName("evil-files.qualia.com"))
        #expect(!policy.allowsName("files.qualia.com.evil.net"))
        #expect(policy.allowsName("a.cdn.example.com") && policy.allowsName("a.b.cdn.example.com"))
        #expect(!policy.allowsName("cdn.example.com"), "*.suffix is the names under it, not the name itself")
        #expect(!policy.allowsName("xcdn.example.com"))
        #expect(policy.allowsName("127.0.0.1") && policy.allowsName("[::1]"))
        #expect(!policy.allowsName("127.0.0.2") && !policy.allowsName("10.0.0.1"))
        #expect(try AttachmentHostPolicy(parsing: "").isEmpty && AttachmentHostPolicy(parsing: " , ").isEmpty)
    }

    @Test(arguments: ["*", "*.", "files..qualia.com", "-bad.com", "white space.com", "http://x.com", "x.com/path", "ex_ample.com", "*.*.com"])
    func entriesThatAreNotHostsAreRefused(_ entry: String) {
        #expect(throws: AttachmentHostPolicy.Problem.self) { try AttachmentHostPolicy(parsing: entry) }
    }

    @Test(arguments: [
        "127.0.0.1", "127.255.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "::ffff:127.0.0.1",
        "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "ff02::1", "2001:db8::1",
    ])
    func addressesThatAreNotPublicAreRefusedUnlessListed(_ text: String) throws {
        let address = try #require(IPAddress(text))
        #expect(!address.isPublic)
        #expect(!(try AttachmentHostPolicy(parsing: "files.qualia.com").allowsAddress(address)))
        #expect(try AttachmentHostPolicy(parsing: "files.qualia.com, \(text)").allowsAddress(address), "listed explicitly")
    }

    @Test(arguments: ["8.8.8.8", "172.32.0.1", "100.128.0.1", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
    func publicAddressesAreAllowed(_ text: String) throws {
        #expect(try #require(IPAddress(text)).isPublic)
    }

    @Test(arguments: ["127.1", "0x7f.0.0.1", "017700000001", "256.0.0.1", "1.2.3", "localhost", ""])
    func shortenedOrOddAddressFormsAreNotAddresses(_ text: String) {
        #expect(IPAddress(text) == nil)
    }
}
