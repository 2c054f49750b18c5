/// Sends the log to every console in `/proc/consoles`. The kernel gave PID 1
/// only `/dev/console`, the last `console=`; a screen and a serial line should
/// both show the agent. Consoles other than that one get the lines written so far.
public struct OpenConsoles: BootStep {
    public init() {}

    public var description: String { "open the consoles" }

    public func run(_ context: AgentContext) throws(AgentError) {
        let consoles: [ConsoleEntry]
        do {
            consoles = parseConsoles(try context.fs.readFile("/proc/consoles"))
        } catch {
            context.log.warning("\(error); logging to /dev/console only")
            return
        }
        var opened: [any LogSink] = []
        var missed: [any LogSink] = []
        var names: [String] = []
        var preferredOpened = false
        for console in consoles {
            do {
                let sink = try context.machine.openConsole(console)
                opened.append(sink)
                names.append(console.name)
                if console.isPreferred { preferredOpened = true } else { missed.append(sink) }
            } catch {
                context.log.warning("\(error)")
            }
        }
        guard !opened.isEmpty else {
            context.log.warning("no console in /proc/consoles could be opened; logging to /dev/console only")
            return
        }
        // Keep writing where we did if /dev/console's own device did not open.
        let sinks = preferredOpened ? opened : context.log.sinks + opened
        context.log.replaceSinks(sinks, replayingTo: missed)
        context.consolesOpened = true
        context.log.info("consoles \(names.joined(separator: " "))")
    }
}
