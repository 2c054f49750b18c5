/// What an ELF64 little-endian file says about loading it: the program interpreter, the shared
/// libraries it needs and where to look for them, and its sections by name.
///
/// Reads executables and shared objects (through the dynamic segment) and relocatable objects
/// such as kernel modules (`.ko`, sections only). Every offset in the file is bounds-checked:
/// truncated or hostile input throws an ``ELFError`` and never traps.
///
///     let ls = try ELFFile(bytes)
///     ls.interpreter   // "/lib64/ld-linux-x86-64.so.2"
///     ls.needed        // ["libselinux.so.1", "libc.so.6"]
public struct ELFFile: Sendable {
    /// `e_type`: 1 relocatable (`.ko`), 2 executable, 3 shared object or PIE, 4 core.
    public let type: UInt16
    /// `e_machine`: 62 is x86-64, 183 is AArch64.
    public let machine: UInt16
    /// The program interpreter (`PT_INTERP`), e.g. `/lib64/ld-linux-x86-64.so.2`.
    public let interpreter: String?
    /// The `DT_NEEDED` entries, in the file's order.
    public let needed: [String]
    /// `DT_RUNPATH` split on `:`, else `DT_RPATH`; empty components are dropped and
    /// `$ORIGIN` is left for the caller to expand.
    public let runpath: [String]
    /// `DT_SONAME`, e.g. `libc.so.6`.
    public let soname: String?
    /// Section names in section-header order (the null section 0 included, named "").
    public var sectionNames: [String] { sections.map(\.name) }

    private let bytes: [UInt8]
    private let sections: [Section]

    fileprivate struct Section: Sendable {
        var name: String
        /// File bytes of the section; empty for `SHT_NOBITS` (`.bss`).
        var range: Range<Int>
    }

    /// The file bytes of the first section called `name`, found through the section-name
    /// table; `nil` if there is none. The slice keeps the file's indices. A `SHT_NOBITS`
    /// section such as `.bss` has no file bytes and gives an empty slice.
    public func section(named name: String) -> ArraySlice<UInt8>? {
        guard let section = sections.first(where: { $0.name == name }) else { return nil }
        return bytes[section.range]
    }

    /// Parses `bytes` as an ELF64 little-endian file.
    public init(_ bytes: [UInt8]) throws(ELFError) {
        let file = ELFBytes(bytes: bytes)
        let header = try Header(file)
        let sections = try Self.readSections(file, header)
        let segments = try Self.readSegments(file, header, sectionZero: sections.zero)

        var interpreter: String? = nil
        if let interp = segments.first(where: { $0.type == PT.interp }) {
            let range = try file.range("PT_INTERP segment", offset: interp.offset, length: interp.fileSize)
            interpreter = try file.string("PT_INTERP", in: range, at: 0)
        }

        var dynamic = Dynamic()
        if let segment = segments.first(where: { $0.type == PT.dynamic }) {
            dynamic = try Dynamic(file, segment: segment, loads: segments.filter { $0.type == PT.load })
        }

        self.type = header.type
        self.machine = header.machine
        self.interpreter = interpreter
        self.needed = dynamic.needed
        self.runpath = dynamic.runpath
        self.soname = dynamic.soname
        self.bytes = bytes
        self.sections = sections.list
    }
}

// MARK: - Header, segments, sections

/// Program header types.
private enum PT {
    static let load: UInt32 = 1
    static let dynamic: UInt32 = 2
    static let interp: UInt32 = 3
}

