import Glibc
import ImprintCore

/// One try at the deploy, phase by phase; every failure is a ``DeployFailure``.
struct DeploySession {
    let context: AgentContext
    let reporter: DeployReporter
    let mac: MACAddress
    let servers: [String]
    let token: String?
    /// The Ed25519 key every manifest must be signed with (``ManifestKeySource``).
    let manifestKey: [UInt8]
    let hostMode: Bool

    /// Seconds between polls while the store has no assignment for this machine.
    var pollSeconds: UInt64 = 15

    private var log: Log { context.log }
    private var headers: [String] { token.map { ["Authorization: Bearer \($0)"] } ?? [] }

    /// assignment -> descriptor -> preflight -> stream (+verify) -> customize -> done.
    func deploy() throws(DeployFailure) -> DeviceAssignment {
        reporter.enter(.assignment)
        let (assignment, server) = try fetchAssignment()
        if assignment.mode == .capture { return try capture(assignment, from: server) }
        let image = try fetchDescriptor(assignment)
        log.info("assignment: image \(image.name) (\(image.format.rawValue), \(image.compression.rawValue), \(humanSize(image.size)) -> \(humanSize(image.uncompressedSize))), hostname \(assignment.hostname ?? "-"), after \(assignment.after.rawValue)")

        let disk = try preflight(assignment, image)
        reporter.enter(.streaming, closing: "assignment")
        let download = BlobDownload(urls: servers.map { "\($0)/blobs/sha256/\(image.blob)" }, headers: headers, expectedSize: image.size,
                                    policy: context.streamRetry, clock: context.clock, log: log)
        download.onSlowRetry = { reporter.retrying($0) }
        let stream = try ImageStream(download: download, compression: image.compression, disk: disk, imageSize: image.uncompressedSize,
                                     expectedSha256: assignment.imageSha256)
        let total = image.uncompressedSize
        var nextLog = total / 10
        stream.progress = { done, _ in
            reporter.progress(written: done, total: total)
            if done >= nextLog && total > 0 {
                log.info("stream: \(done * 100 / total)% (\(humanSize(done)) of \(humanSize(total)))")
                nextLog += total / 10
            }
        }
        if image.format == .tar {
            try deployTree(assignment, image, stream: stream, disk: disk)
            return assignment
        }
        let result = try stream.run()
        reporter.progress(written: result.imageBytes, total: total, force: true)
        log.info("stream: \(humanSize(result.imageBytes)) image, \(humanSize(result.dataBytesWritten)) written (zero blocks skipped), blob sha256 \(result.blobSha256) verified")

        reporter.enter(.verifying, closing: "stream")
        try growPartitionTable(on: disk, imageSize: image.uncompressedSize)
        if let warning = try disk.flush() { log.warning(warning) }
        log.info("verify: the blob's digest matched; \(disk.path) synced")

        reporter.enter(.customizing, closing: "verify")
        context.deployedRoot = try Customizer(context: context, hostMode: hostMode).customize(assignment, disk: disk)
        if reporter.done(closing: "customize") {
            log.info("deploy done: \(image.name) on \(disk.path)")
        } else {
            log.warning("deploy done: \(image.name) on \(disk.path), but the done report could not be sent")
        }
        return assignment
    }

