import Foundation

extension Process {
    /// Waits until the process exits and returns its status, without holding one of the test
    /// pool's threads: `waitUntilExit()` would block one of the two, and stall other suites'
    /// tasks (and their timing checks) meanwhile. Its output must fit a pipe's buffer (64 KiB)
    /// if it goes to a pipe that is only read afterwards.
    public func exitStatus() async throws -> Int32 {
        while isRunning { try await Task.sleep(for: .milliseconds(10)) }
        return terminationStatus
    }
}
