import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reads the few values S3's XML answers carry (`UploadId`, an error's `Code` and `Message`,
/// `CompleteMultipartUpload`'s `ETag`): the text of the first element of a name directly
/// inside the document's root, checked to be well-formed XML with the expected root.
enum S3XML {
    /// The text of each of `names` directly under the root element, when the document parses
    /// and its root is `root`; `nil` when it is not well-formed or has another root.
    static func values(_ names: Set<String>, inRoot root: String, of document: [UInt8]) -> [String: String]? {
        let reader = ChildTextReader(root: root, names: names)
        let parser = XMLParser(data: Data(document))
        parser.shouldResolveExternalEntities = false
        parser.delegate = reader
        // Linux's parser (libxml2) may recover from some errors and still answer true: the
        // reader notes every error, and whether the root closed with nothing after it.
        guard parser.parse(), reader.isWellFormed else { return nil }
        return reader.values
    }

    /// Escapes text for an XML element's content.
    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

/// The parser delegate behind ``S3XML/values(_:inRoot:of:)``.
private final class ChildTextReader: NSObject, XMLParserDelegate {
    let root: String
    let names: Set<String>
    var values: [String: String] = [:]
    private var sawRoot = false
    private var rootEnded = false
    private var sawError = false
    private var depth = 0
    private var current: String?
    private var text = ""

    init(root: String, names: Set<String>) {
        self.root = root
        self.names = names
    }

    /// Whether the document had the expected root, closed, with no error anywhere.
    var isWellFormed: Bool { sawRoot && rootEnded && !sawError && depth == 0 }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        depth += 1
        if depth == 1 {
            if elementName == root && !sawRoot {
                sawRoot = true
            } else {
                sawError = true
                parser.abortParsing()
            }
        } else if depth == 2, names.contains(elementName), values[elementName] == nil {
            current = elementName
            text = ""
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if current != nil, depth == 2 { text += string }
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        if depth == 2, let name = current {
            values[name] = text
            current = nil
        }
        if depth == 1 { rootEnded = true }
        depth -= 1
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        sawError = true
    }

    func parser(_ parser: XMLParser, validationErrorOccurred validationError: any Error) {
        sawError = true
    }
}
