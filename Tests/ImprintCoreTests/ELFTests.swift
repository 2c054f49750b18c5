import Foundation
import Testing

@testable import ImprintCore

@Suite("ELFFile")
struct ELFTests {
    /// A 251-byte shared object written out field by field: two program headers (PT_LOAD of the
    /// whole file at 0x400000, PT_DYNAMIC), one DT_NEEDED "libc.so.6", no section headers.
    static let handWritten: [UInt8] = [
        // e_ident: magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_SYSV, padding
        0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
        0x03, 0x00,  // e_type: ET_DYN
        0x3E, 0x00,  // e_machine: EM_X86_64 (62)
        0x01, 0x00, 0x00, 0x00,  // e_version
        0, 0, 0, 0, 0, 0, 0, 0,  // e_entry
        0x40, 0, 0, 0, 0, 0, 0, 0,  // e_phoff: 64
        0, 0, 0, 0, 0, 0, 0, 0,  // e_shoff: 0, no sections
        0, 0, 0, 0,  // e_flags
        0x40, 0x00,  // e_ehsize: 64
        0x38, 0x00,  // e_phentsize: 56
        0x02, 0x00,  // e_phnum: 2
        0x40, 0x00,  // e_shentsize: 64
        0x00, 0x00,  // e_shnum: 0
        0x00, 0x00,  // e_shstrndx: SHN_UNDEF
        // program header 0 at 64: PT_LOAD
        0x01, 0, 0, 0,  // p_type: PT_LOAD
        0x04, 0, 0, 0,  // p_flags: R
        0, 0, 0, 0, 0, 0, 0, 0,  // p_offset: 0
        0x00, 0x00, 0x40, 0, 0, 0, 0, 0,  // p_vaddr: 0x400000
        0x00, 0x00, 0x40, 0, 0, 0, 0, 0,  // p_paddr: 0x400000
        0xFB, 0, 0, 0, 0, 0, 0, 0,  // p_filesz: 251, the whole file
        0xFB, 0, 0, 0, 0, 0, 0, 0,  // p_memsz: 251
        0x00, 0x10, 0, 0, 0, 0, 0, 0,  // p_align: 0x1000
        // program header 1 at 120: PT_DYNAMIC
        0x02, 0, 0, 0,  // p_type: PT_DYNAMIC
        0x06, 0, 0, 0,  // p_flags: RW
        0xB0, 0, 0, 0, 0, 0, 0, 0,  // p_offset: 176
        0xB0, 0x00, 0x40, 0, 0, 0, 0, 0,  // p_vaddr: 0x4000B0
        0xB0, 0x00, 0x40, 0, 0, 0, 0, 0,  // p_paddr: 0x4000B0
        0x40, 0, 0, 0, 0, 0, 0, 0,  // p_filesz: 64, four entries
        0x40, 0, 0, 0, 0, 0, 0, 0,  // p_memsz: 64
        0x08, 0, 0, 0, 0, 0, 0, 0,  // p_align: 8
        // dynamic section at 176
        0x01, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0,  // DT_NEEDED: string 1
        0x05, 0, 0, 0, 0, 0, 0, 0, 0xF0, 0x00, 0x40, 0, 0, 0, 0, 0,  // DT_STRTAB: 0x4000F0 (file 240)
        0x0A, 0, 0, 0, 0, 0, 0, 0, 0x0B, 0, 0, 0, 0, 0, 0, 0,  // DT_STRSZ: 11
        0x00, 0, 0, 0, 0, 0, 0, 0, 0x00, 0, 0, 0, 0, 0, 0, 0,  // DT_NULL
        // dynamic string table at 240: "\0libc.so.6\0"
        0x00, 0x6C, 0x69, 0x62, 0x63, 0x2E, 0x73, 0x6F, 0x2E, 0x36, 0x00,
    ]

    @Test func handWrittenVector() throws {
        #expect(Self.handWritten.count == 251)
        let elf = try ELFFile(Self.handWritten)
        #expect(elf.type == 3)
        #expect(elf.machine == 62)
        #expect(elf.needed == ["libc.so.6"])
        #expect(elf.interpreter == nil)
        #expect(elf.soname == nil)
        #expect(elf.runpath == [])
        #expect(elf.sectionNames == [])
        #expect(elf.section(named: ".dynstr") == nil)
    }

    @Test func builtExecutable() throws {
        var builder = ELFBuilder()
        builder.interpreter = "/lib64/ld-linux-x86-64.so.2"
        builder.needed = ["libcurl.so.4", "libarchive.so.13", "libc.so.6"]
        builder.runpath = "$ORIGIN/../lib::/opt/imprint/lib"
        builder.rpath = "/ignored/when/runpath/exists"
        let elf = try ELFFile(builder.build())
        #expect(elf.interpreter == "/lib64/ld-linux-x86-64.so.2")
        #expect(elf.needed == ["libcurl.so.4", "libarchive.so.13", "libc.so.6"])
        #expect(elf.runpath == ["$ORIGIN/../lib", "/opt/imprint/lib"])
        #expect(elf.soname == nil)
        #expect(elf.sectionNames == ["", ".interp", ".dynstr", ".dynamic", ".shstrtab"])
        let interp = try #require(elf.section(named: ".interp"))
        #expect(Array(interp) == Array("/lib64/ld-linux-x86-64.so.2\0".utf8))
    }

