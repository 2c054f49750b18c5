extension DHCPMessage {
    /// Decodes a UDP payload. Never traps: anything that is not a DHCP message throws.
    /// Options after `end` and any bytes after it (padding) are ignored; a message whose options run
    /// to the end of the datagram without an `end` is accepted, as other clients do.
    public static func decode(_ bytes: [UInt8]) throws(DHCPDecodeError) -> DHCPMessage {
        guard bytes.count >= fixedLength else { throw .tooShort(count: bytes.count) }
        let cookie = DHCPBytes.uint32(bytes, at: 236)
        guard cookie == magicCookie else { throw .badMagicCookie(cookie) }
        var message = DHCPMessage(
            op: bytes[0], htype: bytes[1], hlen: bytes[2], hops: bytes[3],
            xid: DHCPBytes.uint32(bytes, at: 4), secs: DHCPBytes.uint16(bytes, at: 8), flags: DHCPBytes.uint16(bytes, at: 10),
            ciaddr: DHCPBytes.uint32(bytes, at: 12), yiaddr: DHCPBytes.uint32(bytes, at: 16),
            siaddr: DHCPBytes.uint32(bytes, at: 20), giaddr: DHCPBytes.uint32(bytes, at: 24),
            chaddr: Array(bytes[28..<44]), sname: Array(bytes[44..<108]), file: Array(bytes[108..<236]))
        var offset = fixedLength
        while offset < bytes.count {
            let code = bytes[offset]
            if code == DHCPOption.end { break }
            if code == DHCPOption.pad {
                offset += 1
                continue
            }
            guard offset + 1 < bytes.count else { throw .truncatedOption(code: code, offset: offset) }
            let length = Int(bytes[offset + 1])
            let start = offset + 2
            guard start + length <= bytes.count else { throw .truncatedOption(code: code, offset: offset) }
            message.options.append(DHCPOption(code, Array(bytes[start..<start + length])))
            offset = start + length
        }
        return message
    }

    /// The message on the wire: header, cookie, options (data over 255 bytes split into several
    /// options of the same code, RFC 3396), `end`, then pad to the 300 bytes of RFC 1542.
    public var bytes: [UInt8] {
        var out: [UInt8] = [op, htype, hlen, hops]
        out.reserveCapacity(Self.minimumLength)
        out += DHCPBytes.bigEndian(xid)
        out += DHCPBytes.bigEndian(secs)
        out += DHCPBytes.bigEndian(flags)
        for address in [ciaddr, yiaddr, siaddr, giaddr] { out += DHCPBytes.bigEndian(address) }
        out += Self.fixed(chaddr, 16)
        out += Self.fixed(sname, 64)
        out += Self.fixed(file, 128)
        out += DHCPBytes.bigEndian(Self.magicCookie)
        for option in options where option.code != DHCPOption.pad && option.code != DHCPOption.end {
            var rest = option.data[...]
            repeat {
                let chunk = rest.prefix(255)
                out += [option.code, UInt8(chunk.count)]
                out += chunk
                rest = rest.dropFirst(chunk.count)
            } while !rest.isEmpty
        }
        out.append(DHCPOption.end)
        if out.count < Self.minimumLength { out += [UInt8](repeating: 0, count: Self.minimumLength - out.count) }
        return out
    }
}
