import Glibc
import Hummingbird
import ImprintCore
import ImprintDigest
import NIOCore
import NIOPosix

/// `POST devices/<mac>/claim` (``DeviceClaim``, docs/security.md "Tokens"): the one answer with a
/// new token for an armed device. The armed file is renamed to claimed first, so of two claims at
/// once exactly one gets a token; a refused claim is recorded in `reports/<mac>/claim-refused.json`.
extension HTTPStoreResponder {
    func claim(_ request: Request, target: String, peer: String) async -> Outcome {
        let segments: [String]
        do throws(HTTPPathRefusal) { segments = try HTTPStorePath.segments(target) } catch {
            return Self.status(.notFound, note: "not a claim")
        }
        guard segments.count == 3, segments[0] == "devices", segments[2] == "claim" else {
            return Self.status(.methodNotAllowed, note: "POST is only for devices/<mac>/claim", headers: [.allow: "GET, HEAD"])
        }
        guard let mac = try? MACAddress(parsing: segments[1]), mac.hyphenated == segments[1] else {
            return Self.status(.badRequest, note: "\(Self.printable(segments[1])) is not a lower-case hyphenated MAC")
        }
        let root = self.root
        let time = UTCTime.format(epochSeconds: Int(Glibc.time(nil)))
        let result: ClaimResult
        do {
            result = try await NIOThreadPool.singleton.runIfActive { try Self.claimToken(root: root, mac: mac, peer: peer, time: time) }
        } catch {
            return Self.status(.internalServerError, note: "claim for \(mac.hyphenated): \(error)")
        }
        switch result {
        case .unknown:
            return Self.status(.notFound, note: "no device \(mac.hyphenated) to claim for")
        case .refused(let refusals):
            return Self.status(.conflict, note: "\(mac.hyphenated)'s token was claimed already (refusal \(refusals)): imprint device rearm \(mac.colon) lets it claim again")
        case .granted(let token):
            return Self.claimAnswer(token: token, note: "token claimed by \(mac.hyphenated)")
        }
    }

    /// 200 with `{"token": ...}`, never to be cached.
    static func claimAnswer(token: String, note: String) -> Outcome {
        var headers: HTTPFields = [:]
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        let body = ByteBuffer(string: DeviceClaim.answer(token: token))
        return Outcome(response: Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: body)), bytes: body.readableBytes, note: note)
    }

    enum ClaimResult { case granted(String), refused(Int), unknown }

    /// The claim itself, on the blocking pool: rename armed to claimed, then the new token's hash.
    static func claimToken(root: String, mac: MACAddress, peer: String, time: String) throws -> ClaimResult {
        let armed = "\(root)/\(DeviceClaim.armed(mac))"
        let claimed = "\(root)/\(DeviceClaim.claimed(mac))"
        guard rename(armed, claimed) == 0 else {
            guard errno == ENOENT else { throw HTTPWriteError("cannot claim: rename \(armed): errno \(errno)") }
            var info = stat()
            guard stat(claimed, &info) == 0 || stat("\(root)/devices/\(mac.hyphenated)/assignment.json", &info) == 0 else { return .unknown }
            let report = "\(root)/\(DeviceClaim.refusedReport(mac))"
            let previous = readSmall(report).flatMap { try? JSONValue.parse(String(decoding: $0, as: UTF8.self)) }?["refusals"]?.intValue ?? 0
            mkdir("\(root)/reports", 0o755)
            mkdir("\(root)/reports/\(mac.hyphenated)", 0o755)
            try writeSmall(Array(DeviceClaim.refusal(mac: mac, time: time, from: peer, refusals: previous + 1).utf8), to: report, mode: 0o644)
            return .refused(previous + 1)
        }
        var generator = SystemRandomNumberGenerator()
        let token = hexString((0..<4).flatMap { _ in withUnsafeBytes(of: generator.next()) { Array($0) } })
        do {
            try writeSmall(Array((SHA256.hex(of: Array(token.utf8)) + "\n").utf8), to: "\(root)/secrets/devices/\(mac.hyphenated).sha256", mode: 0o600)
        } catch {
            rename(claimed, armed)  // not granted: the device may claim again
            throw error
        }
        return .granted(token)
    }

    /// Writes a small file through a temporary name (fsync, rename).
    static func writeSmall(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        let temporary = "\(path).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).partial"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw HTTPWriteError("cannot create \(temporary): errno \(errno)") }
        var ok = false
        defer { if !ok { unlink(temporary) } }
        do {
            defer { close(fd) }
            try bytes.withUnsafeBytes { try captureWriteAll(fd, $0, path: temporary) }
            guard fsync(fd) == 0 else { throw HTTPWriteError("cannot sync \(temporary): errno \(errno)") }
        }
        guard rename(temporary, path) == 0 else { throw HTTPWriteError("cannot rename \(temporary): errno \(errno)") }
        ok = true
    }

    /// A device's assignment is served only with its token, never to be cached: it may hold secrets.
    /// A site showing its site token (already checked by ``siteRefusal(_:target:)``) passes on the
    /// device's `Authorization` when a device asked, which is checked; without one (`replicate`, a
    /// pre-seed) the site token alone reads it. A site itself holds no device secrets: it serves
    /// what upstream let it revalidate, and its kept copy when upstream is down (docs/security.md).
    func assignmentRefusal(_ request: HTTPRequest, segments: [String]) -> Outcome? {
        guard mirror == nil, segments.count == 3, segments[0] == "devices", segments[2] == "assignment.json" else { return nil }
        let lowered = SiteToken.header.lowercased()
        if request.headerFields.contains(where: { $0.name.canonicalName == lowered }) && request.headerFields[.authorization] == nil { return nil }
        return deviceTokenRefusal(request, mac: segments[1])
    }
}
