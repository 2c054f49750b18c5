import Foundation
import ImprintCore
import Testing

/// `imprint profile check` and `imprint profile from-inventory` as a user runs them, against a
/// real build of `recipes/qemu-virtio.yaml` (made once for the suite: about a minute cold).
@Suite(.serialized) struct ProfileCheckTests {
    /// One store with qemu-virtio built into it, shared by the tests of this suite and removed at exit.
    static let built: Result<String, SetupError> = {
        do {
            let work = try CLI.temporaryDirectory()
            atexit { if let work = try? ProfileCheckTests.built.get() { try? FileManager.default.removeItem(atPath: work) } }
            let build = try CLI.run(["build", "recipes/qemu-virtio.yaml", "--store", "\(work)/store"])
            guard build.status == 0 else { return .failure(SetupError("imprint build failed: \(build.stderr)")) }
            return .success(work)
        } catch let error as SetupError {
            return .failure(error)
        } catch {
            return .failure(SetupError("\(error)"))
        }
    }()

    static let legacyLspci = """
        00:00.0 Host bridge [0600]: Intel Corporation 82G33/G31/P35/P31 Express DRAM Controller [8086:29c0]
        00:02.0 Ethernet controller [0200]: Intel Corporation 82540EM Gigabit Ethernet Controller [8086:100e] (rev 03)
        00:1f.2 SATA controller [0106]: Intel Corporation 82801IR/IO/IH (ICH9R/DO/DH) 6 port SATA Controller [AHCI mode] [8086:2922] (rev 02)

        """

    /// What an agent on a QEMU machine with virtio-net and virtio-blk reports.
    static let virtioInventory = """
        {
          "version": 1,
          "mac": "52:54:00:12:34:56",
          "interfaces": [{ "name": "eth0", "mac": "52:54:00:12:34:56", "driver": "virtio_net", "link": "up" }],
          "dmi": { "sysVendor": "QEMU", "productName": "Standard PC (i440FX + PIIX, 1996)", "productSerial": null, "productUUID": null },
          "disks": [{ "name": "vda", "bytes": 67108864, "removable": false }],
          "pci": [
            { "slot": "0000:00:00.0", "id": "8086:1237", "class": "0x060000", "subsystem": "1af4:1100", "driver": null },
            { "slot": "0000:00:03.0", "id": "1af4:1000", "class": "0x020000", "subsystem": "1af4:0001", "driver": "virtio-pci" },
            { "slot": "0000:00:04.0", "id": "1af4:1001", "class": "0x010000", "subsystem": "1af4:0002", "driver": "virtio-pci" }
          ],
          "unbound": []
        }

        """

    func work() throws -> String { try Self.built.get() }