    /// A `tar` image: the layout's GPT and file systems, the tree extracted as it streams in, the
    /// customization written into the root's tree (docs/deploy.md "Tar images").
    private func deployTree(_ assignment: DeviceAssignment, _ image: ImageDescriptor, stream: ImageStream, disk: any DiskDevice) throws(DeployFailure) {
        let layout = assignment.layout ?? .standard
        let tree = TreeDeploy(context: context, disk: disk, layout: layout, hostMode: hostMode, seed: "\(mac.hyphenated) \(image.blob)")
        defer { tree.release() }
        try tree.prepare()
        let result = try stream.extractTree(layout: layout, base: tree.base, log: log)
        reporter.progress(written: result.tarBytes, total: image.uncompressedSize, force: true)
        log.info("stream: \(result.entries) tar members, \(humanSize(result.fileBytes)) of file data\(result.warnings > 0 ? ", \(result.warnings) warning(s)" : ""); blob sha256 \(result.blobSha256) verified")

        reporter.enter(.verifying, closing: "stream")
        log.info("verify: the blob's digest matched")

        reporter.enter(.customizing, closing: "verify")
        let root = try tree.rootDirectory()
        let plan = CustomizationPlan.make(assignment)
        guard let rootPartition = tree.rootPartition else { throw DeployFailure(.customize, "the layout has no root partition", hint: "fix the layout", retryable: false) }
        if plan.isEmpty {
            log.info("customize: nothing to write (no hostname, files or cloud-init seed in the assignment)")
        } else {
            try Customizer(context: context, hostMode: hostMode).write(plan, into: root, device: rootPartition.device, partition: rootPartition.partition)
        }
        try tree.finish()
        if let warning = try disk.flush(), !disk.isBlockDevice { log.warning(warning) }
        context.deployedRoot = rootPartition
        if reporter.done(closing: "customize") {
            log.info("deploy done: \(image.name) (tree) on \(disk.path)")
        } else {
            log.warning("deploy done: \(image.name) on \(disk.path), but the done report could not be sent")
        }
    }

    /// An image smaller than the disk leaves its backup GPT mid-disk: move it to the end (`sgdisk -e`).
    private func growPartitionTable(on disk: any DiskDevice, imageSize: Int) throws(DeployFailure) {
        guard disk.size > imageSize, let writes = GPT.growToDisk(read: disk.readExactly, diskSize: disk.size - disk.size % 512) else { return }
        for write in writes {
            var failure: DeployFailure?
            write.bytes.withUnsafeBytes { bytes in
                do throws(DeployFailure) { try disk.write(bytes, at: write.offset) } catch { failure = error }
            }
            if let failure { throw failure }
        }
        log.info("verify: the image's GPT now spans \(disk.path) (backup table moved to the disk's end)")
    }

    /// Whether the store holds this machine's assignment but asks for a token it has none of (401):
    /// a discovered machine that was added after it booted.
    func assignmentNeedsToken() throws(DeployFailure) -> Bool {
        let (status, _, _) = try fetch("devices/\(mac.hyphenated)/assignment.json", what: "assignment", phase: .assignment)
        return status == 401
    }

    /// `devices/<mac>/assignment.json`; while the store has none (404), polls: forever on a
    /// machine (discovery), once in host mode.
    private func fetchAssignment() throws(DeployFailure) -> (DeviceAssignment, server: String) {
        var polls = 0
        while true {
            let (status, body, server) = try fetch("devices/\(mac.hyphenated)/assignment.json", what: "assignment", phase: .assignment)
            if status == 401 {
                throw DeployFailure(.assignment, "the store asks for this device's token, and the claim gave none", hint: "imprint device rearm \(mac.colon)", retryable: true)
            }
            if status == 404 {
                guard !hostMode else {
                    throw DeployFailure(.assignment, "the store has no assignment for \(mac.colon)", hint: "imprint device add \(mac.colon) --profile P --image NAME", retryable: false)
                }
                polls += 1
                log.info("no assignment for \(mac.colon) yet (poll \(polls)); asking again in \(pollSeconds) s — add one with imprint device add")
                context.clock.sleep(milliseconds: pollSeconds * 1000)
                continue
            }
            try verifySignature(body, path: "devices/\(mac.hyphenated)/assignment.json")
            let assignment: DeviceAssignment
            do {
                assignment = try DeviceAssignment.parse(String(decoding: body, as: UTF8.self))
            } catch {
                throw DeployFailure(.assignment, "the assignment was refused: \(error)", hint: "re-create it with this imprint's `imprint device add --force`", retryable: false)
            }
            let clock = context.wallClock()
            let serverDate = TLSTrust.serverDate
            if let serverDate {
                log.info("time: this machine's clock \(UTCTime.format(epochSeconds: clock)), the pinned server's Date \(UTCTime.format(epochSeconds: serverDate)); expiry checks take the later")
            }
            if let problem = ManifestTrust.bindingProblem(assignment, mac: mac, dmi: DMIInfo.gather(from: context.fs), now: clock, serverDate: serverDate) {
                throw DeployFailure(.assignment, "the assignment was refused: \(problem)", hint: "re-create the device's assignment (imprint device add --force)", retryable: false)
            }
            if assignment.mode == .capture && hostMode {
                throw DeployFailure(.assignment, "the assignment's mode is capture: this host-mode run deploys", hint: "run imprint-agent --capture --disk FILE --identity FILE.json", retryable: false)
            }
            return (assignment, server)
        }
    }

