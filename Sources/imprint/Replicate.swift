import ArgumentParser
import Foundation
import ImprintCore
import ImprintServer

extension Imprint {
    struct Replicate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy what a site needs for some devices and images from the main office, ahead of time.",
            discussion: """
                Copies each device's assignment, boot script and identity, its image, its profile's boot files, \
                each --image and every blob they name, into the site's store (created if missing). At most \
                --rate; run it again to resume where it stopped (blobs resume with Range and are checked \
                against their SHA-256). Then imprint serve --upstream serves them with the WAN down (docs/scale.md).
                """)

        @Option(help: ArgumentHelp("The main office's store URL.", valueName: "URL"))
        var from: String

        @Option(help: ArgumentHelp("A file holding the site token (imprint site add NAME at the main office).", valueName: "FILE"))
        var siteToken: String

        @Option(name: .customLong("device"), help: ArgumentHelp("A device to prepare (repeatable).", valueName: "MAC"))
        var devices: [String] = []

        @Option(name: .customLong("image"), help: ArgumentHelp("An image to copy (repeatable).", valueName: "NAME"))
        var images: [String] = []

        @Flag(help: "Have the main office mint each --device's next token now and keep it here, so the site answers its claim with the WAN down (docs/security.md).")
        var delegate = false

        @Option(help: ArgumentHelp("Most bytes per second, such as 50MB/s or 400KiB/s (default: no limit).", valueName: "RATE"))
        var rate: String?

        @OptionGroup var store: StoreOptions

        func validate() throws {
            do { try MirrorUpstream.validate(url: from) } catch { throw ValidationError("\(error)".replacingOccurrences(of: "--upstream", with: "--from")) }
            if let rate {
                do { _ = try MirrorRate(parsing: rate) } catch { throw ValidationError("\(error)") }
            }
            for device in devices {
                do { _ = try MACAddress(parsing: device) } catch { throw ValidationError("--device \(device): \(error)") }
            }
            if delegate && devices.isEmpty { throw ValidationError("--delegate goes with --device MAC") }
            guard !devices.isEmpty || !images.isEmpty else { throw ValidationError("name at least one --device MAC or --image NAME to copy") }
        }

        func run() async throws {
            let token = try readSiteToken(siteToken)
            let macs = try devices.map { try MACAddress(parsing: $0) }
            let limit = try rate.map { try MirrorRate(parsing: $0) }
            let replicator = Replicator(root: store.path, upstream: MirrorUpstream(url: from, siteToken: token), rate: limit) { say($0) }
            let summary: Replicator.Summary
            do {
                summary = try await replicator.run(devices: macs, images: images)
            } catch {
                throw CommandFailure("replicate: \(error)")
            }
            if delegate {
                for mac in macs {
                    do {
                        try await ClaimDelegation.delegate(upstream: MirrorUpstream(url: from, siteToken: token), root: store.path, mac: mac)
                    } catch {
                        throw CommandFailure("replicate: \(error)")
                    }
                    print("replicate: \(mac.hyphenated)'s next token minted at the main office and kept here for its claim")
                }
            }
            let rateText = summary.seconds > 0 ? String(format: "%.1f", Double(summary.bytes) / summary.seconds / 1e6) : "-"
            print("replicate: \(summary.fetched) files fetched, \(summary.unchanged) unchanged, \(summary.missing) absent upstream (optional); "
                  + "\(summary.blobsFetched) blobs fetched, \(summary.blobsHeld) already held; \(summary.bytes) bytes in "
                  + String(format: "%.1f", summary.seconds) + " s (\(rateText) MB/s)")
        }
    }
}
