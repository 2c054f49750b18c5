import NIOCore
import NIOPosix

extension HTTPServer {
    /// Makes NIO's singleton event loops, the ones the HTTP server's connections run on, also run Swift's
    /// tasks, instead of Swift's global executor. Each request's handler then runs on its
    /// connection's own thread rather than hopping to a cooperative thread and back several times per
    /// request (scripts/bench-http, 4 KiB requests: docs/http.md has the figures).
    ///
    /// Call it once, from the main thread, before any task starts: `imprint serve` does so from a
    /// synchronous `main`. Only for a process whose async code never blocks a thread (waiting on a
    /// `Process`, a semaphore, `EventLoopFuture.wait()`): such code would stall a loop's connections, or
    /// deadlock when the task it waits for was queued on the loop it holds. Returns false when the
    /// hook could not be installed (the tasks then stay on Swift's own executor).
    @discardableResult
    public static func runTasksOnEventLoops() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
