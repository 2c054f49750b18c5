import Foundation
import Testing

/// Issue 4 end to end: a device added to the store PXE-boots in QEMU through its iPXE ROM from
/// `imprint serve --http`, gets its identity initrd, and the report it PUTs shows in `imprint status`;
/// since issue 5 it also deploys its (all-zero, table-less) image and reports done.
@Suite(.serialized) struct PXEBootTests {
    /// A TCP port free right now on 127.0.0.1.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw SetupError("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test(arguments: ["seabios", "ovmf"])
    func pxeBootReportsToTheStore(firmware: String) throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let store = "\(work)/store"
        let port = try Self.freePort()
        let mac = "52:54:00:12:34:56"

        let build = try CLI.run(["build", "recipes/qemu-virtio.yaml", "--store", store])
        #expect(build.status == 0, "\(build.stderr)")
        try Data(count: 1 << 20).write(to: URL(fileURLWithPath: "\(work)/golden.img"))
        let image = try CLI.run(["image", "add", "\(work)/golden.img", "--name", "demo", "--store", store])
        #expect(image.status == 0, "\(image.stderr)")
        let device = try CLI.run(["device", "add", mac, "--profile", "qemu-virtio", "--image", "demo", "--hostname", "lab-01",
                                  "--server", "http://10.0.2.2:\(port)", "--store", store])
        #expect(device.status == 0, "\(device.stderr)")

        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: try CLI.binary)
        serve.arguments = ["serve", "--store", store, "--http", "127.0.0.1:\(port)"]
        serve.standardOutput = FileHandle.nullDevice
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer { serve.interrupt(); serve.waitUntilExit() }

        let disk = "\(work)/disk.img"
        #expect(FileManager.default.createFile(atPath: disk, contents: nil))
        try FileHandle(forWritingTo: URL(fileURLWithPath: disk)).truncate(atOffset: 64 << 20)
        var arguments = [
            "-accel", "tcg", "-nodefaults", "-display", "none", "-no-reboot", "-m", "1024", "-serial", "stdio",
            "-boot", "n",
            "-netdev", "user,id=n0,bootfile=http://10.0.2.2:\(port)/devices/52-54-00-12-34-56/boot.ipxe",
            "-device", "virtio-net-pci,netdev=n0,mac=\(mac)",
            "-drive", "file=\(disk),if=none,id=d0,format=raw", "-device", "virtio-blk-pci,drive=d0",
        ]
        if firmware == "ovmf" { arguments += ["-bios", "/usr/share/ovmf/OVMF.fd"] }
        let qemu = Process()
        qemu.executableURL = URL(fileURLWithPath: "/usr/bin/qemu-system-x86_64")
        qemu.arguments = arguments
        let out = Pipe()
        qemu.standardOutput = out
        qemu.standardError = out
        qemu.standardInput = FileHandle.nullDevice
        try qemu.run()
        let killer = DispatchWorkItem { qemu.terminate() }
        DispatchQueue.global().asyncAfter(deadline: .now() + 300, execute: killer)
        let console = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        qemu.waitUntilExit()
        killer.cancel()
        let lines = console.split(whereSeparator: \.isNewline).map(String.init).filter { $0.hasPrefix("imprint: ") }
        #expect(qemu.terminationStatus == 0, "qemu: \(console.suffix(2000))")
        #expect(lines.contains("imprint: identity mac 52:54:00:12:34:56 hostname lab-01"), "\(lines.joined(separator: "\n"))")
        #expect(lines.contains { $0.hasSuffix("status.json: HTTP 204") }, "\(lines.joined(separator: "\n"))")

        let status = try CLI.run(["status", "52-54-00-12-34-56", "--json", "--store", store])
        #expect(status.status == 0, "\(status.stderr)")
        // Issue 5: after the booted report the agent deploys the (all-zero) image, reports done and
        // reboots, which -no-reboot turns into QEMU's exit.
        #expect(status.stdout.contains("\"phase\"") && status.stdout.contains("done"), "\(status.stdout)")
        #expect(lines.contains("imprint: deploy done, rebooting into the deployed system"), "\(lines.joined(separator: "\n"))")
        #expect(FileManager.default.fileExists(atPath: "\(store)/reports/52-54-00-12-34-56/inventory.json"))
    }
}
