import ImprintDigest
import Foundation
import ImprintCore

/// One device for `device add`: a command line's arguments, or a line of a CSV file.
public struct DeviceRequest: Sendable {
    public var mac: String
    public var profile: String
    public var image: String
    public var hostname: String?
    /// The CSV line it came from, for error messages.
    public var line: Int?

    public init(mac: String, profile: String, image: String, hostname: String? = nil, line: Int? = nil) {
        self.mac = mac
        self.profile = profile
        self.image = image
        self.hostname = hostname
        self.line = line
    }
}

/// Requests that cannot be added, every problem with its line; nothing was written.
public struct DeviceBatchError: Error, CustomStringConvertible {
    public var problems: [(line: Int?, message: String)]
    public var description: String {
        let shown = problems.prefix(20).map { ($0.line.map { "line \($0): " } ?? "") + $0.message }
        let more = problems.count > 20 ? ["... and \(problems.count - 20) more"] : []
        let plural = problems.count == 1 ? "" : "s"
        return (["\(problems.count) problem\(plural); no device was added:"] + shown + more).joined(separator: "\n  ")
    }
}

extension Store {
    /// A device as `device list` shows it.
    public struct Device: Sendable {
        public var mac: MACAddress
        public var assignment: DeviceAssignment?
        /// Why `assignment.json` could not be read, if it could not.
        public var problem: String?
    }

    /// Adds devices: validates every request first (MAC, profile built, image present, host name,
    /// duplicates, existing devices unless `force`) and writes nothing if any is bad. Then, per
    /// device: its claim armed under `secrets/devices/` (docs/security.md), and a folder with `assignment.json`
    /// (0600), `identity.cpio` and `boot.ipxe`, assembled under a temporary name and renamed into
    /// place whole. Profiles and images are read once per call, whatever the number of devices.
    ///
    /// `servers` go into every identity; empty means each profile's `agent.server`.
    @discardableResult
    public func addDevices(_ requests: [DeviceRequest], servers: [String] = [], files: [DeviceAssignment.File] = [],
                           cloudInit: DeviceAssignment.CloudInit? = nil, after: DeviceAssignment.After = .reboot,
                           layout: DiskLayout? = nil, dmiUuid: String? = nil, serial: String? = nil, expires: String? = nil,
                           force: Bool = false) throws -> [DeviceAssignment] {
        var problems: [(line: Int?, message: String)] = []
        var profiles: [String: Result<BuiltProfile, StoreError>] = [:]
        var images: [String: Result<ImageDescriptor, StoreError>] = [:]
        var seen: [MACAddress: Int] = [:]
        var plan: [(mac: MACAddress, profile: BuiltProfile, image: ImageDescriptor, hostname: String?)] = []
        let existing = Set(FileIO.list(devicesDirectory))
        for (index, request) in requests.enumerated() {
            let line = request.line
            func problem(_ message: String) { problems.append((line, message)) }
            let mac: MACAddress
            do {
                mac = try MACAddress(parsing: request.mac)
            } catch {
                problem("\(error)")
                continue
            }
            if let first = seen[mac] {
                problem("\(mac.colon) is listed twice (first \(requests[first].line.map { "on line \($0)" } ?? "earlier"))")
                continue
            }
            seen[mac] = index
            if existing.contains(mac.hyphenated) && !force {
                problem("device \(mac.colon) exists: remove it first (imprint device remove \(mac.hyphenated)) or pass --force to replace it")
            }
            if let hostname = request.hostname, let why = Hostname.problem(with: hostname) {
                problem("host name '\(hostname)' \(why)")
            }
            let profile = profiles[request.profile] ?? Result { try loadProfile(request.profile) }.mapError { $0 as? StoreError ?? StoreError("\($0)") }
            profiles[request.profile] = profile
            let image = images[request.image] ?? Result { try loadImage(request.image) }.mapError { $0 as? StoreError ?? StoreError("\($0)") }
            images[request.image] = image
            switch (profile, image) {
            case let (.success(profile), .success(image)):
                if servers.isEmpty && profile.defaultServer == nil {
                    problem("profile '\(profile.name)' names no agent.server: pass --server URL")
                } else if layout != nil && image.format != .tar {
                    problem("image '\(image.name)' is a \(image.format.rawValue) disk image, which brings its own partitions: --part applies to tar images only")
                } else {
                    plan.append((mac, profile, image, request.hostname))
                }
            case let (profile, image):
                if case .failure(let error) = profile { problem(error.description) }
                if case .failure(let error) = image { problem(error.description) }
            }
        }
        guard problems.isEmpty else { throw DeviceBatchError(problems: problems) }

        try makeFolders(["devices", "secrets", "secrets/devices"])
        // One thread: parallel writers were measured no faster here (10,000 devices in 3.3 s with
        // one, 3.3-3.6 s with two), since the time goes to the kernel's locks on devices/.
        var written: [DeviceAssignment] = []
        written.reserveCapacity(plan.count)
        let key = try manifestKey()
        let ca = try keys.caCertificatePEM()
        for item in plan {
            let identity = DeviceIdentity(mac: item.mac, hostname: item.hostname,
                                          servers: servers.isEmpty ? [item.profile.defaultServer].compactMap { $0 } : servers,
                                          manifestKey: key.publicKeyBase64, ca: ca)
            var assignment = DeviceAssignment(mac: item.mac, profile: item.profile.name, imageName: item.image.name,
                                              imageSha256: item.image.blob, hostname: item.hostname, files: files)
            assignment.cloudInit = cloudInit
            assignment.after = after
            assignment.layout = layout
            assignment.dmiUuid = dmiUuid
            assignment.serial = serial
            assignment.expires = expires
            let script = IPXEScript.device(mac: item.mac, hostname: item.hostname, profile: item.profile.script)
            // No token in the identity, which PXE serves to anyone: the agent claims one, once.
            try armClaim(item.mac)
            let manifest = Array(assignment.serialized.utf8)
            try publishDevice(item.mac, files: [
                ("assignment.json", manifest, 0o600),
                ("assignment.json.sig", try key.signatureFile(for: manifest), 0o644),
                ("identity.cpio", identity.cpio, 0o644),
                ("boot.ipxe", Array(script.utf8), 0o644),
            ])
            written.append(assignment)
        }
        try writeDiscoveryScript()
        return written
    }