    @Test func rpathWhenNoRunpath() throws {
        var builder = ELFBuilder()
        builder.soname = "libimprint.so.1"
        builder.rpath = "/a:/b"
        let elf = try ELFFile(builder.build())
        #expect(elf.soname == "libimprint.so.1")
        #expect(elf.runpath == ["/a", "/b"])
        #expect(elf.needed == [])
    }

    @Test func relocatableModuleSections() throws {
        let modinfo = Array("license=GPL\0depends=\0name=demo\0".utf8)
        var builder = ELFBuilder()
        builder.type = 1  // ET_REL, as a .ko is
        builder.sections = [(".text", 1, [0xC3]), (".modinfo", 1, modinfo), (".bss", 8, [0, 0, 0, 0])]
        let elf = try ELFFile(builder.build())
        #expect(elf.type == 1)
        #expect(elf.needed == [] && elf.interpreter == nil)
        let section = try #require(elf.section(named: ".modinfo"))
        #expect(Array(section) == modinfo)
        #expect(ModInfo(name: "x", modinfo: section).name == "demo")
        #expect(elf.section(named: ".bss")?.isEmpty == true)  // NOBITS: no file bytes
        #expect(elf.section(named: ".data") == nil)
    }

    /// A real Debian 6.1 module (lib/crc16.ko): ET_REL with 26 sections.
    @Test func realKernelModule() throws {
        let elf = try ELFFile(Fixtures.bytes("crc16.ko"))
        #expect(elf.type == 1)
        #expect(elf.sectionNames.count == 26)
        #expect(elf.sectionNames.contains(".gnu.linkonce.this_module"))
        let info = ModInfo(name: "crc16", modinfo: try #require(elf.section(named: ".modinfo")))
        #expect(info.name == "crc16")
        #expect(info.depends == [])
        #expect(info.vermagic == "6.1.0-56-amd64 SMP preempt mod_unload modversions ")
    }

    @Test func hostLs() throws {
        let bytes = try #require(hostFile("/bin/ls"), "this machine has no /bin/ls")
        let elf = try ELFFile(bytes)
        #expect(elf.needed.contains("libc.so.6"))
        #expect(elf.interpreter == "/lib64/ld-linux-x86-64.so.2")
        #expect(elf.section(named: ".dynstr") != nil)
    }

    /// The test runner itself: built by SwiftPM with a RUNPATH holding $ORIGIN.
    @Test func testRunnerRunpath() throws {
        let bytes = try #require(hostFile("/proc/self/exe"))
        let elf = try ELFFile(bytes)
        #expect(elf.runpath.contains("$ORIGIN"))
        #expect(elf.needed.contains("libswiftCore.so"))
    }

    @Test func hostLibcSoname() throws {
        let bytes = try #require(hostFile("/lib/x86_64-linux-gnu/libc.so.6"), "no glibc at the Debian path")
        #expect(try ELFFile(bytes).soname == "libc.so.6")
    }

    /// Every prefix of /bin/ls throws (its section headers sit at the very end), never traps.
    @Test func truncatedLsThrows() throws {
        let bytes = try #require(hostFile("/bin/ls"))
        var lengths = Array(0..<600)
        lengths += stride(from: 600, to: bytes.count, by: 211)
        lengths += (bytes.count - 700)..<bytes.count
        var parsed: [Int] = []
        for length in lengths {
            do {
                _ = try ELFFile(Array(bytes[0..<length]))
                parsed.append(length)
            } catch {
                // Expected: any ELFError.
            }
        }
        #expect(parsed == [])
    }

    /// Random corruption of a real module and a built executable: parse or throw, never trap.
    @Test func corruptedBytesNeverTrap() throws {
        var builder = ELFBuilder()
        builder.interpreter = "/lib/ld.so"
        builder.needed = ["liba.so", "libb.so"]
        builder.runpath = "$ORIGIN"
        let seeds = [try Fixtures.bytes("crc16.ko"), builder.build()]
        var rng = SplitMix64(seed: 7)
        var outcomes = (parsed: 0, thrown: 0)
        for seed in seeds {
            for _ in 0..<3_000 {
                var bytes = seed
                for _ in 0..<Int(1 + rng.next() % 4) {
                    // Bias towards the headers, where offsets and sizes live.
                    let limit = rng.next() % 3 == 0 ? bytes.count : min(bytes.count, 256)
                    bytes[Int(rng.next() % UInt64(limit))] = UInt8(truncatingIfNeeded: rng.next())
                }
                do {
                    let elf = try ELFFile(bytes)
                    _ = elf.section(named: ".modinfo")
                    outcomes.parsed += 1
                } catch {
                    outcomes.thrown += 1
                }
            }
        }
        #expect(outcomes.parsed + outcomes.thrown == 6_000)
        #expect(outcomes.thrown > 0)
    }

    struct BadInput: Sendable, CustomTestStringConvertible {
        var label: String
        var bytes: [UInt8]
        var error: ELFError
        var testDescription: String { label }
    }

    static var badInputs: [BadInput] {
        var cases: [BadInput] = []
        let good = handWritten
        cases.append(BadInput(label: "empty", bytes: [], error: .notELF))
        cases.append(BadInput(label: "a script", bytes: Array("#!/bin/sh\n".utf8), error: .notELF))
        var elf32 = good
        elf32[4] = 1
        cases.append(BadInput(label: "32-bit", bytes: elf32, error: .unsupportedClass(1)))
        var bigEndian = good
        bigEndian[5] = 2
        cases.append(BadInput(label: "big-endian", bytes: bigEndian, error: .unsupportedByteOrder(2)))
        var version = good
        version[6] = 0
        cases.append(BadInput(label: "version 0", bytes: version, error: .unsupportedVersion(0)))
        cases.append(BadInput(
            label: "short header", bytes: Array(good[0..<40]),
            error: .outOfBounds(what: "header", offset: 0, length: 64, fileSize: 40)))
        var smallPhent = good
        smallPhent.patch(0x36, UInt16(32))
        cases.append(BadInput(label: "phentsize 32", bytes: smallPhent, error: .badEntrySize(what: "program header", size: 32)))
        var farPh = good
        farPh.patch(0x20, UInt64.max - 8)
        cases.append(BadInput(
            label: "phoff overflows", bytes: farPh,
            error: .outOfBounds(what: "program header table", offset: UInt64.max - 8, length: 112, fileSize: 251)))
        var bigDynamic = good
        bigDynamic.patch(120 + 32, UInt64(1_000))  // PT_DYNAMIC p_filesz
        cases.append(BadInput(
            label: "dynamic past the end", bytes: bigDynamic,
            error: .outOfBounds(what: "PT_DYNAMIC segment", offset: 176, length: 1_000, fileSize: 251)))
        var badNeeded = good
        badNeeded.patch(176 + 8, UInt64(11))  // DT_NEEDED value just past DT_STRSZ
        cases.append(BadInput(label: "DT_NEEDED past strtab", bytes: badNeeded, error: .badIndex(what: "DT_NEEDED string", index: 11)))
        var unmapped = good
        unmapped.patch(176 + 24, UInt64(0x90_0000))  // DT_STRTAB nowhere
        cases.append(BadInput(label: "unmapped DT_STRTAB", bytes: unmapped, error: .unmappedAddress(what: "DT_STRTAB", address: 0x90_0000)))
        var noStrtab = good
        noStrtab.patch(176 + 16, UInt64(7))  // DT_STRTAB becomes DT_RELA
        cases.append(BadInput(label: "no DT_STRTAB", bytes: noStrtab, error: .missingStringTable))
        var unterminated = good
        unterminated[250] = 0x37  // last NUL of "libc.so.6"
        cases.append(BadInput(
            label: "unterminated DT_NEEDED", bytes: unterminated,
            error: .unterminatedString(what: "DT_NEEDED", offset: 241)))
        var notUTF8 = good
        notUTF8[241] = 0xFF
        cases.append(BadInput(label: "DT_NEEDED not UTF-8", bytes: notUTF8, error: .invalidUTF8(what: "DT_NEEDED", offset: 241)))

        var builder = ELFBuilder()
        builder.type = 1
        builder.sections = [(".modinfo", 1, [0x61, 0])]
        let (ko, layout) = builder.buildWithLayout()
        var badShstrndx = ko
        badShstrndx.patch(0x3E, UInt16(40))
        cases.append(BadInput(label: "shstrndx out of range", bytes: badShstrndx, error: .badIndex(what: "section name table", index: 40)))
        var badShent = ko
        badShent.patch(0x3A, UInt16(40))
        cases.append(BadInput(label: "shentsize 40", bytes: badShent, error: .badEntrySize(what: "section header", size: 40)))
        var farSection = ko
        farSection.patch(layout.shoff + 64 + 24, UInt64(1 << 40))  // section 1 sh_offset
        cases.append(BadInput(
            label: "section data past the end", bytes: farSection,
            error: .outOfBounds(what: "section 1", offset: 1 << 40, length: 2, fileSize: ko.count)))
        var badName = ko
        badName.patch(layout.shoff + 64, UInt32(10_000))  // section 1 sh_name
        cases.append(BadInput(label: "sh_name out of range", bytes: badName, error: .badIndex(what: "section name string", index: 10_000)))
        return cases
    }

    @Test(arguments: badInputs)
    func rejects(_ input: BadInput) {
        #expect(throws: input.error) { try ELFFile(input.bytes) }
    }

    @Test func errorsDescribeThemselves() {
        #expect(ELFError.unsupportedClass(1).description.contains("32-bit"))
        #expect(ELFError.unsupportedByteOrder(2).description.contains("big-endian"))
        #expect(
            ELFError.outOfBounds(what: "section 3", offset: 9, length: 4, fileSize: 10).description
                == "ELF section 3 at offset 9, 4 bytes, lies outside the 10-byte file")
    }
}
