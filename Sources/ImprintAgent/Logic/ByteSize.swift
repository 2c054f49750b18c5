/// A byte count for people, with binary units and one decimal:
/// `512 B`, `1.5 KiB`, `64.0 MiB`. Integer arithmetic only (no `String(format:)`),
/// rounding half up.
public func humanSize(_ bytes: UInt64) -> String {
    let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    if bytes < 1024 { return "\(bytes) B" }
    var index = 0
    var unit: UInt64 = 1024
    while index + 1 < units.count && bytes / unit >= 1024 {
        unit <<= 10
        index += 1
    }
    var (whole, tenths) = tenthsOf(bytes, unit: unit)
    // 1048575 bytes round to 1024.0 KiB: say 1.0 MiB instead.
    if whole >= 1024 && index + 1 < units.count {
        unit <<= 10
        index += 1
        (whole, tenths) = tenthsOf(bytes, unit: unit)
    }
    return "\(whole).\(tenths) \(units[index])"
}

/// `bytes / unit` to one decimal, rounded half up, without overflow
/// (`unit` is at most 2^60, so `remainder * 10` fits).
private func tenthsOf(_ bytes: UInt64, unit: UInt64) -> (whole: UInt64, tenths: UInt64) {
    var whole = bytes / unit
    var tenths = ((bytes % unit) * 10 + unit / 2) / unit
    if tenths == 10 {
        whole += 1
        tenths = 0
    }
    return (whole, tenths)
}
