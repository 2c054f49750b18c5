import Glibc
import ImprintCore

/// After a deploy that is done: what the assignment says (`imprint.after=` overrides):
/// `reboot` into the deployed disk, `poweroff` (the next step), or `kexec` straight into the
/// deployed root's `/boot/vmlinuz` (docs/deploy.md), rebooting instead when that cannot be
/// done. Without a finished deploy it does nothing and the machine powers off.
public struct AfterDeploy: BootStep {
    /// Where the deployed root is mounted, read-only, to find its kernel.
    var mountPoint = "/run/imprint/kexec"

    public init() {}

    public var description: String { "reboot into the deployed system" }

    public func run(_ context: AgentContext) throws(AgentError) {
        guard let assigned = context.deployedAfter else { return }
        // A capture always powers off: rebooting would PXE-boot into the same capture (docs/capture.md).
        if context.outcome == "captured" {
            context.outcome = "capture done"
            return
        }
        var after = assigned
        if let override = context.commandLine.after {
            switch override {
            case .reboot: after = .reboot
            case .poweroff: after = .poweroff
            case .kexec: after = .kexec
            }
            context.log.info("after: imprint.after=\(after.rawValue) overrides the assignment's \(assigned.rawValue)")
        }
        switch after {
        case .poweroff:
            context.outcome = "deploy done"
            return
        case .kexec:
            let problem = kexec(context)
            context.log.warning("after: kexec not possible (\(problem)); rebooting instead")
        case .reboot:
            break
        }
        context.log.info("deploy done, rebooting into the deployed system")
        context.machine.sync()
        let failure = context.machine.restart()
        context.log.error("restart failed (\(failure.reason)); powering off instead")
        context.outcome = "deploy done"
    }

    /// Boots the deployed kernel; returns only with the reason it could not.
    private func kexec(_ context: AgentContext) -> String {
        guard let root = context.deployedRoot else { return "the deployed disk has no root partition to find a kernel on" }
        if let problem = Coldplug.loadFilesystem("ext4", context: context) { return problem }
        do {
            try context.machine.makeDirectory(mountPoint)
            try context.machine.mount(MountSpec(source: root.device, target: mountPoint, type: "ext4", flags: UInt(MS_RDONLY)))
        } catch {
            return "cannot mount \(root.device) read-only: \(error.reason)"
        }
        func readLink(_ path: String) -> String? {
            var buffer = [CChar](repeating: 0, count: 4096)
            let count = readlink(mountPoint + path, &buffer, buffer.count - 1)
            guard count > 0 else { return nil }
            return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        guard let kernel = KexecPlan.resolve(KexecPlan.kernelPath, readLink: readLink), access(mountPoint + kernel, R_OK) == 0 else {
            return "no \(KexecPlan.kernelPath) on \(root.device)"
        }
        let initrd = KexecPlan.resolve(KexecPlan.initrdPath, readLink: readLink).flatMap { access(mountPoint + $0, R_OK) == 0 ? $0 : nil }
        let agentCommandLine = (try? context.fs.readFile("/proc/cmdline")) ?? ""
        let commandLine = KexecPlan.commandLine(agentCommandLine: agentCommandLine, rootPartition: root.partition.unique)
        context.log.info("after: kexec \(root.device)\(kernel)\(initrd.map { " initrd \($0)" } ?? "") with \"\(commandLine)\"")
        context.machine.sync()
        let failure = context.machine.kexec(kernel: mountPoint + kernel, initrd: initrd.map { mountPoint + $0 }, commandLine: commandLine)
        return failure.description
    }
}
