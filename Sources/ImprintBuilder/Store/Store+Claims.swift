import Foundation
import ImprintCore

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
