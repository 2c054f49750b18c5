import ArgumentParser
import Foundation
import ImprintBuilder
import ImprintServer

extension Imprint {
    struct Site: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Site tokens for remote offices' mirrors (imprint serve --upstream).",
            subcommands: [Add.self, Remove.self])

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Make a site token and print it once.",
                discussion: """
                    Keeps only the token's SHA-256 under STORE/secrets/sites/NAME.sha256. Give the printed token to \
                    the site in a file: imprint serve --upstream URL --site-token FILE, or imprint replicate \
                    --site-token FILE (docs/scale.md).
                    """)

            @Argument(help: "The site's name: 1 to 64 of a-z 0-9 -.")
            var name: String

            @Flag(help: "Replace the site's token; the old one stops working.")
            var force = false

            @OptionGroup var store: StoreOptions

            func validate() throws {
                guard SiteToken.isValidName(name) else { throw ValidationError("site name '\(name)': use 1 to 64 of a-z 0-9 - (not starting with -)") }
            }

            func run() throws {
                guard FileManager.default.fileExists(atPath: store.path) else {
                    throw CommandFailure("site add: no store at \(store.path): give --store DIR (the main office's store)")
                }
                let folder = "\(store.path)/secrets/sites"
                let file = "\(folder)/\(name).sha256"
                if FileManager.default.fileExists(atPath: file) && !force {
                    throw CommandFailure("site add: site \(name) already has a token: --force replaces it (the old one stops working)")
                }
                // SystemRandomNumberGenerator is the system's CSPRNG (getrandom on Linux).
                var generator = SystemRandomNumberGenerator()
                let random = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let token = "\(name).\(random.map { String(format: "%02x", $0) }.joined())"
                do {
                    for path in ["\(store.path)/secrets", folder] {
                        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                        chmod(path, 0o700)
                    }
                    let temporary = "\(folder)/.\(name).\(getpid()).partial"
                    guard FileManager.default.createFile(atPath: temporary, contents: Data(SiteToken.storedHash(of: token).utf8), attributes: [.posixPermissions: 0o600]) else {
                        throw CommandFailure("site add: cannot write \(temporary)")
                    }
                    guard rename(temporary, file) == 0 else { throw CommandFailure("site add: cannot rename \(temporary) to \(file)") }
                } catch let failure as CommandFailure {
                    throw failure
                } catch {
                    throw CommandFailure("site add: \(error)")
                }
                print(token)
                say("site add: token for \(name) printed once; only its SHA-256 is kept in \(file)")
            }
        }

        struct Remove: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove a site's token; its mirror is refused from then on.")

            @Argument(help: "The site's name.")
            var name: String

            @OptionGroup var store: StoreOptions

            func run() throws {
                guard SiteToken.isValidName(name) else { throw CommandFailure("site remove: '\(name)' is not a site name") }
                let file = "\(store.path)/secrets/sites/\(name).sha256"
                guard unlink(file) == 0 else { throw CommandFailure("site remove: no site \(name) in \(store.path)") }
                say("site remove: \(name) removed")
            }
        }
    }
}

/// Reads a site token file (the line `imprint site add` printed).
func readSiteToken(_ path: String, flag: String = "--site-token") throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CommandFailure("\(flag) \(path): cannot read it; put the token imprint site add NAME printed at the main office in that file")
    }
    let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard SiteToken.name(of: token) != nil else {
        throw CommandFailure("\(flag) \(path) does not hold a site token (NAME.<64 hex digits>, as imprint site add NAME prints)")
    }
    return token
}
