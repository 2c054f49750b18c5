/// The words for a server that could not start listening, shared by the HTTP and TFTP servers.
enum ListenFailure {
    /// - Parameters: `service` ("HTTP"), `flag` ("--http 0.0.0.0:8080"), `rivals` (who else may hold the port).
    static func addressInUse(_ service: String, _ address: String, rivals: String) -> String {
        "cannot listen for \(service) on \(address): the address is in use (\(rivals))"
    }
    static func permissionDenied(_ service: String, _ address: String, flag: String) -> String {
        "cannot listen for \(service) on \(address): permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE; or use \(flag))"
    }
    static func other(_ service: String, _ address: String, _ reason: String) -> String {
        "cannot listen for \(service) on \(address): \(reason)"
    }
}