extension ELFFile {
    /// The fields of the 64-byte ELF header that the parser needs.
    fileprivate struct Header {
        var type: UInt16
        var machine: UInt16
        var phoff: UInt64
        var shoff: UInt64
        var phentsize: UInt16
        var phnum: UInt16
        var shentsize: UInt16
        var shnum: UInt16
        var shstrndx: UInt16

        init(_ file: ELFBytes) throws(ELFError) {
            let magic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]
            guard file.count >= 4, file.bytes[0..<4].elementsEqual(magic) else { throw .notELF }
            let ident = try file.range("identification", offset: 0, length: 16)
            let elfClass = file.bytes[ident.lowerBound + 4]
            let data = file.bytes[ident.lowerBound + 5]
            let version = file.bytes[ident.lowerBound + 6]
            guard elfClass == 2 else { throw .unsupportedClass(elfClass) }
            guard data == 1 else { throw .unsupportedByteOrder(data) }
            guard version == 1 else { throw .unsupportedVersion(version) }
            _ = try file.range("header", offset: 0, length: 64)
            type = file.u16(0x10)
            machine = file.u16(0x12)
            phoff = file.u64(0x20)
            shoff = file.u64(0x28)
            phentsize = file.u16(0x36)
            phnum = file.u16(0x38)
            shentsize = file.u16(0x3A)
            shnum = file.u16(0x3C)
            shstrndx = file.u16(0x3E)
        }
    }

    fileprivate struct Segment {
        var type: UInt32
        var offset: UInt64
        var vaddr: UInt64
        var fileSize: UInt64
    }

    /// The fields of section header 0 that extend `e_phnum`, `e_shnum` and `e_shstrndx` when
    /// they overflow 16 bits.
    fileprivate struct SectionZero {
        var size: UInt64 = 0
        var link: UInt32 = 0
        var info: UInt32 = 0
    }

    fileprivate static func readSegments(
        _ file: ELFBytes, _ header: Header, sectionZero: SectionZero?
    ) throws(ELFError) -> [Segment] {
        var count = UInt64(header.phnum)
        if header.phnum == 0xFFFF, let zero = sectionZero { count = UInt64(zero.info) }  // PN_XNUM
        guard count > 0 else { return [] }
        guard header.phentsize >= 56 else { throw .badEntrySize(what: "program header", size: Int(header.phentsize)) }
        let table = try file.table(
            "program header table", offset: header.phoff, count: count, entrySize: UInt64(header.phentsize))
        var segments: [Segment] = []
        for start in stride(from: table.lowerBound, to: table.upperBound, by: Int(header.phentsize)) {
            let segment = Segment(
                type: file.u32(start), offset: file.u64(start + 8),
                vaddr: file.u64(start + 16), fileSize: file.u64(start + 32))
            if segment.type == PT.load {
                _ = try file.range("PT_LOAD segment", offset: segment.offset, length: segment.fileSize)
            }
            segments.append(segment)
        }
        return segments
    }

    fileprivate static func readSections(
        _ file: ELFBytes, _ header: Header
    ) throws(ELFError) -> (list: [Section], zero: SectionZero?) {
        guard header.shoff != 0 else { return ([], nil) }
        guard header.shentsize >= 64 else { throw .badEntrySize(what: "section header", size: Int(header.shentsize)) }
        let entrySize = UInt64(header.shentsize)

        // Section 0 carries the real counts when the header's fields overflow.
        let first = try file.range("section header 0", offset: header.shoff, length: entrySize).lowerBound
        let zero = SectionZero(size: file.u64(first + 32), link: file.u32(first + 40), info: file.u32(first + 44))
        let count = header.shnum == 0 ? zero.size : UInt64(header.shnum)
        let table = try file.table("section header table", offset: header.shoff, count: count, entrySize: entrySize)

        struct Raw {
            var name: UInt32
            var type: UInt32
            var offset: UInt64
            var size: UInt64
        }
        var raws: [Raw] = []
        for start in stride(from: table.lowerBound, to: table.upperBound, by: Int(header.shentsize)) {
            raws.append(Raw(
                name: file.u32(start), type: file.u32(start + 4),
                offset: file.u64(start + 24), size: file.u64(start + 32)))
        }

        var ranges: [Range<Int>] = []
        for (index, raw) in raws.enumerated() {
            let nobits: UInt32 = 8
            if raw.type == nobits || raw.type == 0 {
                ranges.append(0..<0)
            } else {
                ranges.append(try file.range("section \(index)", offset: raw.offset, length: raw.size))
            }
        }

        let names: Range<Int>?
        let nameIndex = header.shstrndx == 0xFFFF ? UInt64(zero.link) : UInt64(header.shstrndx)  // SHN_XINDEX
        if nameIndex == 0 {
            names = nil  // SHN_UNDEF: the file has no section names
        } else {
            guard nameIndex < UInt64(raws.count) else { throw .badIndex(what: "section name table", index: nameIndex) }
            names = ranges[Int(nameIndex)]
        }

        var list: [Section] = []
        for (index, raw) in raws.enumerated() {
            var name = ""
            if let names {
                name = try file.string("section name", in: names, at: UInt64(raw.name))
            }
            list.append(Section(name: name, range: ranges[index]))
        }
        return (list, zero)
    }
}

// MARK: - Dynamic section

extension ELFFile {
    /// What the `PT_DYNAMIC` entries say, with their strings resolved.
    fileprivate struct Dynamic {
        var needed: [String] = []
        var runpath: [String] = []
        var soname: String? = nil

        init() {}

        init(_ file: ELFBytes, segment: Segment, loads: [Segment]) throws(ELFError) {
            let entries = try file.range("PT_DYNAMIC segment", offset: segment.offset, length: segment.fileSize)
            var neededOffsets: [UInt64] = []
            var sonameOffset: UInt64? = nil
            var rpathOffset: UInt64? = nil
            var runpathOffset: UInt64? = nil
            var strtab: UInt64? = nil
            var strsz: UInt64? = nil

            var at = entries.lowerBound
            while at + 16 <= entries.upperBound {
                let tag = file.u64(at)
                let value = file.u64(at + 8)
                at += 16
                switch tag {
                case 0: at = entries.upperBound  // DT_NULL ends the list
                case 1: neededOffsets.append(value)  // DT_NEEDED
                case 5: strtab = strtab ?? value  // DT_STRTAB
                case 10: strsz = strsz ?? value  // DT_STRSZ
                case 14: sonameOffset = sonameOffset ?? value  // DT_SONAME
                case 15: rpathOffset = rpathOffset ?? value  // DT_RPATH
                case 29: runpathOffset = runpathOffset ?? value  // DT_RUNPATH
                default: break
                }
            }

            let pathOffset = runpathOffset ?? rpathOffset
            guard !neededOffsets.isEmpty || sonameOffset != nil || pathOffset != nil else { return }
            guard let strtab else { throw .missingStringTable }

            // DT_STRTAB is a virtual address: find the file bytes a PT_LOAD maps there.
            guard let load = loads.first(where: {
                $0.vaddr <= strtab && strtab - $0.vaddr < $0.fileSize
            }) else {
                throw .unmappedAddress(what: "DT_STRTAB", address: strtab)
            }
            let start = load.offset + (strtab - load.vaddr)
            let size = strsz ?? (load.fileSize - (strtab - load.vaddr))
            let table = try file.range("dynamic string table", offset: start, length: size)

            for offset in neededOffsets {
                needed.append(try file.string("DT_NEEDED", in: table, at: offset))
            }
            if let sonameOffset {
                soname = try file.string("DT_SONAME", in: table, at: sonameOffset)
            }
            if let pathOffset {
                let what = runpathOffset != nil ? "DT_RUNPATH" : "DT_RPATH"
                let joined = try file.string(what, in: table, at: pathOffset)
                runpath = joined.split(separator: ":").map(String.init)
            }
        }
    }
}
