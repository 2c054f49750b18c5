import Glibc
import ImprintCore
@testable import ImprintAgent

/// A tiny HTTP server in python3 on 127.0.0.1 (port 0) that accepts PUTs,
/// records each request (method, path, headers, body) and answers `status`.
/// It answers `Expect: 100-continue` with nothing, as Hummingbird does not.
final class PutServer {
    struct Request: Equatable {
        var method: String
        var path: String
        var headers: [String: String]
        var body: String
    }

    let directory = FakeRoot()
    private(set) var port: Int = 0
    private var pid: pid_t = 0

    static let script = #"""
    import sys, socket, json
    status = int(sys.argv[2])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    log = open(sys.argv[1] + "/requests.jsonl", "a")
    with open(sys.argv[1] + "/port.tmp", "w") as f:
        f.write(str(listener.getsockname()[1]))
    import os
    os.rename(sys.argv[1] + "/port.tmp", sys.argv[1] + "/port")
    while True:
        conn, _ = listener.accept()
        conn.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk: break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path = lines[0].split(" ")[0:2]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk: break
            body += chunk
        log.write(json.dumps({"method": method, "path": path, "headers": headers, "body": body.decode("utf-8", "replace")}) + "\n")
        log.flush()
        conn.sendall(b"HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok" % status)
        conn.close()
    """#

    /// Starts the server; `port` is 0 if it did not come up within 10 s.
    init(status: Int = 200) {
        directory.write("server.py", Self.script)
        let arguments = ["python3", directory.path + "/server.py", directory.path, "\(status)"]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        if posix_spawnp(&child, "python3", nil, nil, &argv, environ) == 0 { pid = child }
        for _ in 0..<200 {
            if let text = directory.fs.readValue("/port"), let value = Int(text) {
                port = value
                break
            }
            usleep(50_000)
        }
    }

    deinit {
        if pid > 0 {
            kill(pid, SIGKILL)  // SIGTERM may be blocked in the mask posix_spawn passes on
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// The requests received so far, in order.
    func requests() -> [Request] {
        guard let text = try? directory.fs.readFile("/requests.jsonl") else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let json = try? JSONValue.parse(String(line)), let method = json["method"]?.stringValue,
                  let path = json["path"]?.stringValue, let body = json["body"]?.stringValue,
                  let headerObject = json["headers"]?.objectValue else { return nil }
            var headers: [String: String] = [:]
            for (name, value) in headerObject { headers[name] = value.stringValue ?? "" }
            return Request(method: method, path: path, headers: headers, body: body)
        }
    }
}
