import Foundation

/// What an STS answer says: the credentials of an `AssumeRole…Result`, or an `ErrorResponse`.
enum STSAnswer {
    /// The credentials in the answer to `action` (`AssumeRole`, `AssumeRoleWithWebIdentity`):
    /// `<{action}Response><{action}Result><Credentials>` with `AccessKeyId`, `SecretAccessKey`,
    /// `SessionToken` and `Expiration`, each exactly once.
    /// - Throws: ``STSXMLReader/Failure`` when the document is not that shape.
    static func credentials(from body: [UInt8], action: String) throws(STSXMLReader.Failure) -> AWSCredentials {
        let root = try STSXMLReader.parse(body)
        guard root.name == "\(action)Response" else { throw STSXMLReader.Failure("the root is <\(root.name)>, not <\(action)Response>") }
        let credentials = try root.requiredChild("\(action)Result").requiredChild("Credentials")
        func value(_ name: String) throws(STSXMLReader.Failure) -> String {
            let element = try credentials.requiredChild(name)
            guard element.children.isEmpty, !element.text.isEmpty else { throw STSXMLReader.Failure("<\(name)> is empty or not text") }
            return element.text
        }
        let expirationText = try value("Expiration")
        guard let expiration = ISO8601Timestamp.parse(expirationText) else { throw STSXMLReader.Failure("<Expiration> is not an ISO 8601 time") }
        return AWSCredentials(
            accessKeyID: try value("AccessKeyId"), secretAccessKey: try value("SecretAccessKey"), sessionToken: try value("SessionToken"),
            expiration: expiration
        )
    }

    /// The `Code` and `Message` of an `<ErrorResponse><Error>`; `nil` when the body is not one.
    static func error(from body: [UInt8]) -> (code: String, message: String)? {
        guard let root = try? STSXMLReader.parse(body), root.name == "ErrorResponse", let error = try? root.child("Error"),
            let code = try? error.child("Code")?.text, !code.isEmpty
        else { return nil }
        return (code, (try? error.child("Message")?.text) ?? "")
    }
}
