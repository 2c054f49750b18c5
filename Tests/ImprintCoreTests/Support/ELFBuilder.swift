/// Builds small but well-formed ELF64 little-endian files for tests.
///
/// Layout: header | program headers | .interp | .dynstr | .dynamic | extra sections |
/// .shstrtab | section headers. One PT_LOAD maps the whole file at `base`, so the dynamic
/// string table's address is `base + offset`.
struct ELFBuilder {
    var type: UInt16 = 3  // ET_DYN
    var interpreter: String? = nil
    var needed: [String] = []
    var soname: String? = nil
    var runpath: String? = nil
    var rpath: String? = nil
    /// Extra sections: name, sh_type (1 PROGBITS, 8 NOBITS), contents.
    var sections: [(name: String, type: UInt32, data: [UInt8])] = []
    var base: UInt64 = 0x40_0000

    var hasDynamic: Bool { !needed.isEmpty || soname != nil || runpath != nil || rpath != nil }

    /// Where the builder put things, for tests that corrupt a field.
    struct Layout {
        var phoff = 0
        var phnum = 0
        var dynamicOffset: Int? = nil
        var dynstrOffset: Int? = nil
        var shoff = 0
    }

    func build() -> [UInt8] { buildWithLayout().bytes }

    func buildWithLayout() -> (bytes: [UInt8], layout: Layout) {
        var layout = Layout()
        var out = [UInt8](repeating: 0, count: 64)
        var phdrs: [(type: UInt32, offset: Int, size: Int)] = []
        let phnum = 1 + (interpreter == nil ? 0 : 1) + (hasDynamic ? 1 : 0)
        layout.phoff = out.count
        layout.phnum = type == 1 ? 0 : phnum
        if type != 1 { out += [UInt8](repeating: 0, count: 56 * phnum) }

        var shdrs: [(name: String, type: UInt32, offset: Int, size: Int)] = []
        if let interpreter {
            let offset = out.count
            out += Array(interpreter.utf8) + [0]
            phdrs.append((3, offset, out.count - offset))
            shdrs.append((".interp", 1, offset, out.count - offset))
        }
        if hasDynamic {
            var strtab: [UInt8] = [0]
            func add(_ s: String) -> UInt64 {
                let at = UInt64(strtab.count)
                strtab += Array(s.utf8) + [0]
                return at
            }
            var entries: [(UInt64, UInt64)] = needed.map { (1, add($0)) }
            if let soname { entries.append((14, add(soname))) }
            if let rpath { entries.append((15, add(rpath))) }
            if let runpath { entries.append((29, add(runpath))) }
            let strOffset = out.count
            layout.dynstrOffset = strOffset
            out += strtab
            shdrs.append((".dynstr", 3, strOffset, strtab.count))
            while out.count % 8 != 0 { out.append(0) }
            entries.append((5, base + UInt64(strOffset)))  // DT_STRTAB
            entries.append((10, UInt64(strtab.count)))  // DT_STRSZ
            entries.append((0, 0))  // DT_NULL
            let dynOffset = out.count
            layout.dynamicOffset = dynOffset
            for (tag, value) in entries { out += le(tag) + le(value) }
            phdrs.append((2, dynOffset, out.count - dynOffset))
            shdrs.append((".dynamic", 6, dynOffset, out.count - dynOffset))
        }
        for section in sections {
            let offset = out.count
            if section.type != 8 { out += section.data }
            shdrs.append((section.name, section.type, offset, section.data.count))
        }
        var shstrtab: [UInt8] = [0]
        var nameOffsets: [Int] = []
        for section in shdrs + [(name: ".shstrtab", type: 3, offset: 0, size: 0)] {
            nameOffsets.append(shstrtab.count)
            shstrtab += Array(section.name.utf8) + [0]
        }
        let shstrOffset = out.count
        out += shstrtab
        shdrs.append((".shstrtab", 3, shstrOffset, shstrtab.count))
        while out.count % 8 != 0 { out.append(0) }
        let shoff = out.count
        layout.shoff = shoff
        out += [UInt8](repeating: 0, count: 64)  // section 0, SHT_NULL
        for (index, section) in shdrs.enumerated() {
            var h = le(UInt32(nameOffsets[index])) + le(section.type) + le(UInt64(0))
            h += le(UInt64(0)) + le(UInt64(section.offset)) + le(UInt64(section.size))
            h += le(UInt32(0)) + le(UInt32(0)) + le(UInt64(1)) + le(UInt64(0))
            out += h
        }
        let fileSize = out.count
        if type != 1 {
            phdrs.insert((1, 0, fileSize), at: 0)  // PT_LOAD of the whole file
            for (index, ph) in phdrs.enumerated() {
                var h = le(ph.type) + le(UInt32(4)) + le(UInt64(ph.offset))
                h += le(base + UInt64(ph.offset)) + le(base + UInt64(ph.offset))
                h += le(UInt64(ph.size)) + le(UInt64(ph.size)) + le(UInt64(8))
                out.replaceSubrange((layout.phoff + index * 56)..<(layout.phoff + (index + 1) * 56), with: h)
            }
        }
        var header: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        header += le(type) + le(UInt16(62)) + le(UInt32(1))  // e_type, e_machine x86-64, e_version
        header += le(UInt64(0)) + le(UInt64(type == 1 ? 0 : layout.phoff)) + le(UInt64(shoff))
        header += le(UInt32(0)) + le(UInt16(64)) + le(UInt16(56)) + le(UInt16(layout.phnum))
        header += le(UInt16(64)) + le(UInt16(shdrs.count + 1)) + le(UInt16(shdrs.count))
        out.replaceSubrange(0..<64, with: header)
        return (out, layout)
    }
}

func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

extension Array where Element == UInt8 {
    /// Overwrites the little-endian integer at `offset`.
    mutating func patch<T: FixedWidthInteger>(_ offset: Int, _ value: T) {
        replaceSubrange(offset..<(offset + MemoryLayout<T>.size), with: le(value))
    }
}
