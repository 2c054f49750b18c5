import ArgumentParser
import ImprintBuilder
import Foundation
import Glibc

/// Options every subcommand shares.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The store folder.", valueName: "DIR"))
    var store: String = "./store"

    @Option(name: .long, help: ArgumentHelp("The keys folder (default: STORE.keys beside the store; never inside it).", valueName: "DIR"))
    var keys: String?

    /// Opens the store with its keys folder (checked: never inside the store).
    func open(create: Bool) throws -> Store {
        try Store.open(path, create: create, keys: keys)
    }

    /// The store path without a trailing slash.
    var path: String {
        var p = store
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p
    }
}

/// Writes a line to stderr, in one `write` when it fits (`serve`'s access log calls this once per
/// request: through FileHandle and Data it cost a tenth of a small request's time).
func say(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { bytes in
        var done = 0
        while done < bytes.count, let base = bytes.baseAddress {
            let n = Glibc.write(2, base + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            done += n
        }
    }
}

/// A failure the user can act on: printed as `imprint: error: ...` with a non-zero exit.
struct CommandFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
    init(_ message: String) { self.message = message }
}
