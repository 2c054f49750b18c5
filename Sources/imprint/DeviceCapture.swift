import ArgumentParser
import Foundation
import ImprintBuilder
import ImprintCore

extension Imprint.Device {
    struct Capture: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Capture a machine's disk into the store's incoming/ (publish it with imprint image accept).",
            discussion: """
                Rewrites the device's assignment with mode capture: the next time its agent boots it reads the whole \
                disk and uploads it, zstd-compressed, to uploads/<mac>/NAME on --upload-to (default: the server it \
                booted from). A new device is added first with --profile. Give the machine's NIC boot priority: its \
                disk boots a system now (docs/capture.md).
                """)

        @Argument(help: ArgumentHelp("The machine's MAC address (52:54:00:12:34:56 or 52-54-00-12-34-56).", valueName: "MAC"))
        var mac: String

        @Option(help: ArgumentHelp("The name the captured image gets.", valueName: "NAME"))
        var name: String

        @Option(help: ArgumentHelp("The built profile to boot, for a device not yet in the store.", valueName: "P"))
        var profile: String?

        @Option(help: ArgumentHelp("Which disk to read: a device path such as /dev/vda, or largest-non-removable (default).", valueName: "RULE"))
        var disk: String = "largest-non-removable"

        @Option(name: .customLong("upload-to"), help: ArgumentHelp("The store URL the agent uploads to (default: the server it booted from).", valueName: "URL"))
        var uploadTo: String?

        @Flag(help: "Capture even if NAME exists in incoming/ or images/ (replacing it on accept).")
        var force = false

        @OptionGroup var store: StoreOptions

        func validate() throws {
            if let problem = ImageDescriptor.problem(withName: name) { throw ValidationError("--name \(name) \(problem)") }
            if disk != "largest-non-removable" && !disk.hasPrefix("/") {
                throw ValidationError("--disk \(disk): give a device path (/dev/vda) or largest-non-removable")
            }
            if let uploadTo, !(uploadTo.hasPrefix("http://") || uploadTo.hasPrefix("https://")) {
                throw ValidationError("--upload-to \(uploadTo) is not an http:// or https:// URL")
            }
        }

        func run() throws {
            do {
                let address = try MACAddress(parsing: mac)
                let store = try self.store.open(create: false)
                if !force {
                    if FileManager.default.fileExists(atPath: store.imageDescriptor(name)) {
                        throw CommandFailure("device capture failed: image '\(name)' exists: choose another --name, or pass --force to replace it on accept")
                    }
                    if FileManager.default.fileExists(atPath: "\(store.root)/incoming/\(name)") {
                        throw CommandFailure("device capture failed: a capture '\(name)' waits in incoming/: accept it (imprint image accept \(name)), choose another --name, or pass --force")
                    }
                }
                let path = store.assignment(address)
                if !FileManager.default.fileExists(atPath: path) {
                    guard let profile else {
                        throw CommandFailure("device capture failed: \(address.hyphenated) is not in the store: give --profile P to add it")
                    }
                    // device add needs an image to bind; any one does, the capture assignment replaces it below.
                    guard let anyImage = store.imageNames().first else {
                        throw CommandFailure("device capture failed: adding \(address.hyphenated) needs an image in the store (imprint image add, or imprint image demo)")
                    }
                    try store.addDevices([DeviceRequest(mac: address.colon, profile: profile, image: anyImage)])
                }
                guard let text = FileManager.default.contents(atPath: path).map({ String(decoding: $0, as: UTF8.self) }) else {
                    throw CommandFailure("device capture failed: cannot read \(path)")
                }
                var assignment = try DeviceAssignment.parse(text)
                assignment.mode = .capture
                assignment.uploadTo = uploadTo.map { var u = $0; while u.hasSuffix("/") { u.removeLast() }; return u }
                assignment.imageName = name
                assignment.imageSha256 = ""
                assignment.disk = disk.hasPrefix("/") ? .path(disk) : .largestNonRemovable
                try store.writeAssignment(assignment)
                // A new assignment rearms: the machine that claimed a token for its deploy claims again.
                try store.armClaim(address)
                print("\(address.hyphenated): capture \(name) on its next boot (\(disk)), upload to \(assignment.uploadTo ?? "the server it boots from")")
            } catch let error as MACAddressError {
                throw CommandFailure("device capture failed: \(error)")
            } catch let error as StoreError {
                throw CommandFailure("device capture failed: \(error)")
            } catch let error as DeviceBatchError {
                throw CommandFailure("device capture failed: \(error)")
            } catch let error as StoreManifestError {
                throw CommandFailure("device capture failed: the assignment: \(error)")
            }
        }
    }
}
