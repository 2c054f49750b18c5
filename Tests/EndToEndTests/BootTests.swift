import Foundation
import Testing

/// The spine end to end, through the CLI: build the qemu-virtio profile, boot it in QEMU under TCG,
/// read the agent's banner off the serial console.
@Suite(.serialized) struct BootTests {
    @Test func buildAndBootToTheAgentBanner() throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let store = "\(work)/store"

        let build = try CLI.run(["build", "recipes/qemu-virtio.yaml", "--store", store])
        #expect(build.status == 0, "build failed: \(build.stderr)")
        #expect(build.stdout.contains("\(store)/boot/qemu-virtio: kernel 6.1."), "\(build.stdout)")

        let lab = try CLI.run(["lab", "--profile", "qemu-virtio", "--store", store,
                               "--append", "quiet imprint.mode=probe", "--timeout", "240"])
        #expect(lab.status == 0, "lab failed: \(lab.stderr)\n\(lab.stdout)")
        // Only the agent's own lines, not the kernel's messages.
        let agent = lab.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("imprint: ") }
        #expect(agent.contains { $0.hasPrefix("imprint: imprint-agent ") && $0.contains(" kernel 6.1.") && $0.contains(" profile qemu-virtio") },
                "no banner in:\n\(lab.stdout)")
        #expect(agent.contains("imprint: nic eth0 mac 52:54:00:12:34:56 driver virtio_net link up")
                    || agent.contains("imprint: nic eth0 mac 52:54:00:12:34:56 driver virtio_net link unknown")
                    || agent.contains("imprint: nic eth0 mac 52:54:00:12:34:56 driver virtio_net link down"),
                "eth0 not bound to virtio_net in:\n\(agent.joined(separator: "\n"))")
        #expect(agent.contains { $0.hasPrefix("imprint: disk vda size 67108864 ") }, "no vda in:\n\(agent.joined(separator: "\n"))")
        #expect(agent.contains { $0.hasPrefix("imprint: libs curl ") }, "libcurl not loaded")
        #expect(agent.contains { $0.hasPrefix("imprint: coldplug loaded ") })
        #expect(!lab.stdout.contains("Kernel panic"))
        #expect(lab.stderr.contains("guest powered off"), "\(lab.stderr)")
    }

    @Test func labFailsClearlyOnAPanic() throws {
        // A kernel with no usable initrd panics ("VFS: Unable to mount root fs"): the lab must say so and fail.
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let store = "\(work)/store"
        let build = try CLI.run(["build", "recipes/qemu-virtio.yaml", "--store", store])
        #expect(build.status == 0, "\(build.stderr)")
        let junk = "\(work)/junk.img"
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: junk))
        let lab = try CLI.run(["lab", "--kernel", "\(store)/boot/qemu-virtio/vmlinuz", "--initrd", junk,
                               "--append", "quiet", "--timeout", "240"])
        #expect(lab.status != 0)
        #expect(lab.stderr.contains("kernel panicked"), "\(lab.stderr)")
    }
}
