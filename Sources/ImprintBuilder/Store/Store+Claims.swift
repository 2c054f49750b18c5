import Foundation
import ImprintCore
import ImprintDigest

/// Token claims, the operator's side (``DeviceClaim``, docs/security.md "Tokens").
extension Store {
    /// Arms `mac`'s claim: the next `POST devices/<mac>/claim` gets a new token. The token claimed
    /// before, if any, stops working at once. Returns the rearm count (0 for a device never armed).
    @discardableResult
    public func armClaim(_ mac: MACAddress) throws -> Int {
        try makeFolders(["secrets", "secrets/devices"])
        let armed = "\(root)/\(DeviceClaim.armed(mac))"
        let claimed = "\(root)/\(DeviceClaim.claimed(mac))"
        let previous = [armed, claimed].compactMap { FileIO.readText($0).flatMap(DeviceClaim.rearms(fromText:)) }.max()
        let rearms = previous.map { $0 + 1 } ?? 0
        unlink(tokenHash(mac))
        try FileIO.writeAtomically(Array(DeviceClaim.stateText(rearms: rearms).utf8), to: armed, mode: 0o600)
        unlink(claimed)
        unlink("\(root)/\(DeviceClaim.refusedReport(mac))")
        return rearms
    }

    /// A device's claim as `imprint status` shows it.
    public struct ClaimState: Equatable, Sendable {
        /// A claim may be made now.
        public var armed: Bool
        /// The token has been claimed (and not rearmed since).
        public var claimed: Bool
        public var rearms: Int
        /// The last refused claim: when and from where (`claim-refused.json`), if any since.
        public var refusedAt: String?
        public var refusedFrom: String?
        public var refusals: Int
    }

    public func claimState(_ mac: MACAddress) -> ClaimState {
        let armed = FileIO.readText("\(root)/\(DeviceClaim.armed(mac))")
        let claimed = FileIO.readText("\(root)/\(DeviceClaim.claimed(mac))")
        var state = ClaimState(armed: armed != nil, claimed: claimed != nil,
                               rearms: (armed ?? claimed).flatMap(DeviceClaim.rearms(fromText:)) ?? 0, refusals: 0)
        if let text = FileIO.readText("\(root)/\(DeviceClaim.refusedReport(mac))"), let json = try? JSONValue.parse(text) {
            state.refusedAt = json["time"]?.stringValue
            state.refusedFrom = json["from"]?.stringValue
            state.refusals = json["refusals"]?.intValue ?? 1
        }
        return state
    }
}

extension Store {
    /// The token a medium for `mac` carries (`imprint iso`, `imprint usb`): HMAC-SHA256 of the media
    /// key (`media.key` in the keys folder) over the MAC and the device's rearm count, so the same
    /// inputs give the same medium byte for byte. Making it claims the device's token for the medium:
    /// its hash becomes the device's, and a PXE claim is refused until `imprint device rearm` (which
    /// also revokes the medium's token: a lost stick is dealt with so).
    public func mediaToken(_ mac: MACAddress) throws -> String {
        let key = try keys.mediaKey()
        let state = claimState(mac)
        let message = Array("imprint media token\n\(mac.colon)\n\(state.rearms)\n".utf8)
        let token = hexString(hmacSHA256(key: key, message: message))
        guard token.count == 64 else { throw StoreError("OpenSSL could not compute the media token") }
        try makeFolders(["secrets", "secrets/devices"])
        try FileIO.writeAtomically(Array((SHA256.hex(of: Array(token.utf8)) + "\n").utf8), to: tokenHash(mac), mode: 0o600)
        try FileIO.writeAtomically(Array(DeviceClaim.stateText(rearms: state.rearms).utf8), to: "\(root)/\(DeviceClaim.claimed(mac))", mode: 0o600)
        unlink("\(root)/\(DeviceClaim.armed(mac))")
        return token
    }
}
