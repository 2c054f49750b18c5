import ArgumentParser
import ImprintBuilder
import Foundation

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

/// Writes a line to stderr.
func say(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// A failure the user can act on: printed as `imprint: error: ...` with a non-zero exit.
struct CommandFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
    init(_ message: String) { self.message = message }
}
