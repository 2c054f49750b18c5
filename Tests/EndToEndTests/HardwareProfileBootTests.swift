import Foundation
import Testing

/// Issue 7 in QEMU: each shipped QEMU profile boots on the hardware it names (its NIC and disk
/// driven through PCI IDs), a profile booted on hardware it lacks drivers for says which devices
/// are unbound, and an unknown machine's inventory becomes a recipe that boots it.
@Suite(.serialized) struct HardwareProfileBootTests {
    /// One store for the suite, the profiles built into it on first use.
    final class Profiles: @unchecked Sendable {
        let work: String
        var store: String { "\(work)/store" }
        private var built: Set<String> = []
        private let lock = NSLock()

        init() throws { work = try CLI.temporaryDirectory() }

        func build(_ recipe: String) throws {
            lock.lock()
            defer { lock.unlock() }
            guard !built.contains(recipe) else { return }
            let result = try CLI.run(["build", recipe, "--store", store])
            guard result.status == 0 else { throw SetupError("imprint build \(recipe): \(result.stderr)") }
            built.insert(recipe)
        }
    }

    static let profiles = Result { try Profiles() }

    /// The agent's own console lines of a probe boot.
    static func probe(profile: String, nic: String, diskBus: String, store: String) throws -> (status: Int32, agent: [String], all: String) {
        let lab = try CLI.run(["lab", "--profile", profile, "--nic", nic, "--disk-bus", diskBus, "--store", store,
                               "--append", "quiet imprint.mode=probe", "--timeout", "240"])
        let lines = lab.stdout.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        return (lab.status, lines.filter { $0.hasPrefix("imprint: ") }, lab.stderr + "\n" + lines.suffix(80).joined(separator: "\n"))
    }

    /// (profile, QEMU NIC, disk bus, the NIC's driver, the disk's name, the PCI IDs that must be bound).
    /// QEMU's pc machine always has a PIIX IDE controller (8086:7010) the profiles do not drive:
    /// the agent names it, so the check is per device.
    @Test(arguments: [
        ("qemu-legacy", "e1000", "ahci", "e1000", "sda", ["8086:100e", "8086:2922"]),
        ("qemu-modern", "e1000e", "nvme", "e1000e", "nvme0n1", ["8086:10d3", "1b36:0010"]),
        ("qemu-scsi", "virtio", "scsi", "virtio_net", "sda", ["1af4:1000", "1af4:1004"]),
    ])
    func aProfileDrivesTheHardwareItNames(profile: String, nic: String, diskBus: String, driver: String, disk: String, ids: [String]) throws {
        let profiles = try Self.profiles.get()
        try profiles.build("recipes/\(profile).yaml")
        let (status, agent, all) = try Self.probe(profile: profile, nic: nic, diskBus: diskBus, store: profiles.store)
        #expect(status == 0, "\(all)")
        #expect(agent.contains { $0.hasPrefix("imprint: nic eth0 mac 52:54:00:12:34:56 driver \(driver) link") }, "NIC driven by \(driver):\n\(all)")
        #expect(agent.contains { $0.hasPrefix("imprint: disk \(disk) size 67108864 ") }, "disk \(disk) seen:\n\(all)")
        for id in ids {
            #expect(!agent.contains { $0.contains("no driver for") && $0.contains(id) }, "\(id) is bound:\n\(all)")
        }
    }

    @Test func aProfileBootedOnHardwareItLacksNamesTheUnboundDevices() throws {
        let profiles = try Self.profiles.get()
        try profiles.build("recipes/qemu-virtio.yaml")
        let (status, agent, all) = try Self.probe(profile: "qemu-virtio", nic: "e1000e", diskBus: "ahci", store: profiles.store)
        #expect(status == 0, "\(all)")
        #expect(agent.contains { $0.contains("no driver for") && $0.contains("8086:10d3") }, "the e1000e NIC is named:\n\(all)")
        #expect(agent.contains { $0.contains("no driver for") && $0.contains("8086:2922") }, "the AHCI controller is named:\n\(all)")
    }