    /// Writes a device's files into a hidden staging folder, then renames it to `devices/<mac>`,
    /// replacing an old one: a reader sees the old device or the new one, never a mix.
    private func publishDevice(_ mac: MACAddress, files: [(name: String, bytes: [UInt8], mode: mode_t)]) throws {
        let target = deviceDirectory(mac)
        // Unique per process and device: a batch writes each MAC once, and O_EXCL-style mkdir catches the rest.
        let staging = "\(devicesDirectory)/.\(mac.hyphenated).\(getpid()).partial"
        guard mkdir(staging, 0o755) == 0, chmod(staging, 0o755) == 0 else {
            throw StoreError("cannot create \(staging): \(FileIO.errnoText())")
        }
        var published = false
        defer { if !published { try? FileIO.removeTree(staging) } }
        for file in files {
            let path = "\(staging)/\(file.name)"
            let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, file.mode)
            guard fd >= 0 else { throw StoreError("cannot create \(path): \(FileIO.errnoText())") }
            defer { close(fd) }
            guard fchmod(fd, file.mode) == 0 else { throw StoreError("cannot set the mode of \(path): \(FileIO.errnoText())") }
            try FileIO.writeAll(fd, file.bytes, path: path)
        }
        if FileIO.exists(target) {
            let old = "\(devicesDirectory)/.\(mac.hyphenated).\(getpid()).old"
            guard rename(target, old) == 0 else { throw StoreError("cannot move \(target) aside: \(FileIO.errnoText())") }
            guard rename(staging, target) == 0 else {
                rename(old, target)
                throw StoreError("cannot rename \(staging) to \(target): \(FileIO.errnoText())")
            }
            try? FileIO.removeTree(old)
        } else {
            guard rename(staging, target) == 0 else { throw StoreError("cannot rename \(staging) to \(target): \(FileIO.errnoText())") }
        }
        published = true
    }

    /// Every device folder under `devices/`, sorted by MAC.
    public func devices() -> [Device] {
        FileIO.list(devicesDirectory).compactMap { name -> Device? in
            guard !name.hasPrefix("."), let mac = try? MACAddress(parsing: name), mac.hyphenated == name else { return nil }
            guard let text = FileIO.readText(assignment(mac)) else { return Device(mac: mac, problem: "no readable assignment.json") }
            do {
                return Device(mac: mac, assignment: try DeviceAssignment.parse(text))
            } catch {
                return Device(mac: mac, problem: "assignment.json: \(error)")
            }
        }.sorted { $0.mac < $1.mac }
    }

    /// Removes `devices/<mac>/` and the device's token hash. Its reports stay.
    public func removeDevice(_ mac: MACAddress) throws {
        let target = deviceDirectory(mac)
        guard FileIO.isDirectory(target) else {
            throw StoreError("no device \(mac.colon) in \(root): imprint device list shows the devices")
        }
        // Renamed away first, so the device disappears at once, whatever the removal takes.
        let doomed = FileIO.temporaryName(for: target) + ".removed"
        guard rename(target, doomed) == 0 else { throw StoreError("cannot remove \(target): \(FileIO.errnoText())") }
        try FileIO.removeTree(doomed)
        unlink(tokenHash(mac))
        unlink("\(root)/\(DeviceClaim.armed(mac))")
        unlink("\(root)/\(DeviceClaim.claimed(mac))")
    }
}
