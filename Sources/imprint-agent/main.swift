// imprint-agent: PID 1 of an imprint initrd, or a host tool (see HostCommand).
import Glibc
import ImprintAgent

exit(AgentMain.main(CommandLine.arguments))
