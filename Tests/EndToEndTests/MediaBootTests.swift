import Foundation
import Testing

/// A store with the qemu-virtio profile built once for the whole media suite, a device (lab-01) and
/// its ISO and USB image, and a profile-wide ISO. The profile's agent.server is a free local port,
/// so the discovery test can serve the store there.
struct MediaLab: SuiteTrait, TestScoping {
    static let mac = "52:54:00:12:34:56"
    static let hostname = "lab-01"
    /// The banner line each boot waits for: the identity's MAC and host name.
    static let banner = "imprint: identity mac \(mac) hostname \(hostname)"

    struct Fixture: Sendable {
        var work: String
        var store: String { "\(work)/store" }
        var port: Int
        var iso: String { "\(work)/lab-01.iso" }
        var usb: String { "\(work)/lab-01.img" }
        var profileISO: String { "\(work)/qemu-virtio.iso" }
        /// Seconds `imprint iso MAC` took, wall clock, the profile being built.
        var isoSeconds: Double
    }

    @TaskLocal static var current: Fixture?

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let fixture = try Self.make(work)
        try await Self.$current.withValue(fixture) { try await function() }
    }

    static func make(_ work: String) throws -> Fixture {
        let port = try PXEBootTests.freePort()
        // The repository's recipe with agent.server on the free port; overlay/ from the repository.
        let recipe = try String(contentsOfFile: "\(CLI.packageRoot)/recipes/qemu-virtio.yaml", encoding: .utf8)
            .replacingOccurrences(of: "http://10.0.2.2:8080", with: "http://10.0.2.2:\(port)")
        try FileManager.default.createDirectory(atPath: "\(work)/recipes", withIntermediateDirectories: true)
        try recipe.write(toFile: "\(work)/recipes/qemu-virtio.yaml", atomically: true, encoding: .utf8)
        let store = "\(work)/store"
        try expectSuccess(CLI.run(["build", "\(work)/recipes/qemu-virtio.yaml", "--store", store],
                                  environment: ["IMPRINT_OVERLAY": "\(CLI.packageRoot)/overlay"]), "build")
        try Data(count: 1 << 20).write(to: URL(fileURLWithPath: "\(work)/golden.img"))
        try expectSuccess(CLI.run(["image", "add", "\(work)/golden.img", "--name", "demo", "--store", store]), "image add")
        try expectSuccess(CLI.run(["device", "add", mac, "--profile", "qemu-virtio", "--image", "demo", "--hostname", hostname, "--store", store]), "device add")
        let started = Date()
        try expectSuccess(CLI.run(["iso", mac, "--out", "\(work)/lab-01.iso", "--store", store]), "iso")
        let isoSeconds = Date().timeIntervalSince(started)
        try expectSuccess(CLI.run(["usb", mac, "--out", "\(work)/lab-01.img", "--store", store]), "usb")
        try expectSuccess(CLI.run(["iso", "--profile", "qemu-virtio", "--out", "\(work)/qemu-virtio.iso", "--store", store]), "iso --profile")
        return Fixture(work: work, port: port, isoSeconds: isoSeconds)
    }

    static func expectSuccess(_ output: CLI.Output, _ what: String) throws {
        guard output.status == 0 else { throw SetupError("\(what) failed: \(output.stderr)") }
    }
}

