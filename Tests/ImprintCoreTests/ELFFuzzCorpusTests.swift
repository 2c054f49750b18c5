// The harness half of this file is also the libFuzzer target Fuzz/ELFParse.swift: scripts/fuzz
// compiles it with -D IMPRINT_FUZZ beside Sources/ImprintCore, which leaves out the imports and the
// tests. One copy of the harness, so the replay runs exactly what the fuzzer ran.
#if !IMPRINT_FUZZ
import Foundation
import ImprintTestSupport
import Testing

@testable import ImprintCore
#endif

/// What the ELF fuzz target runs on each input: `ELFFile` (the builder reads every binary it copies
/// into an initrd and every kernel module with it), each section by name, and a `.modinfo` section
/// through `ModInfo`. It must never trap: a hostile file only throws.
enum ELFFuzz {
    static func run(_ bytes: [UInt8]) {
        guard let file = try? ELFFile(bytes) else { return }
        precondition(bytes.count >= 64, "a file shorter than the ELF header parsed")
        if let interpreter = file.interpreter { precondition(!interpreter.utf8.contains(0), "the interpreter holds a NUL") }
        for name in file.needed + [file.soname].compactMap({ $0 }) {
            precondition(!name.utf8.contains(0), "a dynamic string holds a NUL")
        }
        precondition(!file.runpath.contains(""), "an empty runpath component was kept")
        let names = file.sectionNames
        for name in names {
            guard let section = file.section(named: name) else { preconditionFailure("section \(name) listed but not found") }
            precondition(section.startIndex >= 0 && section.endIndex <= bytes.count, "section \(name) lies outside the file")
            precondition(section.elementsEqual(bytes[section.startIndex..<section.endIndex]), "section \(name) is not the file's bytes")
        }
        if !names.contains(".modinfo") { precondition(file.section(named: ".modinfo") == nil, "a section that is not listed") }
        if let modinfo = file.section(named: ".modinfo") {
            // What ModuleTree does with a kernel module.
            let info = ModInfo(name: "fuzz", modinfo: modinfo)
            precondition(!info.name.isEmpty, "a module without a name")
        }
        // Parsing is a function of the bytes.
        guard let again = try? ELFFile(bytes) else { preconditionFailure("a second parse failed") }
        precondition(again.sectionNames == names && again.needed == file.needed && again.runpath == file.runpath
                     && again.soname == file.soname && again.interpreter == file.interpreter
                     && again.type == file.type && again.machine == file.machine, "a second parse differs")
    }
}

#if !IMPRINT_FUZZ
/// Replays the committed libFuzzer corpus (`Fuzz/corpus/ELFParse/`) through what the fuzz target
/// runs, so every input the fuzzer ever kept stays a regression test in `make test` (DESIGN section 10).
@Suite("ELF fuzz corpus")
struct ELFFuzzCorpusTests {
    @Test func everyCorpusInputRunsWithoutTrapping() throws {
        let seeds = try FuzzCorpus.seeds("ELFParse")
        #expect(seeds.count >= 10, "the corpus lost its seeds")
        var parsed = 0
        var modules = 0
        for seed in seeds {
            ELFFuzz.run(seed.bytes)
            if let file = try? ELFFile(seed.bytes) {
                parsed += 1
                if file.section(named: ".modinfo") != nil { modules += 1 }
            }
        }
        #expect(parsed > 0 && modules > 0 && parsed < seeds.count, "the corpus holds binaries, modules and malformed files")
    }

    @Test func truncatedFilesNeverTrap() throws {
        for seed in try FuzzCorpus.seeds("ELFParse") {
            for end in stride(from: 0, to: seed.bytes.count, by: max(1, seed.bytes.count / 97)) {
                ELFFuzz.run(Array(seed.bytes[0..<end]))
            }
        }
    }
}
#endif
