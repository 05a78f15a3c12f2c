import Foundation
import StoreTestSupport

/// A file with given contents in a fresh temporary folder.
struct TemporaryFile {
    let folder: TemporaryDirectory
    let path: String

    init(contents: String) throws {
        folder = try TemporaryDirectory()
        path = folder.path("file")
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func remove() { folder.remove() }
}
