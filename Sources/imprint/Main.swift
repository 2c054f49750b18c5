import Dispatch
import Glibc
import ImprintServer

/// The process's entry, synchronous so that `serve` can hand Swift's tasks to NIO's event loops before
/// the first task exists (`HTTPServer.runTasksOnEventLoops`; docs/http.md). Every other subcommand
/// blocks on child processes and files inside its tasks, so it keeps Swift's own executor.
@main
enum Main {
    static func main() {
        if CommandLine.arguments.dropFirst().first == "serve" {
            HTTPServer.runTasksOnEventLoops()
        }
        Task {
            // Exits itself with the right status on an error; returns on success.
            await Imprint.main()
            exit(0)
        }
        dispatchMain()
    }
}
