import Glibc
import ImprintCore

/// The offline stick (docs/media.md "The offline stick"): with `imprint.offline` on the kernel command
/// line the agent brings up no network, mounts the boot medium's data partition and deploys from it
/// as from a store, through `file://` URLs, writing its reports onto it.
public enum OfflineSteps {
    /// Where the data partition is mounted.
    public static let mountPoint = "/run/imprint/offline"
    /// The data partition's number on the medium's GPT (1 the ISO 9660 file system, 2 the ESP).
    public static let partitionNumber = 3

    /// PID 1's steps with the offline ones in place: the data partition opened before the network
    /// step, which (as the boot reports) is skipped offline, and closed before the after-action.
    public static func arranged(_ steps: [any BootStep]) -> [any BootStep] {
        var result: [any BootStep] = []
        for step in steps {
            if step is ConfigureNetwork { result.append(OpenOfflineStore()) }
            if step is AfterDeploy { result.append(CloseOfflineStore()) }
            result.append(step is ConfigureNetwork || step is SendBootReports ? SkippedOffline(step) : step)
        }
        return result
    }
}

/// Runs `step` unless the agent deploys offline.
struct SkippedOffline: BootStep {
    let step: any BootStep
    init(_ step: any BootStep) { self.step = step }
    var description: String { step.description }

    func run(_ context: AgentContext) throws(AgentError) {
        guard !context.commandLine.offline || context.commandLine.mode == .probe else { return }
        try step.run(context)
    }
}

/// Finds the medium (`imprint.medium=`), mounts its data partition (vfat) and points the deploy at it.
struct OpenOfflineStore: BootStep {
    /// How long to wait for the medium to appear: a USB stick is scanned after coldplug returns.
    var waitMilliseconds: UInt64 = 30_000

    var description: String { "open the offline stick's data partition" }

    func run(_ context: AgentContext) throws(AgentError) {
        let line = context.commandLine
        guard line.offline, line.mode != .probe else { return }
        guard let medium = line.medium else {
            throw AgentError("imprint.offline without imprint.medium=: the agent cannot tell which disk is the stick",
                             hint: "make the stick with imprint usb MAC --offline, which sets both")
        }
        let start = context.clock.milliseconds()
        var disk: String?
        var said = false
        while disk == nil {
            let names = Inventory.gather(from: context.fs).disks.map(\.name)
            disk = names.first { BootMediumProbe.volumeID(device: "/dev/" + $0) == medium }
            if disk != nil { break }
            guard context.clock.milliseconds() &- start < waitMilliseconds else {
                throw AgentError("offline: no disk holds the medium \(medium) (disks: \(names.isEmpty ? "none" : names.joined(separator: ", ")))",
                                 hint: "the profile needs the stick's drivers (USB: xhci_pci, usb_storage, sd_mod in drivers.modules)")
            }
            if !said { context.log.info("offline: waiting for the medium \(medium) to appear"); said = true }
            context.clock.sleep(milliseconds: 1000)
            // usb-storage scans the stick a second after it binds, often after coldplug went quiet: its
            // SCSI disk then waits for sd_mod. Coldplug again loads what the new devices ask for.
            let first = context.coldplug
            do { try Coldplug(passLimit: 4).run(context) } catch { context.log.warning("offline: coldplug again: \(error)") }
            context.coldplug = first
        }
        guard let disk else { return }
        let device = CustomizationPlan.partitionDevice(disk: "/dev/" + disk, number: OfflineSteps.partitionNumber)
        while access(device, F_OK) != 0 {
            guard context.clock.milliseconds() &- start < waitMilliseconds else {
                throw AgentError("offline: the medium \(disk) has no partition \(OfflineSteps.partitionNumber) (\(device))",
                                 hint: "this medium has no data partition: make it with imprint usb MAC --offline")
            }
            context.clock.sleep(milliseconds: 100)
        }
        if let problem = Coldplug.loadFilesystem("vfat", context: context) { context.log.warning("offline: vfat modules: \(problem)") }
        do {
            try context.machine.makeDirectory(OfflineSteps.mountPoint)
            try context.machine.mount(MountSpec(source: device, target: OfflineSteps.mountPoint, type: "vfat", flags: UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC)))
        } catch {
            throw AgentError("offline: cannot mount \(device) (vfat) on \(OfflineSteps.mountPoint): \(error.reason)",
                             hint: "the profile needs vfat, nls_cp437 and nls_ascii in drivers.modules")
        }
        guard context.fs.exists(OfflineSteps.mountPoint + "/devices") else {
            throw AgentError("offline: \(device) holds no devices/ folder: not an imprint offline stick's data partition",
                             hint: "make the stick again with imprint usb MAC --offline")
        }
        context.serverOverride = "file://" + OfflineSteps.mountPoint
        context.http = FileStoreClient(fallback: context.http)
        context.log.info("offline: deploying from \(device) (medium \(medium) on \(disk)), mounted on \(OfflineSteps.mountPoint); no network")
    }
}

/// Syncs and unmounts the data partition, so the reports are on the stick before the machine restarts.
struct CloseOfflineStore: BootStep {
    var description: String { "close the offline stick's data partition" }

    func run(_ context: AgentContext) throws(AgentError) {
        guard context.commandLine.offline, context.commandLine.mode != .probe, context.machine.isMountPoint(OfflineSteps.mountPoint) else { return }
        context.machine.sync()
        if umount2(OfflineSteps.mountPoint, 0) != 0 {
            context.log.warning("offline: unmount \(OfflineSteps.mountPoint): \(errorText(errno)); synced, so the reports are on the stick")
        } else {
            context.log.info("offline: reports written to the stick, \(OfflineSteps.mountPoint) unmounted")
        }
    }
}
