import ArgumentParser
import Foundation
import ImprintBuilder
import ImprintCore

extension Imprint {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what the agents reported: one line per machine, or one machine in full.",
            discussion: "Reads STORE/reports/<mac>/status.json. Machines with reports but no device are ones that booted into discovery.")

        @Argument(help: ArgumentHelp("Show this machine in full.", valueName: "MAC"))
        var mac: String?

        @Flag(help: "Print JSON for scripts.")
        var json = false

        @Option(help: ArgumentHelp("Read the reports an offline stick carries instead of the store's: its image file, the stick (/dev/sdX), or the folder its data partition is mounted on.", valueName: "FILE.img"))
        var from: String?

        @OptionGroup var store: StoreOptions

        func run() throws {
            let store: Store
            var stick: OfflineStick?
            defer { stick?.close() }
            if let from {
                do { stick = try OfflineStick(path: from) } catch { throw CommandFailure("status failed: \(error)") }
            }
            do { store = try Store.open(stick?.root ?? self.store.path, create: false) } catch let error as StoreError { throw CommandFailure("\(error)") }
            let now = Date().timeIntervalSince1970
            if let mac {
                let address: MACAddress
                do { address = try MACAddress(parsing: mac) } catch { throw CommandFailure("status failed: \(error)") }
                guard let status = store.status(of: address) else {
                    throw CommandFailure("status failed: the store knows nothing of \(address.colon): no device and no report; imprint status lists the machines")
                }
                let claim = store.claimState(address)
                if json { print(Self.json(status, claim: claim).serialized(pretty: true)); return }
                print(Self.details(status, now: now, claim: claim), terminator: "")
                return
            }
            let all = store.statuses()
            if json { print(JSONValue.array(all.map { Self.json($0, claim: store.claimState($0.mac)) }).serialized(pretty: true)); return }
            var table = TextTable(header: ["MAC", "HOSTNAME", "PHASE", "PROGRESS", "UPDATED"])
            for status in all {
                table.add([status.mac.hyphenated, status.hostname ?? (status.isDevice ? "-" : "(discovered)")]
                          + Self.summary(status, now: now, claim: store.claimState(status.mac)))
            }
            print(table.rendered, terminator: "")
        }

        /// PHASE, PROGRESS, UPDATED cells.
        static func summary(_ status: Store.MachineStatus, now: Double, claim: Store.ClaimState) -> [String] {
            var cells = summary(status, now: now)
            // A refused token claim is what the operator must act on: it leads the phase.
            if claim.refusals > 0 { cells[0] = "claim refused (\(claim.refusals)x): imprint device rearm; " + cells[0] }
            return cells
        }

        static func summary(_ status: Store.MachineStatus, now: Double) -> [String] {
            if let problem = status.reportProblem { return ["unreadable", "-", problem] }
            guard let report = status.report else {
                return [status.hasInventory ? "inventory only" : "no report", "-", "-"]
            }
            return [report.phase.rawValue, progress(report), age(report, now: now)]
        }

        static func progress(_ report: StatusReport) -> String {
            guard let written = report.bytesWritten else { return "-" }
            guard let total = report.bytesTotal, total > 0 else { return humanBytes(written) }
            return "\(humanBytes(written))/\(humanBytes(total)) \(written * 100 / total)%"
        }

        static func age(_ report: StatusReport, now: Double) -> String {
            guard let updated = report.updated else { return "-" }
            guard let then = report.updatedEpochSeconds else { return updated }
            return "\(humanAge(seconds: now - then)) ago"
        }

        static func details(_ status: Store.MachineStatus, now: Double, claim: Store.ClaimState) -> String {
            var lines = ["mac:        \(status.mac.colon)"]
            lines.append("device:     \(status.isDevice ? "yes" : "no (discovered)")")
            if let hostname = status.hostname { lines.append("hostname:   \(hostname)") }
            lines.append("inventory:  \(status.hasInventory ? "yes" : "no")")
            if status.isDevice {
                var text = claim.armed ? "armed: the next claim gets a token" : claim.claimed ? "token claimed" : "no claim state"
                if claim.rearms > 0 { text += " (rearmed \(claim.rearms)x)" }
                lines.append("token:      \(text)")
            }
            if claim.refusals > 0 {
                lines.append("claim:      refused \(claim.refusals)x, last at \(claim.refusedAt ?? "?") from \(claim.refusedFrom ?? "?"): if that was this machine, imprint device rearm \(status.mac.colon); if not, find out who")
            }
            if let problem = status.reportProblem {
                lines.append("report:     unreadable: \(problem)")
            } else if let report = status.report {
                lines.append("phase:      \(report.phase.rawValue)")
                lines.append("progress:   \(progress(report))")
                if let rate = report.rate { lines.append("rate:       \(humanBytes(Int(rate)))/s") }
                if let updated = report.updated { lines.append("updated:    \(updated) (\(age(report, now: now)))") }
                if !report.timings.isEmpty {
                    lines.append("timings:    " + report.timings.map { "\($0.name) \(String(format: "%.1f", $0.seconds)) s" }.joined(separator: ", "))
                }
                if let error = report.error { lines.append("error:      \(error)") }
            } else {
                lines.append("report:     no report")
            }
            return lines.joined(separator: "\n") + "\n"
        }

        static func json(_ status: Store.MachineStatus, claim: Store.ClaimState) -> JSONValue {
            var object: JSONObject = ["mac": .string(status.mac.colon), "device": .bool(status.isDevice)]
            var token: JSONObject = ["armed": .bool(claim.armed), "claimed": .bool(claim.claimed), "rearms": .number(Double(claim.rearms))]
            if claim.refusals > 0 {
                token["refused"] = ["count": .number(Double(claim.refusals)), "time": claim.refusedAt.map { .string($0) } ?? .null,
                                    "from": claim.refusedFrom.map { .string($0) } ?? .null]
            }
            object["token"] = .object(token)
            object["hostname"] = status.hostname.map { .string($0) } ?? .null
            object["inventory"] = .bool(status.hasInventory)
            if let report = status.report {
                object["status"] = report.json
            } else {
                object["status"] = .null
                if let problem = status.reportProblem { object["error"] = .string(problem) }
            }
            return .object(object)
        }
    }
}
