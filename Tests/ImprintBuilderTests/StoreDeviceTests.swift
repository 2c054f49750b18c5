import Foundation
import ImprintCore
import Testing

@testable import ImprintBuilder

@Suite("Store devices")
struct StoreDeviceTests {
    /// A store with the qemu-virtio profile and image `disk`.
    static func ready() throws -> StoreFixture {
        let f = try StoreFixture()
        try f.fakeProfile()
        try f.rawImage()
        try f.store.addImage(file: "\(f.work)/disk.img", name: "disk")
        return f
    }

    @Test func writesAssignmentIdentityScriptAndTokenHash() throws {
        let f = try Self.ready()
        defer { f.remove() }
        let mac = try MACAddress(parsing: "52:54:00:12:34:56")
        try f.store.addDevices([DeviceRequest(mac: "52-54-00-12-34-56", profile: "qemu-virtio", image: "disk", hostname: "host01")])

        let assignment = try DeviceAssignment.parse(String(decoding: try f.bytes(f.store.assignment(mac)), as: UTF8.self))
        #expect(assignment.imageName == "disk" && assignment.profile == "qemu-virtio" && assignment.hostname == "host01")
        #expect(assignment.imageSha256 == (try f.store.loadImage("disk")).blob)

        let entries = try Cpio.read(try f.bytes(f.store.identity(mac)))
        let identityEntry = try #require(entries.first { $0.name == DeviceIdentity.pathInInitrd })
        let identity = try DeviceIdentity.parse(String(decoding: identityEntry.data, as: UTF8.self))
        #expect(identity.mac == mac && identity.hostname == "host01" && identity.servers == ["http://10.0.2.2:8080"])
        // No token in what PXE serves to anyone: the claim is armed, and no token hash exists until claimed.
        #expect(identity.token == nil)
        #expect(f.store.claimState(mac) == Store.ClaimState(armed: true, claimed: false, rearms: 0, refusals: 0))
        #expect(!FileManager.default.fileExists(atPath: f.store.tokenHash(mac)))

        #expect(String(decoding: try f.bytes(f.store.bootScript(mac)), as: UTF8.self)
                == IPXEScript.device(mac: mac, hostname: "host01", profile: .init(name: "qemu-virtio", cmdline: "console=tty0 console=ttyS0")))
        #expect(String(decoding: try f.bytes(f.store.discoveryScript), as: UTF8.self)
                == IPXEScript.discovery(profile: .init(name: "qemu-virtio", cmdline: "console=tty0 console=ttyS0")))

        #expect(try f.mode(f.store.assignment(mac)) == 0o600)
        #expect(try f.mode("\(f.store.root)/\(DeviceClaim.armed(mac))") == 0o600)
        #expect(try f.mode(f.store.secretsDirectory) == 0o700)
        #expect(try f.mode("\(f.store.secretsDirectory)/devices") == 0o700)
        #expect(try f.mode(f.store.identity(mac)) == 0o644)
        #expect(try f.mode(f.store.bootScript(mac)) == 0o644)
        #expect(try f.mode(f.store.deviceDirectory(mac)) == 0o755)
        #expect(FileIO.list(f.store.devicesDirectory) == ["52-54-00-12-34-56", "default.ipxe"], "no staging folder is left")
    }

    @Test func existingDeviceNeedsForceAndForceRearmsTheClaim() throws {
        let f = try Self.ready()
        defer { f.remove() }
        let mac = try MACAddress(parsing: "52:54:00:12:34:56")
        let request = DeviceRequest(mac: mac.colon, profile: "qemu-virtio", image: "disk")
        try f.store.addDevices([request])
        let firstAssignment = try f.bytes(f.store.assignment(mac))
        #expect(f.store.claimState(mac).rearms == 0)
        let error = #expect(throws: DeviceBatchError.self) { try f.store.addDevices([request]) }
        #expect(error?.description.contains("--force") == true)
        #expect(try f.bytes(f.store.assignment(mac)) == firstAssignment)
        #expect(f.store.claimState(mac).rearms == 0, "a refused add leaves the claim alone")
        // --force writes the assignment anew and rearms: a token claimed before stops working.
        try FileIO.writeAtomically(Array("stale\n".utf8), to: f.store.tokenHash(mac), mode: 0o600)
        try f.store.addDevices([request], force: true)
        #expect(f.store.claimState(mac) == Store.ClaimState(armed: true, claimed: false, rearms: 1, refusals: 0))
        #expect(!FileManager.default.fileExists(atPath: f.store.tokenHash(mac)))
        #expect(FileIO.list(f.store.devicesDirectory) == ["52-54-00-12-34-56", "default.ipxe"])
    }

    @Test func aBatchWithAnyBadLineWritesNothing() throws {
        let f = try Self.ready()
        defer { f.remove() }
        let csv = """
            mac,profile,image,hostname
            52:54:00:00:00:01,qemu-virtio,disk,host1
            52:54:00:00:00:0Z,qemu-virtio,disk,host2
            52:54:00:00:00:03,nope,disk,host3
            52:54:00:00:00:04,qemu-virtio,nope,host4
            52:54:00:00:00:01,qemu-virtio,disk,again
            52:54:00:00:00:06,qemu-virtio,disk,bad_name

            """
        let requests = try DeviceCSV.parse(csv)
        let error = #expect(throws: DeviceBatchError.self) { try f.store.addDevices(requests) }
        let lines = (error?.problems ?? []).map { $0.line ?? 0 }
        #expect(lines == [3, 4, 5, 6, 7], "\(String(describing: error))")
        let text = error?.description ?? ""
        for words in ["'52:54:00:00:00:0Z' is not a MAC", "profile 'nope' is not built", "no image 'nope'", "listed twice (first on line 2)", "host name 'bad_name'"] {
            #expect(text.contains(words), "missing \(words) in \(text)")
        }
        #expect(!FileManager.default.fileExists(atPath: f.store.devicesDirectory))
        #expect(!FileManager.default.fileExists(atPath: f.store.secretsDirectory))
    }

    @Test(arguments: [
        ("", "the file is empty"),
        ("mac,image,profile,hostname\n", "the first line must be the header"),
        ("mac,profile,image,hostname\n52:54:00:00:00:01,qemu-virtio\n", "line 2: expected 4 fields"),
        ("mac,profile,image,hostname\n52:54:00:00:00:01,,disk,h\n", "line 2: profile and image must not be empty"),
    ])
    func malformedCSV(text: String, words: String) {
        let error = #expect(throws: DeviceBatchError.self) { try DeviceCSV.parse(text) }
        #expect(error?.description.contains(words) == true, "\(String(describing: error))")
    }

    @Test func csvAcceptsCRLFCommentsBlankLinesAndNoHostname() throws {
        let requests = try DeviceCSV.parse("# devices\r\nMAC,Profile,Image,Hostname\r\n\r\n52:54:00:00:00:01,p,i,\r\n52-54-00-00-00-02 , p , i , h2\r\n")
        #expect(requests.map(\.mac) == ["52:54:00:00:00:01", "52-54-00-00-00-02"])
        #expect(requests.map(\.hostname) == [nil, "h2"])
        #expect(requests.map(\.line) == [4, 5])
    }

    @Test func serversOverrideTheProfileAndAProfileWithoutOneNeedsThem() throws {
        let f = try Self.ready()
        defer { f.remove() }
        try f.fakeProfile("bare", server: nil)
        let request = DeviceRequest(mac: "52:54:00:00:00:01", profile: "bare", image: "disk")
        let error = #expect(throws: DeviceBatchError.self) { try f.store.addDevices([request]) }
        #expect(error?.description.contains("pass --server URL") == true)
        try f.store.addDevices([request], servers: ["http://a:8080", "http://b:8080"])
        let mac = try MACAddress(parsing: request.mac)
        let entries = try Cpio.read(try f.bytes(f.store.identity(mac)))
        let identity = try DeviceIdentity.parse(String(decoding: try #require(entries.last).data, as: UTF8.self))
        #expect(identity.servers == ["http://a:8080", "http://b:8080"])
    }

    @Test func discoveryKeepsItsProfileWhileItIsBuilt() throws {
        let f = try Self.ready()
        defer { f.remove() }
        try f.store.addDevices([DeviceRequest(mac: "52:54:00:00:00:01", profile: "qemu-virtio", image: "disk")])
        try f.fakeProfile("a-first")
        #expect(try f.store.writeDiscoveryScript() == "qemu-virtio")
        try FileManager.default.removeItem(atPath: f.store.profileDirectory("qemu-virtio"))
        #expect(try f.store.writeDiscoveryScript() == "a-first")
        #expect(String(decoding: try f.bytes(f.store.discoveryScript), as: UTF8.self).contains("../boot/a-first/vmlinuz"))
    }

    @Test func listAndRemove() throws {
        let f = try Self.ready()
        defer { f.remove() }
        try f.store.addDevices([
            DeviceRequest(mac: "52:54:00:00:00:02", profile: "qemu-virtio", image: "disk", hostname: "b"),
            DeviceRequest(mac: "52:54:00:00:00:01", profile: "qemu-virtio", image: "disk", hostname: "a"),
        ])
        #expect(f.store.devices().map(\.mac.hyphenated) == ["52-54-00-00-00-01", "52-54-00-00-00-02"])
        #expect(f.store.devices().map { $0.assignment?.hostname } == ["a", "b"])
        let refused = #expect(throws: StoreError.self) { try f.store.removeImage("disk") }
        #expect(refused?.description.contains("assigned to 2 devices") == true)

        let mac = try MACAddress(parsing: "52:54:00:00:00:01")
        try f.store.removeDevice(mac)
        #expect(f.store.devices().map(\.mac.hyphenated) == ["52-54-00-00-00-02"])
        #expect(!FileManager.default.fileExists(atPath: f.store.tokenHash(mac)))
        #expect(FileIO.list(f.store.devicesDirectory) == ["52-54-00-00-00-02", "default.ipxe"])
        #expect(throws: StoreError.self) { try f.store.removeDevice(mac) }
    }
}

@Suite("Store status")
struct StoreStatusTests {
    @Test func devicesAndDiscoveredMachines() throws {
        let f = try StoreDeviceTests.ready()
        defer { f.remove() }
        try f.store.addDevices([
            DeviceRequest(mac: "52:54:00:00:00:01", profile: "qemu-virtio", image: "disk", hostname: "a"),
            DeviceRequest(mac: "52:54:00:00:00:02", profile: "qemu-virtio", image: "disk"),
            DeviceRequest(mac: "52:54:00:00:00:03", profile: "qemu-virtio", image: "disk"),
        ])
        func put(_ mac: String, _ name: String, _ text: String) throws {
            try FileManager.default.createDirectory(atPath: "\(f.store.reportsDirectory)/\(mac)", withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: "\(f.store.reportsDirectory)/\(mac)/\(name)"))
        }
        try put("52-54-00-00-00-01", "status.json", #"{"version":1,"mac":"52:54:00:00:00:01","phase":"streaming","bytesWritten":5,"bytesTotal":10,"updated":"2026-11-21T23:28:50Z"}"#)
        try put("52-54-00-00-00-03", "status.json", "not json")
        try put("52-54-00-00-00-09", "inventory.json", "{}")

        let all = f.store.statuses()
        #expect(all.map(\.mac.hyphenated) == ["52-54-00-00-00-01", "52-54-00-00-00-02", "52-54-00-00-00-03", "52-54-00-00-00-09"])
        #expect(all[0].report?.phase == .streaming && all[0].hostname == "a" && all[0].isDevice)
        #expect(all[1].report == nil && all[1].reportProblem == nil)
        #expect(all[2].reportProblem?.contains("not valid JSON") == true)
        #expect(!all[3].isDevice && all[3].hasInventory && all[3].report == nil)
        #expect(f.store.status(of: try MACAddress(parsing: "52:54:00:00:00:01"))?.report?.bytesWritten == 5)
        #expect(f.store.status(of: try MACAddress(parsing: "52:54:00:00:00:77")) == nil)
    }
}
