import ImprintCore

extension Store {
    /// What is known of a machine: its device folder, if any, and what its agent reported.
    public struct MachineStatus: Sendable {
        public var mac: MACAddress
        /// The machine has a `devices/<mac>/` (otherwise it only reported, in discovery).
        public var isDevice: Bool
        public var hostname: String?
        public var report: StatusReport?
        /// Why `status.json` could not be read, when it exists but could not.
        public var reportProblem: String?
        /// Raw text of `status.json`, for `--json`.
        public var reportText: String?
        public var hasInventory: Bool
    }

    /// Every device, and every MAC with reports but no device (discovery), sorted by MAC.
    public func statuses() -> [MachineStatus] {
        var macs: [MACAddress: String?] = [:]
        let known = devices()
        for device in known { macs[device.mac] = device.assignment?.hostname }
        for name in FileIO.list(reportsDirectory) {
            guard let mac = try? MACAddress(parsing: name), mac.hyphenated == name, macs[mac] == nil else { continue }
            macs[mac] = .some(nil)
        }
        let devicesSet = Set(known.map(\.mac))
        return macs.keys.sorted().map { mac in
            status(of: mac, isDevice: devicesSet.contains(mac), hostname: macs[mac] ?? nil)
        }
    }

    /// One machine's status; nil when the store knows nothing of it.
    public func status(of mac: MACAddress) -> MachineStatus? {
        let isDevice = FileIO.isDirectory(deviceDirectory(mac))
        guard isDevice || FileIO.isDirectory("\(reportsDirectory)/\(mac.hyphenated)") else { return nil }
        let hostname = FileIO.readText(assignment(mac)).flatMap { try? DeviceAssignment.parse($0) }?.hostname
        return status(of: mac, isDevice: isDevice, hostname: hostname)
    }

    private func status(of mac: MACAddress, isDevice: Bool, hostname: String?) -> MachineStatus {
        var status = MachineStatus(mac: mac, isDevice: isDevice, hostname: hostname, hasInventory: FileIO.exists(inventory(mac)))
        if let text = FileIO.readText(statusReport(mac)) {
            status.reportText = text
            do {
                let report = try StatusReport.parse(text)
                if report.mac == mac {
                    status.report = report
                } else {
                    status.reportProblem = "status.json names \(report.mac.colon), not \(mac.colon)"
                }
            } catch {
                status.reportProblem = "status.json: \(error)"
            }
        }
        return status
    }
}