    /// A capture assignment (docs/capture.md): the disk it names (never the boot medium) read
    /// whole and uploaded by ``CaptureRun``, which reports its own phases. The machine then powers
    /// off whatever the assignment's `after` says: a reboot would PXE-boot into the same capture.
    private func capture(_ assignment: DeviceAssignment, from server: String) throws(DeployFailure) -> DeviceAssignment {
        let disks = Inventory.gather(from: context.fs).disks
        let path: String
        switch DiskChoice.choose(assignment.disk, disks: disks, excluded: BootMediumProbe.excluded(context), imageBytes: 0) {
        case .success(let disk): path = "/dev/" + disk.name
        case .failure(let failure): throw failure
        }
        let run = CaptureRun(disk: path, mac: mac, servers: servers, token: token, http: context.http, clock: context.clock, log: log)
        if let failure = run.run(assignment: assignment, server: server) {
            throw DeployFailure(.capture, failure.reason, hint: failure.hint ?? "see the log above", retryable: failure.retryable)
        }
        log.info("capture \(assignment.imageName) done: powering off (a reboot would PXE-boot into the capture again; assign the next deploy with imprint device add --force)")
        var done = assignment
        done.after = .poweroff
        return done
    }

    private func fetchDescriptor(_ assignment: DeviceAssignment) throws(DeployFailure) -> ImageDescriptor {
        let (status, body, _) = try fetch("images/\(assignment.imageName).json", what: "image descriptor", phase: .assignment)
        if status == 404 {
            throw DeployFailure(.assignment, "the assignment names image \(assignment.imageName), which the store does not have",
                                hint: "imprint image add FILE --name \(assignment.imageName), or assign another image", retryable: false)
        }
        try verifySignature(body, path: "images/\(assignment.imageName).json")
        let image: ImageDescriptor
        do {
            image = try ImageDescriptor.parse(String(decoding: body, as: UTF8.self))
        } catch {
            throw DeployFailure(.assignment, "image \(assignment.imageName)'s descriptor was refused: \(error)", hint: "re-add the image with this imprint", retryable: false)
        }
        guard image.blob == assignment.imageSha256 else {
            throw DeployFailure(.assignment, "the assignment expects image \(assignment.imageName) with blob \(assignment.imageSha256), the store's descriptor names \(image.blob)",
                                hint: "the image was replaced after the device was added: imprint device add --force", retryable: false)
        }
        return image
    }

