import CLinux
import Glibc

/// Configures network interfaces; the kernel's ioctls on a machine, a recorder in tests.
public protocol NetworkConfigurator {
    /// Sets `IFF_UP` on the interface.
    func bringUp(_ interface: String) throws(SystemError)
    /// Gives the interface an IPv4 address and netmask.
    func setAddress(_ interface: String, address: IPv4Address, netmask: IPv4Address) throws(SystemError)
    /// Adds a default route via `gateway` out of `interface`.
    func addDefaultRoute(_ interface: String, gateway: IPv4Address) throws(SystemError)
}

/// `SIOCSIFFLAGS`, `SIOCSIFADDR`, `SIOCSIFNETMASK` and `SIOCADDRT` on an AF_INET socket.
public struct LinuxNetwork: NetworkConfigurator {
    public init() {}

    private func withSocket(_ operation: String, _ body: (Int32) -> Int32) throws(SystemError) {
        let fd = try Syscall.retrying("open a socket to \(operation)") { socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        defer { close(fd) }
        _ = try Syscall.retrying(operation) { body(fd) }
    }

    public func bringUp(_ interface: String) throws(SystemError) {
        try withSocket("bring \(interface) up") { imprint_if_up($0, interface) }
    }

    public func setAddress(_ interface: String, address: IPv4Address, netmask: IPv4Address) throws(SystemError) {
        try withSocket("set \(interface) address \(address)") { imprint_if_set_address($0, interface, address.value) }
        try withSocket("set \(interface) netmask \(netmask)") { imprint_if_set_netmask($0, interface, netmask.value) }
    }

    public func addDefaultRoute(_ interface: String, gateway: IPv4Address) throws(SystemError) {
        do {
            try withSocket("add default route via \(gateway)") { imprint_add_default_route($0, interface, gateway.value) }
        } catch {
            // A route left by an earlier try is the route wanted.
            if error.code != EEXIST { throw error }
        }
    }
}
