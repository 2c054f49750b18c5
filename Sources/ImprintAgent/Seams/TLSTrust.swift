import CCurl
import Synchronization

/// The CA an identity pins (`ca`, PEM), which every libcurl handle of the agent then trusts alone for
/// `https://` servers (DESIGN section 8): set once, when the identity is read, before any transfer.
/// With none pinned, libcurl keeps its defaults (in an initrd there is no CA store, so an `https://`
/// server then fails verification, which is what an unpinned identity should get).
public enum TLSTrust {
    private static let pinned = Mutex<[UInt8]?>(nil)
    private static let latestServerDate = Mutex<Int?>(nil)

    /// The latest `Date` a server verified against the pinned CA has sent (seconds since 1970).
    public static var serverDate: Int? { latestServerDate.withLock { $0 } }

    /// Keeps `date` when later than the one kept.
    static func noteServerDate(_ date: Int) {
        latestServerDate.withLock { $0 = max($0 ?? date, date) }
    }

    /// Pins `pem` for every later transfer; nil unpins.
    public static func pin(_ pem: String?) {
        let bytes = pem.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        pinned.withLock { $0 = bytes }
        latestServerDate.withLock { $0 = nil }
    }

    public static var isPinned: Bool { pinned.withLock { $0 != nil } }

    /// Sets the pinned CA on a libcurl handle; CURLE_OK and nothing set when none is pinned.
    static func apply(to handle: UnsafeMutableRawPointer) -> CURLcode {
        guard let pem = pinned.withLock({ $0 }) else { return CURLE_OK }
        return pem.withUnsafeBytes { imprint_curl_pin_ca(handle, $0.baseAddress, $0.count) }
    }
}
