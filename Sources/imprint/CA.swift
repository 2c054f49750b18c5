import ArgumentParser
import Foundation
import ImprintBuilder
import ImprintCore

extension Imprint {
    struct CA: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ca",
            abstract: "The certificate authority behind imprint serve --https.",
            subcommands: [Init.self])
    }
}

extension Imprint.CA {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a CA and a server certificate for HTTPS, with these names and addresses.",
            discussion: """
                Writes ca.key, ca.pem, server.key and server.pem (the server's certificate, then the CA's) \
                into the keys folder, 0600. An existing CA is kept, so identities and media that pin it stay \
                valid, and only the server certificate is made anew; --new-ca replaces the CA too. Every \
                device's identity gets the CA certificate (`ca`), which its agent then accepts alone for \
                https:// servers (give them with imprint device add --server https://NAME:PORT). \
                Certificates are valid from 2000-01-01: a machine's clock may be years off before it syncs \
                (docs/security.md).
                """)

        @Option(name: .customLong("name"), help: ArgumentHelp("A DNS name agents reach the server by (repeatable).", valueName: "NAME"))
        var names: [String] = []

        @Option(name: .customLong("ip"), help: ArgumentHelp("An address agents reach the server at (repeatable).", valueName: "ADDR"))
        var addresses: [String] = []

        @Option(help: "Days the server certificate is valid (from now; serve warns 30 days before the end).")
        var days: Int = 825

        @Flag(name: .customLong("new-ca"), help: "Replace the CA as well (media and identities made before stop trusting the server).")
        var newCA = false

        @OptionGroup var store: StoreOptions

        func validate() throws {
            guard !names.isEmpty || !addresses.isEmpty else {
                throw ValidationError("give the names and addresses agents connect to: --name NAME and/or --ip ADDR (such as --ip 10.0.2.2)")
            }
            guard (1...36_500).contains(days) else { throw ValidationError("--days \(days): give 1 to 36500") }
        }

        func run() throws {
            do {
                let store = try self.store.open(create: false)
                let made = try store.keys.initCA(names: names, addresses: addresses, days: days, newCA: newCA)
                let identities = try store.updateIdentities { $0.ca = made.ca.certificatePEM }
                let server = try Certificates.summary(made.server.certificatePEM)
                let ca = try Certificates.summary(made.ca.certificatePEM)
                print("\(made.keptCA ? "kept" : "made") the CA in \(store.keys.path)/\(KeysDirectory.caCertificateName) (\(ca.subject), until \(UTCTime.format(epochSeconds: ca.notAfter)))")
                print("made \(store.keys.path)/\(KeysDirectory.serverCertificateName) for \((names + addresses).joined(separator: ", ")), valid \(UTCTime.format(epochSeconds: server.notBefore)) to \(UTCTime.format(epochSeconds: server.notAfter))")
                print("\(identities) identities now pin this CA; serve it with imprint serve --https ADDR:PORT, and give devices --server https://\(names.first ?? addresses[0]):PORT")
                if !made.keptCA && identities > 0 {
                    print("media made before (imprint iso, imprint usb) pin no CA or the old one: make them again")
                }
            } catch let error as StoreError {
                throw CommandFailure("ca init failed: \(error)")
            }
        }
    }
}