    /// The disk: resolved and checked before a single byte is written.
    private func preflight(_ assignment: DeviceAssignment, _ image: ImageDescriptor) throws(DeployFailure) -> any DiskDevice {
        let path: String
        if hostMode {
            guard let file = context.hostDisk else { throw DeployFailure(.preflight, "no --disk FILE", hint: "give imprint-agent --disk FILE", retryable: false) }
            path = file
        } else {
            let disks = Inventory.gather(from: context.fs).disks
            let needed = image.format == .tar ? (assignment.layout ?? .standard).minimumDiskBytes : image.uncompressedSize
            switch DiskChoice.choose(assignment.disk, disks: disks, excluded: BootMediumProbe.excluded(context), imageBytes: needed) {
            case .success(let disk): path = "/dev/" + disk.name
            case .failure(let failure): throw failure
            }
        }
        let disk = try OpenedDisk(path: path)
        if image.format == .tar {
            let layout = assignment.layout ?? .standard
            if let problem = DiskChoice.checkTree(image: image, layout: layout, diskBytes: disk.size, diskName: path) { throw problem }
            if let missing = TreeDeploy.missingTools(layout, hostMode: hostMode) {
                throw DeployFailure(.preflight, "a tar image needs \(missing), which this \(hostMode ? "host" : "agent image") lacks",
                                    hint: hostMode ? "install e2fsprogs, dosfstools and mtools (scripts/bootstrap does)" : "rebuild the profile with this imprint (imprint build)", retryable: false)
            }
            log.info("preflight: \(path) holds \(humanSize(disk.size)); the tree is \(humanSize(image.uncompressedSize)), onto \(layout.partitions.map { "\($0.name) \($0.sizeMiB.map { "\($0) MiB" } ?? "rest") \($0.filesystem.rawValue)\($0.mount.map { " " + $0 } ?? "")" }.joined(separator: ", "))")
            return disk
        }
        if let problem = DiskChoice.check(image: image, diskBytes: disk.size, diskName: path) { throw problem }
        log.info("preflight: \(path) holds \(humanSize(disk.size)); the image needs \(humanSize(image.uncompressedSize)), \(humanSize(image.blockMap?.dataBytes ?? image.uncompressedSize)) of it data")
        return disk
    }

    /// Fetches `path.sig` and checks it is the manifest key's signature of `manifest`'s exact bytes.
    private func verifySignature(_ manifest: [UInt8], path: String) throws(DeployFailure) {
        let started = monotonicMicroseconds()
        let (status, signature, _) = try fetch(path + ".sig", what: "signature", phase: .assignment)
        guard status == 200 else {
            throw DeployFailure(.assignment, "the store has no \(path).sig: \(path) is not signed, so it is refused",
                                hint: "sign the store's manifests with this imprint (imprint key rotate), or re-add the device or image", retryable: false)
        }
        if let problem = ManifestTrust.problem(manifest, signatureFile: signature, key: manifestKey, name: path) {
            throw DeployFailure(.assignment, "refused: \(problem)", hint: "check who can write the store and any mirror or cache in between; imprint key rotate re-signs the store", retryable: false)
        }
        let micros = monotonicMicroseconds() - started
        log.info("verify: \(path) carries the manifest key's signature (fetched and checked in \(micros / 1000).\(micros % 1000 / 100) ms)")
    }

    /// GETs a manifest from the servers in order, with the report retry policy; the status and
    /// body of the first server that answered 200 or 404.
    private func fetch(_ path: String, what: String, phase: DeployFailure.Phase) throws(DeployFailure) -> (Int, [UInt8], server: String) {
        let policy = context.retry
        var last = HTTPOutcome(status: 0, transportError: "not tried")
        for attempt in 1...max(1, policy.attempts) {
            for server in servers {
                let url = "\(server)/\(path)"
                let (outcome, body) = context.http.get(url: url, headers: headers, connectTimeoutSeconds: policy.connectTimeoutSeconds,
                                                       totalTimeoutSeconds: policy.totalTimeoutSeconds, maximumBytes: 16 << 20)
                if outcome.transportError == nil && (outcome.status == 200 || outcome.status == 404 || (outcome.status == 401 && token == nil)) {
                    log.info("GET \(url): \(outcome.description)")
                    return (outcome.status, body, server)
                }
                last = outcome
                log.warning("GET \(url) failed (try \(attempt) of \(policy.attempts)): \(outcome.description)")
            }
            if attempt < policy.attempts { context.clock.sleep(milliseconds: UInt64(policy.backoff(afterAttempt: attempt)) * 1000) }
        }
        throw DeployFailure(phase, "could not GET the \(what) (last: \(last.description))",
                            hint: "check that the server (\(servers.joined(separator: ", "))) runs and is reachable")
    }
}

/// CLOCK_MONOTONIC in microseconds: the signature check's cost, for the log and `make bench`.
func monotonicMicroseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec * 1_000_000 + now.tv_nsec / 1000
}