    func write(_ text: String, _ name: String) throws -> String {
        let path = "\(try work())/\(name)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func anE1000AndAHCIMachineIsNotDrivenByQemuVirtio() throws {
        let work = try work()
        let lspci = try write(Self.legacyLspci, "legacy-lspci.txt")
        let result = try CLI.run(["profile", "check", "qemu-virtio", "--inventory", lspci, "--store", "\(work)/store"])
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        // Both devices, by slot, ID and pci.ids name, and the modules e1000 and ahci.
        #expect(result.stdout.contains("00:02.0"), "\(result.stdout)")
        #expect(result.stdout.contains("8086:100e"))
        #expect(result.stdout.contains("82540EM Gigabit Ethernet Controller"))
        #expect(result.stdout.contains("00:1f.2"))
        #expect(result.stdout.contains("8086:2922"))
        #expect(result.stdout.contains("6 port SATA Controller [AHCI mode]"))
        #expect(result.stdout.contains("e1000"))
        #expect(result.stdout.contains("not driven: add ahci"), "\(result.stdout)")
        #expect(!result.stdout.contains("8086:29c0"), "a host bridge is no controller")
        // qemu-virtio carries e1000 today; whether it does or not, AHCI is what it lacks.
        #expect(result.stderr.contains("00:1f.2 8086:2922 (needs ahci)"), "\(result.stderr)")
        #expect(result.stderr.contains("hint: add drivers.pci: [") && result.stderr.contains(#""8086:2922"]"#), "\(result.stderr)")
        #expect(result.stderr.contains("ahci] to recipes/qemu-virtio.yaml and rebuild"), "\(result.stderr)")

        let json = try CLI.run(["profile", "check", "qemu-virtio", "--inventory", lspci, "--store", "\(work)/store", "--json"])
        #expect(json.status == 1)
        let parsed = try JSONValue.parse(json.stdout)
        #expect(parsed["driven"]?.boolValue == false)
        #expect(parsed["devices"]?.arrayValue?.count == 2)
        let e1000 = parsed["devices"]?[0]
        #expect(e1000?["modules"]?.arrayValue?.compactMap(\.stringValue) == ["e1000"]
                || e1000?["missing"]?.arrayValue?.compactMap(\.stringValue) == ["e1000"])
        #expect(parsed["devices"]?[1]?["missing"]?.arrayValue?.compactMap(\.stringValue) == ["ahci"])
        #expect(parsed["devices"]?[1]?["driven"]?.boolValue == false)
        #expect(parsed["hint"]?.stringValue?.contains("drivers.modules: [ahci]") == true)
    }

    @Test func aVirtioMachinePasses() throws {
        let work = try work()
        let inventory = try write(Self.virtioInventory, "virtio-inventory.json")
        let result = try CLI.run(["profile", "check", "qemu-virtio", "--inventory", inventory, "--store", "\(work)/store"])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("virtio_pci,virtio_net"), "\(result.stdout)")
        #expect(result.stdout.contains("virtio_pci,virtio_blk"), "\(result.stdout)")
        #expect(result.stdout.contains("drives all 2 network and storage controllers"), "\(result.stdout)")
    }

    @Test func fromInventoryWritesARecipeThatNamesTheIDs() throws {
        let work = try work()
        let inventory = try write(Self.virtioInventory, "from-virtio.json")
        let out = "\(work)/recipes/lab-virtio.yaml"
        let result = try CLI.run(["profile", "from-inventory", inventory, "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("profile: lab-virtio"))
        #expect(text.contains(#"- "1af4:1000/020000""#), "\(text)")
        #expect(text.contains(#"- "1af4:1001/010000""#), "\(text)")
        #expect(text.contains("Virtio network device"), "the pci.ids name as a comment")
        #expect(text.contains("modules: [sd_mod, ext4, vfat, nls_cp437, nls_ascii, virtio_net, virtio_blk]"), "\(text)")
        #expect(text.contains(#"server: "http://10.0.2.2:8080""#))
        #expect(!text.contains("8086:1237"), "the host bridge is no controller")

        let lspci = try write(Self.legacyLspci, "from-legacy.txt")
        let legacy = "\(work)/recipes/lab-legacy.yaml"
        let made = try CLI.run(["profile", "from-inventory", lspci, "--out", legacy, "--server", "http://192.168.1.5:8080"])
        #expect(made.status == 0, "\(made.stderr)")
        let legacyText = try String(contentsOfFile: legacy, encoding: .utf8)
        #expect(legacyText.contains(#"- "8086:100e/0200""#) && legacyText.contains(#"- "8086:2922/0106""#), "\(legacyText)")
        #expect(legacyText.contains(#"server: "http://192.168.1.5:8080""#))
    }

    @Test func refusals() throws {
        let work = try work()
        let inventory = try write(Self.virtioInventory, "refusal.json")
        let out = "\(work)/recipes/twice.yaml"
        #expect(try CLI.run(["profile", "from-inventory", inventory, "--out", out]).status == 0)
        try "# mine\n".write(toFile: out, atomically: true, encoding: .utf8)
        let again = try CLI.run(["profile", "from-inventory", inventory, "--out", out])
        #expect(again.status != 0)
        #expect(again.stderr.contains("exists: pass --force to overwrite it"), "\(again.stderr)")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "# mine\n", "the file is left alone")
        let forced = try CLI.run(["profile", "from-inventory", inventory, "--out", out, "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try String(contentsOfFile: out, encoding: .utf8).contains("profile: twice"))

        // A file of another format: the line that is not lspci -nn is named.
        let notes = try write("hello\nworld\n", "notes.txt")
        let bad = try CLI.run(["profile", "from-inventory", notes, "--out", "\(work)/recipes/bad.yaml"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("line 1") && bad.stderr.contains("is not a line of lspci -nn output"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(work)/recipes/bad.yaml"))
        let json = try write(#"{"hostname": "x"}"#, "other.json")
        let badJSON = try CLI.run(["profile", "check", "qemu-virtio", "--inventory", json, "--store", "\(work)/store"])
        #expect(badJSON.status == 2)
        #expect(badJSON.stderr.contains("is not an imprint inventory.json"), "\(badJSON.stderr)")

        let noOut = try CLI.run(["profile", "from-inventory", inventory, "--out", "\(work)/recipes/x.txt"])
        #expect(noOut.status != 0)
        #expect(noOut.stderr.contains("name a .yaml file"), "\(noOut.stderr)")

        // A profile that is not built, and a store that is not there.
        let unbuilt = try CLI.run(["profile", "check", "qemu-legacy", "--inventory", inventory, "--store", "\(work)/store"])
        #expect(unbuilt.status == 2)
        #expect(unbuilt.stderr.contains("profile 'qemu-legacy' is not built"), "\(unbuilt.stderr)")
        #expect(unbuilt.stderr.contains("built profiles: qemu-virtio"), "\(unbuilt.stderr)")
        let noStore = try CLI.run(["profile", "check", "qemu-virtio", "--inventory", inventory, "--store", "\(work)/nowhere"])
        #expect(noStore.status == 2)
        #expect(noStore.stderr.contains("no store at"), "\(noStore.stderr)")
        let missing = try CLI.run(["profile", "check", "qemu-virtio", "--inventory", "\(work)/absent.json", "--store", "\(work)/store"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("cannot read \(work)/absent.json"), "\(missing.stderr)")
    }
}