    /// Discovery: an unknown machine PXE-boots devices/default.ipxe, reports its inventory; the
    /// inventory becomes a recipe (`profile from-inventory`), which builds and boots the machine.
    @Test func anUnknownMachinesInventoryBecomesARecipeThatBootsIt() throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let store = "\(work)/store"
        let port = try PXEBootTests.freePort()
        // The discovery profile's agent must find this test's server: its recipe names the port.
        let recipe = try String(contentsOfFile: "\(CLI.packageRoot)/recipes/qemu-virtio.yaml", encoding: .utf8)
            .replacingOccurrences(of: "http://10.0.2.2:8080", with: "http://10.0.2.2:\(port)")
        try recipe.write(toFile: "\(work)/qemu-virtio.yaml", atomically: true, encoding: .utf8)
        let build = try CLI.run(["build", "\(work)/qemu-virtio.yaml", "--store", store])
        #expect(build.status == 0, "\(build.stderr)")

        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: try CLI.binary)
        serve.arguments = ["serve", "--store", store, "--http", "127.0.0.1:\(port)"]
        serve.standardOutput = FileHandle.nullDevice
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer { kill(serve.processIdentifier, SIGKILL); serve.waitUntilExit() }

        // The machine polls for an assignment forever: stop it once its inventory is in the store.
        let mac = "52:54:00:ab:cd:ef"
        let inventory = "\(store)/reports/52-54-00-ab-cd-ef/inventory.json"
        let lab = Process()
        lab.executableURL = URL(fileURLWithPath: try CLI.binary)
        lab.arguments = ["lab", mac, "--pxe", "--server", "http://10.0.2.2:\(port)", "--timeout", "300", "--store", store]
        // A file, not a pipe: a full pipe would stall QEMU's serial line and the guest with it.
        let consoleFile = "\(work)/console.txt"
        _ = FileManager.default.createFile(atPath: consoleFile, contents: nil)
        let console = try FileHandle(forWritingTo: URL(fileURLWithPath: consoleFile))
        defer { try? console.close() }
        lab.standardOutput = console
        lab.standardError = console
        try lab.run()
        let started = Date()
        while !FileManager.default.fileExists(atPath: inventory) && lab.isRunning && Date().timeIntervalSince(started) < 300 {
            usleep(500_000)
        }
        // The lab's QEMU is its child: end both (SIGKILL: see docs/decisions.md on test children).
        kill(lab.processIdentifier, SIGKILL)
        lab.waitUntilExit()
        let pkill = Process()
        pkill.executableURL = URL(fileURLWithPath: "/usr/bin/pkill")
        pkill.arguments = ["-9", "-f", "bootfile=http://10.0.2.2:\(port)/devices/default.ipxe"]
        try pkill.run()
        pkill.waitUntilExit()
        let log = (try? String(contentsOfFile: consoleFile, encoding: .utf8)) ?? ""
        guard FileManager.default.fileExists(atPath: inventory) else {
            Issue.record("no inventory reported within 300 s:\n\(log.suffix(4000))")
            return
        }

        let out = "\(work)/discovered.yaml"
        let made = try CLI.run(["profile", "from-inventory", inventory, "--out", out, "--server", "http://10.0.2.2:\(port)"])
        #expect(made.status == 0, "\(made.stderr)")
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        #expect(text.contains("1af4:1000") || text.contains("1af4:1041"), "the virtio NIC's ID is in the recipe:\n\(text)")
        let rebuilt = try CLI.run(["build", out, "--store", store])
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        let (status, agent, all) = try Self.probe(profile: "discovered", nic: "virtio", diskBus: "virtio", store: store)
        #expect(status == 0, "\(all)")
        #expect(agent.contains { $0.hasPrefix("imprint: imprint-agent ") && $0.contains("profile discovered") }, "\(all)")
        #expect(agent.contains { $0.hasPrefix("imprint: nic eth0 mac 52:54:00:12:34:56 driver virtio_net") }, "\(all)")
        #expect(agent.contains { $0.hasPrefix("imprint: disk vda size 67108864 ") }, "\(all)")
    }
}
