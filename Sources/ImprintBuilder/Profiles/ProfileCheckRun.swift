import Foundation
import ImprintCore

/// A failure of `imprint profile check` or `from-inventory` the user can act on: what went wrong,
/// then what to do.
public struct ProfileError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// `imprint profile check`: a built profile's `build.json`, the module tree of its kernel (from the
/// builder's cache, as `imprint build` found it) and a machine's listing, made into verdicts.
public struct ProfileCheckRun {
    /// The profile's `build.json`.
    public var report: BuildReport
    /// The machine's controllers, one verdict each.
    public var verdicts: [DriverVerdict]
    /// What to change in the recipe when a controller is not driven.
    public var hint: String?

    public var allDriven: Bool { verdicts.allSatisfy(\.isDriven) }

    /// Reads `store/boot/<profile>/build.json` and the listing in `inventory`, finds the profile's
    /// kernel and its module index in `cache` (fetching the kernel package again if the cache lost
    /// it) and checks each controller. `pciIDs` is the pci.ids text, for names.
    public static func run(store: String, profile: String, inventory: String, pciIDs: String?, cache: Cache = Cache(),
                           log: @escaping (String) -> Void) throws(ProfileError) -> ProfileCheckRun {
        let listing = try readListing(inventory)
        let report = try loadReport(store: store, profile: profile)
        let graph: ModuleGraph
        do {
            let tree = try kernelTree(for: report, cache: cache, log: log)
            let lock = try cache.lock("modindex/scan")
            defer { lock.unlock() }
            graph = try ModuleTree(dir: tree.modulesDir, cacheFile: cache.moduleIndexFile(for: tree.modulesDir)).graph
        } catch let error as ProfileError {
            throw error
        } catch {
            throw ProfileError("cannot read the modules of kernel \(report.kernel.release) (\(report.kernel.source)): \(error)")
        }
        let database = pciIDs.map { PCIDatabase(text: $0) } ?? PCIDatabase()
        let verdicts = DriverCheck.verdicts(for: listing.controllers, graph: graph, included: report.modules.map(\.name),
                                            database: database)
        return ProfileCheckRun(report: report, verdicts: verdicts, hint: DriverCheck.hint(for: verdicts, recipe: report.recipe))
    }

    /// An inventory.json or lspci -nn output, or an error naming the file and the line.
    public static func readListing(_ path: String) throws(ProfileError) -> HardwareListing {
        guard let bytes = FileIO.read(path) else {
            throw ProfileError("cannot read \(path): \(FileIO.isDirectory(path) ? "a folder, not a file" : FileIO.errnoText())")
        }
        do {
            return try HardwareListing.parse(String(decoding: bytes, as: UTF8.self))
        } catch {
            throw ProfileError("\(path): \(error)")
        }
    }

    /// `boot/<profile>/build.json`, checked as `imprint device add` checks a profile.
    static func loadReport(store: String, profile: String) throws(ProfileError) -> BuildReport {
        let opened: Store
        do {
            opened = try Store.open(store, create: false)
            _ = try opened.loadProfile(profile)
        } catch {
            throw ProfileError("\(error)")
        }
        let path = opened.buildReport(profile)
        do {
            return try JSONDecoder().decode(BuildReport.self, from: Data(FileIO.read(path) ?? []))
        } catch {
            throw ProfileError("\(path) cannot be read (\(error)): rebuild the profile: imprint build recipes/\(profile).yaml --store \(store)")
        }
    }

    /// The kernel tree a build used, from `build.json`'s kernel source: a Debian package is found
    /// unpacked in the cache, where `imprint build` left it, else fetched again (the same version);
    /// a local kernel is read where it was.
    static func kernelTree(for report: BuildReport, cache: Cache, log: @escaping (String) -> Void) throws -> KernelTree {
        let source = report.kernel.source
        if source.hasPrefix("debian:") {
            let spec = source.dropFirst("debian:".count)
            guard let equals = spec.firstIndex(of: "=") else {
                throw ProfileError("build.json's kernel source '\(source)' is not debian:PACKAGE=VERSION: rebuild the profile")
            }
            let resolved = DebianKernel.Resolved(package: String(spec[..<equals]), version: String(spec[spec.index(after: equals)...]))
            let tree = cache.path("kernels/\(resolved.package)_\(resolved.version)")
            if FileManager.default.fileExists(atPath: tree + "/.complete") {
                return try KernelTree.unpacked(root: tree, source: source)
            }
            let kernel = DebianKernel(package: resolved.package, cache: cache, log: log)
            let lock = try cache.lock("kernels/\(resolved.package)_\(resolved.version)")
            defer { lock.unlock() }
            if !FileManager.default.fileExists(atPath: tree + "/.complete") {
                log("kernel \(resolved.package) \(resolved.version) is not in the cache (\(cache.root)): fetching it")
                let deb = try kernel.download(resolved)
                try kernel.unpack(deb: deb, into: tree)
            }
            return try KernelTree.unpacked(root: tree, source: source)
        }
        if source.hasPrefix("path:") {
            let path = String(source.dropFirst("path:".count))
            // kernel.modules: is in the recipe, not in build.json.
            var modules: String?
            if case let .path(_, recipeModules)? = try? Recipe.load(path: report.recipe).kernel { modules = recipeModules }
            if modules == nil, !FileIO.isDirectory(path), !(path as NSString).lastPathComponent.hasPrefix("vmlinuz-") {
                modules = "/lib/modules/\(report.kernel.release)"
            }
            return try KernelTree.local(path: path, modules: modules)
        }
        throw ProfileError("build.json's kernel source '\(source)' is not one this imprint reads: rebuild the profile")
    }
}
