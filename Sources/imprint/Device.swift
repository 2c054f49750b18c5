import ArgumentParser
import Foundation
import ImprintBuilder
import ImprintCore

extension Imprint {
    struct Device: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Assign machines, by MAC address, a profile and an image.",
            subcommands: [Add.self, List.self, Remove.self, Capture.self, Rearm.self])
    }
}

extension Imprint.Device {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a device (or many, from a CSV file): its assignment, identity initrd and iPXE script.",
            discussion: """
                Writes STORE/devices/<mac>/{assignment.json,identity.cpio,boot.ipxe}, the device's token hash under \
                STORE/secrets/devices/, and STORE/devices/default.ipxe. With --from, FILE.csv has the header \
                mac,profile,image,hostname; every line is checked before any device is written.
                """)

        @Argument(help: ArgumentHelp("The machine's MAC address (52:54:00:12:34:56 or 52-54-00-12-34-56).", valueName: "MAC"))
        var mac: String?

        @Option(help: ArgumentHelp("The built profile to boot.", valueName: "P"))
        var profile: String?

        @Option(help: ArgumentHelp("The image to deploy.", valueName: "NAME"))
        var image: String?

        @Option(help: ArgumentHelp("The device's host name.", valueName: "H"))
        var hostname: String?

        @Option(name: .customLong("file"), help: ArgumentHelp("Copy SRC into the deployed system at DST (repeatable).", valueName: "SRC:DST"))
        var files: [String] = []

        @Option(name: .customLong("user-data"), help: ArgumentHelp("A cloud-init user-data file: the deployed system gets a NoCloud seed (meta-data made from the MAC and host name).", valueName: "FILE"))
        var userData: String?

        @Option(name: .customLong("part"), help: ArgumentHelp("For a tar image: a partition of the layout it is deployed onto, in order (repeatable; default esp:256M:vfat:/boot/efi and root:rest:ext4:/). SIZE is 64M, 2G or rest (the last only); FS ext4, vfat or none.", valueName: "NAME:SIZE:FS[:MOUNT]"))
        var parts: [String] = []

        @Option(help: ArgumentHelp("What the machine does once the image is written: reboot, poweroff or kexec (into the deployed root's /boot/vmlinuz).", valueName: "ACTION"))
        var after: String = "reboot"

        @Option(name: .customLong("dmi-uuid"), help: ArgumentHelp("Bind the assignment to the machine with this DMI (SMBIOS) UUID as well as its MAC: another machine's agent refuses it.", valueName: "UUID"))
        var dmiUuid: String?

        @Option(help: ArgumentHelp("Bind the assignment to the machine with this DMI serial number as well as its MAC.", valueName: "SERIAL"))
        var serial: String?

        @Option(help: ArgumentHelp("The assignment is refused by the agent from this UTC time on (2026-12-31T00:00:00Z).", valueName: "TIME"))
        var expires: String?

        @Option(name: .customLong("server"), help: ArgumentHelp("Store URL for the identity, tried in order (repeatable; default: the profile's agent.server).", valueName: "URL"))
        var servers: [String] = []

        @Option(name: .customLong("from"), help: ArgumentHelp("Add every device of a CSV file (mac,profile,image,hostname).", valueName: "FILE.csv"))
        var csv: String?

        @Flag(help: "Replace existing devices (with new tokens).")
        var force = false

        @OptionGroup var store: StoreOptions

        /// Files larger than this belong in the image, not in every assignment.
        static let fileLimit = 1 << 20

        func validate() throws {
            if csv != nil {
                if mac != nil || profile != nil || image != nil || hostname != nil {
                    throw ValidationError("--from FILE.csv takes mac, profile, image and hostname from the file: give no MAC, --profile, --image or --hostname with it")
                }
            } else {
                if mac == nil { throw ValidationError("give the device's MAC address, or --from FILE.csv") }
                if profile == nil { throw ValidationError("give --profile P (a built profile)") }
                if image == nil { throw ValidationError("give --image NAME (an image added with imprint image add)") }
            }
            if csv != nil && (dmiUuid != nil || serial != nil) {
                throw ValidationError("--dmi-uuid and --serial bind one machine: give them without --from")
            }
            if let expires, UTCTime.parse(expires) == nil {
                throw ValidationError("--expires \(expires): give a UTC time such as 2026-12-31T00:00:00Z")
            }
            for server in servers where !(server.hasPrefix("http://") || server.hasPrefix("https://")) {
                throw ValidationError("--server \(server) is not an http:// or https:// URL")
            }
        }

        func run() throws {
            do {
                let store = try self.store.open(create: false)
                let fileEntries = try files.map(readFileOption)
                let requests: [DeviceRequest]
                if let csv {
                    guard let data = FileManager.default.contents(atPath: csv) else {
                        throw CommandFailure("cannot read \(csv): give a CSV file with the header mac,profile,image,hostname")
                    }
                    requests = try DeviceCSV.parse(String(decoding: data, as: UTF8.self))
                } else {
                    requests = [DeviceRequest(mac: mac ?? "", profile: profile ?? "", image: image ?? "", hostname: hostname)]
                }
                var seed: DeviceAssignment.CloudInit?
                if let userData {
                    guard let data = FileManager.default.contents(atPath: userData), data.count <= Self.fileLimit else {
                        throw CommandFailure("--user-data \(userData): cannot read it, or it is over 1 MiB")
                    }
                    seed = DeviceAssignment.CloudInit(userData: String(decoding: data, as: UTF8.self))
                }
                guard let afterAction = DeviceAssignment.After(rawValue: after) else {
                    throw CommandFailure("--after \(after): give reboot, poweroff or kexec")
                }
                var layout: DiskLayout?
                if !parts.isEmpty {
                    do {
                        layout = try DiskLayout(try parts.map { (spec: String) throws(StoreManifestError) -> DiskLayout.Partition in try DiskLayout.partition(spec: spec) })
                    } catch {
                        throw CommandFailure("device add failed: \(error) (the --part options)")
                    }
                }
                let added = try store.addDevices(requests, servers: servers.map(trimmedURL), files: fileEntries, cloudInit: seed,
                                                 after: afterAction, layout: layout, dmiUuid: dmiUuid, serial: serial, expires: expires, force: force)
                if csv != nil {
                    print("added \(added.count) device\(added.count == 1 ? "" : "s") to \(store.root)")
                } else {
                    for a in added {
                        print("\(a.mac.hyphenated): profile \(a.profile), image \(a.imageName)\(a.hostname.map { ", host \($0)" } ?? "")")
                    }
                }
            } catch let error as StoreError {
                throw CommandFailure("device add failed: \(error)")
            } catch let error as DeviceBatchError {
                throw CommandFailure("device add failed: \(error)")
            }
        }

        private func trimmedURL(_ url: String) -> String {
            var u = url
            while u.hasSuffix("/") { u.removeLast() }
            return u
        }

        /// `SRC:DST`: SRC's bytes and permission bits, to be written at the absolute path DST.
        private func readFileOption(_ option: String) throws -> DeviceAssignment.File {
            guard let colon = option.lastIndex(of: ":") else {
                throw CommandFailure("--file \(option): write it as SRC:DST, e.g. --file motd:/etc/motd")
            }
            let source = String(option[..<colon]), destination = String(option[option.index(after: colon)...])
            guard destination.hasPrefix("/"), !destination.split(separator: "/").contains("..") else {
                throw CommandFailure("--file \(option): DST must be an absolute path without '..' in the deployed system")
            }
            guard let data = FileManager.default.contents(atPath: source) else {
                throw CommandFailure("--file \(option): cannot read \(source)")
            }
            guard data.count <= Self.fileLimit else {
                throw CommandFailure("--file \(option): \(source) is over 1 MiB; put large files into the image")
            }
            let mode = (try? FileManager.default.attributesOfItem(atPath: source)[.posixPermissions] as? Int).flatMap { $0 } ?? 0o644
            return DeviceAssignment.File(path: destination, mode: UInt32(mode & 0o7777), content: [UInt8](data))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the store's devices.")

        @Flag(help: "Print the assignments as a JSON array.")
        var json = false

        @OptionGroup var store: StoreOptions

        func run() throws {
            let store: Store
            do { store = try self.store.open(create: false) } catch let error as StoreError { throw CommandFailure("\(error)") }
            let devices = store.devices()
            if json {
                let values: [JSONValue] = devices.map { device in
                    guard let a = device.assignment else { return ["mac": .string(device.mac.colon), "error": .string(device.problem ?? "?")] }
                    var object: JSONObject = ["mac": .string(a.mac.colon), "profile": .string(a.profile), "image": .string(a.imageName)]
                    object["hostname"] = a.hostname.map { .string($0) } ?? .null
                    object["mode"] = .string(a.mode.rawValue)
                    return .object(object)
                }
                print(JSONValue.array(values).serialized(pretty: true))
                return
            }
            var table = TextTable(header: ["MAC", "HOSTNAME", "PROFILE", "IMAGE", "MODE"])
            for device in devices {
                if let a = device.assignment {
                    table.add([a.mac.hyphenated, a.hostname ?? "-", a.profile, a.imageName, a.mode.rawValue])
                } else {
                    table.add([device.mac.hyphenated, "?", "?", "?", device.problem ?? "?"])
                }
            }
            print(table.rendered, terminator: "")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a device: its folder and token hash (its reports stay).")

        @Argument(help: ArgumentHelp("The machine's MAC address.", valueName: "MAC"))
        var mac: String

        @OptionGroup var store: StoreOptions

        func run() throws {
            do {
                let address = try MACAddress(parsing: mac)
                let store = try self.store.open(create: false)
                try store.removeDevice(address)
                print("removed device \(address.hyphenated)")
            } catch let error as MACAddressError {
                throw CommandFailure("device remove failed: \(error)")
            } catch let error as StoreError {
                throw CommandFailure("device remove failed: \(error)")
            }
        }
    }
}

extension Imprint.Device {
    struct Rearm: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Let a device claim a new token again (after a reboot into the agent, or a refused claim).",
            discussion: """
                An identity served over PXE carries no token: the agent claims one once (POST devices/<mac>/claim) \
                and a second claim is refused and shown by imprint status. Rearming lets the next claim succeed; \
                the token claimed before stops working at once (docs/security.md).
                """)

        @Argument(help: ArgumentHelp("The machine's MAC address.", valueName: "MAC"))
        var mac: String

        @OptionGroup var store: StoreOptions

        func run() throws {
            do {
                let address = try MACAddress(parsing: mac)
                let store = try self.store.open(create: false)
                guard FileManager.default.fileExists(atPath: store.assignment(address)) else {
                    throw CommandFailure("device rearm failed: no device \(address.colon) in \(store.root): imprint device list shows the devices")
                }
                let rearms = try store.armClaim(address)
                print("\(address.hyphenated): armed (rearm \(rearms)): its next claim gets a new token")
            } catch let error as MACAddressError {
                throw CommandFailure("device rearm failed: \(error)")
            } catch let error as StoreError {
                throw CommandFailure("device rearm failed: \(error)")
            }
        }
    }
}
