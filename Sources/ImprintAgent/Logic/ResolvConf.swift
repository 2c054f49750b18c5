import ImprintCore

/// `/etc/resolv.conf` for a DHCP lease: a `search` line for option 15, a `nameserver` line for each
/// of option 6 (glibc reads the first three). Nil when the lease names no server and no domain.
public func resolvConf(for lease: DHCPLease) -> String? {
    guard !lease.dnsServers.isEmpty || lease.domain != nil else { return nil }
    var text = "# written by imprint-agent from the DHCP lease of \(DHCPLease.dotted(lease.serverIdentifier))\n"
    if let domain = lease.domain { text += "search \(domain)\n" }
    for server in lease.dnsServers { text += "nameserver \(DHCPLease.dotted(server))\n" }
    return text
}
