import Glibc

/// Mounts one file system; an already mounted one is fine.
public struct Mount: BootStep {
    public var spec: MountSpec
    /// A required mount's failure is fatal; another's is a warning.
    public var required: Bool

    public init(_ spec: MountSpec, required: Bool) {
        self.spec = spec
        self.required = required
    }

    public var description: String { "mount \(spec)" }

    public func run(_ context: AgentContext) throws(AgentError) {
        let machine = context.machine
        do {
            try machine.makeDirectory(spec.target)
            if machine.isMountPoint(spec.target) {
                context.log.info("\(spec) already mounted")
                return
            }
            try machine.mount(spec)
            context.log.info("mounted \(spec)")
        } catch where error.code == EBUSY {
            context.log.info("\(spec) already mounted")
        } catch {
            guard required else {
                context.log.warning("\(error); going on without it")
                return
            }
            throw AgentError("\(error)", hint: "the kernel needs \(spec.type) support (CONFIG_PROC_FS, CONFIG_SYSFS, CONFIG_DEVTMPFS)")
        }
    }
}