/// Issue 6 end to end: a device's hybrid ISO and USB image boot in QEMU (TCG) to the agent's banner,
/// with the identity's MAC and host name, under SeaBIOS and OVMF, as a CD-ROM, a virtio disk and a USB
/// stick; a profile-wide ISO boots into discovery; the same store gives the same bytes.
@Suite(.serialized, MediaLab()) struct MediaBootTests {
    static let boots: [(firmware: String, attachment: String)] = ["seabios", "ovmf"].flatMap { firmware in
        ["cdrom", "disk", "usb"].map { (firmware, $0) }
    }

    @Test(arguments: boots.map { "\($0.firmware) \($0.attachment)" })
    func deviceMediumBootsToTheBanner(_ boot: String) throws {
        let lab = try #require(MediaLab.current)
        let words = boot.split(separator: " ").map(String.init)
        let (firmware, attachment) = (words[0], words[1])
        // The USB stick is `imprint usb`'s image; the CD-ROM and the disk are the ISO.
        let medium = attachment == "usb" ? ["--usb", lab.usb] : ["--iso", lab.iso, "--media-as", attachment]
        let run = try CLI.run(["lab", MediaLab.mac, "--firmware", firmware, "--until", MediaLab.banner, "--timeout", "150"] + medium)
        #expect(run.status == 0, "\(boot): \(run.stderr)\n\(run.stdout.suffix(3000))")
        #expect(run.stdout.contains(MediaLab.banner), "\(boot): no banner in:\n\(run.stdout.suffix(3000))")
        #expect(run.stderr.contains("lab: saw '\(MediaLab.banner)'"), "\(run.stderr)")
        // The kernel got the profile's command line through GRUB, and a screen: UEFI's frame buffer
        // (GRUB's efi_gop), BIOS's VGA text console.
        #expect(run.stdout.contains("Kernel command line: BOOT_IMAGE=") && run.stdout.contains("/boot/vmlinuz console=tty0 console=ttyS0"),
                "\(boot): command line")
        let screen = firmware == "ovmf" ? "fb0: EFI VGA frame buffer device" : "Console: colour VGA+"
        #expect(run.stdout.contains(screen), "\(boot): no '\(screen)'")
        #expect(!run.stdout.contains("error: "), "\(boot): GRUB reported an error:\n\(run.stdout.prefix(2000))")
    }

    /// No identity: the agent says so, reports its inventory to the profile's agent.server as a
    /// discovered machine, and polls for an assignment.
    @Test func profileMediumBootsIntoDiscovery() throws {
        let lab = try #require(MediaLab.current)
        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: try CLI.binary)
        serve.arguments = ["serve", "--store", lab.store, "--http", "127.0.0.1:\(lab.port)"]
        serve.standardOutput = FileHandle.nullDevice
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer { serve.interrupt(); serve.waitUntilExit() }

        let stranger = "52:54:00:ab:cd:ef"
        let poll = "imprint: no assignment for \(stranger) yet (poll 1)"
        let run = try CLI.run(["lab", stranger, "--iso", lab.profileISO, "--firmware", "seabios", "--until", poll, "--timeout", "150"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(3000))")
        let agent = run.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("imprint: ") }
        #expect(agent.contains("imprint: identity none"), "\(agent.joined(separator: "\n"))")
        #expect(agent.contains { $0.hasPrefix("imprint: PUT ") && $0.hasSuffix("inventory.json: HTTP 204") }, "\(agent.joined(separator: "\n"))")
        #expect(FileManager.default.fileExists(atPath: "\(lab.store)/reports/52-54-00-ab-cd-ef/inventory.json"), "no discovery inventory stored")
    }

    /// The same store gives the same bytes, and a per-device ISO takes well under 2 s.
    @Test func mediaAreReproducibleAndQuick() throws {
        let lab = try #require(MediaLab.current)
        let again = "\(lab.work)/again.iso"
        defer { try? FileManager.default.removeItem(atPath: again) }
        let run = try CLI.run(["iso", MediaLab.mac, "--out", again, "--store", lab.store])
        #expect(run.status == 0, "\(run.stderr)")
        let first = try Data(contentsOf: URL(fileURLWithPath: lab.iso)), second = try Data(contentsOf: URL(fileURLWithPath: again))
        #expect(first == second, "two ISOs from the same store differ")
        #expect(try Data(contentsOf: URL(fileURLWithPath: lab.usb)) == first, "the USB image is the same hybrid layout")
        #expect(lab.isoSeconds <= 2, "imprint iso took \(lab.isoSeconds) s")
        // Size: no more than 4 MiB over kernel and initrds.
        let payload = try ["boot/qemu-virtio/vmlinuz", "boot/qemu-virtio/initrd.img", "devices/52-54-00-12-34-56/identity.cpio"].reduce(0) {
            $0 + ((try FileManager.default.attributesOfItem(atPath: "\(lab.store)/\($1)")[.size] as? Int) ?? 0)
        }
        #expect(first.count <= payload + (4 << 20), "ISO \(first.count) bytes, kernel and initrds \(payload)")
    }
}

/// Bad input to `iso`, `usb` and the lab's media options: a clear error, a non-zero exit, and no file
/// (not even a hidden partial one) in the output folder. A stand-in profile is enough: nothing boots.
@Suite struct MediaBadInputTests {
    /// A store with the fake profile and one device, and an empty output folder.
    static func fixture() throws -> (store: CLIStore, out: String) {
        let store = try CLIStore()
        try store.fakeProfile()
        let image = try store.image()
        let add = try CLI.run(["image", "add", image, "--name", "demo", "--store", store.path])
        guard add.status == 0 else { throw SetupError("image add: \(add.stderr)") }
        let device = try CLI.run(["device", "add", "52:54:00:12:34:56", "--profile", "qemu-virtio", "--image", "demo", "--store", store.path])
        guard device.status == 0 else { throw SetupError("device add: \(device.stderr)") }
        let out = "\(store.work)/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        return (store, out)
    }

    static func folder(_ path: String) -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: path))?.sorted() ?? [] }

    static let cases: [(name: String, arguments: [String], words: [String])] = [
        ("no device", ["iso", "52:54:00:99:99:99"], ["no device 52:54:00:99:99:99", "imprint device add 52:54:00:99:99:99"]),
        ("profile not built", ["iso", "--profile", "nosuch"], ["profile 'nosuch' is not built", "imprint build recipes/nosuch.yaml"]),
        ("usb, no device", ["usb", "52-54-00-99-99-99"], ["no device 52:54:00:99:99:99"]),
        ("bad MAC", ["iso", "52:54:00:99:99"], ["MAC"]),
        ("neither MAC nor profile", ["iso"], ["give the device's MAC address, or --profile P"]),
        ("both MAC and profile", ["iso", "52:54:00:12:34:56", "--profile", "qemu-virtio"], ["not both"]),
    ]

    @Test(arguments: cases.map(\.name))
    func refused(_ name: String) throws {
        let item = try #require(Self.cases.first { $0.name == name })
        let (store, out) = try Self.fixture()
        defer { store.remove() }
        let result = try CLI.run(item.arguments + ["--out", "\(out)/medium.iso", "--store", store.path])
        #expect(result.status != 0)
        for word in item.words {
            #expect(result.stderr.contains(word), "missing '\(word)' in: \(result.stderr)")
        }
        #expect(Self.folder(out).isEmpty, "left behind: \(Self.folder(out))")
    }

    @Test func theDeviceProfileIsNotBuilt() throws {
        let (store, out) = try Self.fixture()
        defer { store.remove() }
        try FileManager.default.removeItem(atPath: "\(store.path)/boot/qemu-virtio")
        let result = try CLI.run(["iso", "52:54:00:12:34:56", "--out", "\(out)/a.iso", "--store", store.path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("profile 'qemu-virtio' is not built"), "\(result.stderr)")
        #expect(Self.folder(out).isEmpty)
    }

    @Test func anExistingOutputNeedsForce() throws {
        let (store, out) = try Self.fixture()
        defer { store.remove() }
        let target = "\(out)/a.iso"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: target))
        let refused = try CLI.run(["iso", "52:54:00:12:34:56", "--out", target, "--store", store.path])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("\(target) exists: pass --force"), "\(refused.stderr)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep me", "the existing file was touched")
        #expect(Self.folder(out) == ["a.iso"])

        let forced = try CLI.run(["iso", "52:54:00:12:34:56", "--out", target, "--force", "--store", store.path])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(((try FileManager.default.attributesOfItem(atPath: target))[.size] as? Int ?? 0) > 1 << 20, "not replaced by the ISO")
        #expect(Self.folder(out) == ["a.iso"], "left behind: \(Self.folder(out))")
    }

    @Test func aMissingToolIsNamedWithItsPackage() throws {
        let (store, out) = try Self.fixture()
        defer { store.remove() }
        let result = try CLI.run(["usb", "52:54:00:12:34:56", "--out", "\(out)/a.img", "--store", store.path],
                                 environment: ["PATH": "\(store.work)/empty-path"])
        #expect(result.status != 0)
        for word in ["missing grub-mkimage, xorriso, mformat, mmd, mcopy", "grub-pc-bin", "xorriso", "mtools", "scripts/bootstrap"] {
            #expect(result.stderr.contains(word), "missing '\(word)' in: \(result.stderr)")
        }
        #expect(Self.folder(out).isEmpty)
    }

    @Test func outputFolderMissingOrAFolder() throws {
        let (store, out) = try Self.fixture()
        defer { store.remove() }
        let missing = try CLI.run(["iso", "52:54:00:12:34:56", "--out", "\(out)/nope/a.iso", "--store", store.path])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("does not exist"), "\(missing.stderr)")
        let folder = try CLI.run(["iso", "52:54:00:12:34:56", "--out", out, "--store", store.path])
        #expect(folder.status != 0)
        #expect(folder.stderr.contains("is a folder"), "\(folder.stderr)")
        #expect(Self.folder(out).isEmpty)
    }

    static let labCases: [(arguments: [String], words: String)] = [
        (["--iso", "a.iso", "--usb", "b.img"], "give --iso or --usb, not both"),
        (["--media-as", "disk", "--profile", "p"], "--media-as goes with --iso"),
        (["--iso", "a.iso", "--media-as", "floppy"], "--media-as is cdrom, disk, usb, not floppy"),
        (["--iso", "a.iso", "--append", "quiet"], "--append applies to direct kernel boots"),
        (["--iso", "a.iso", "--pxe"], "give no --pxe"),
    ]

    @Test(arguments: labCases.indices)
    func labMediaOptionsRefused(_ index: Int) throws {
        let item = Self.labCases[index]
        let result = try CLI.run(["lab"] + item.arguments)
        #expect(result.status != 0)
        #expect(result.stderr.contains(item.words), "\(result.stderr)")
    }
}
