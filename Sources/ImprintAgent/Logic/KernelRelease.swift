/// Which kernel's modules to use, from the best evidence present: the running
/// kernel's own `/proc/sys/kernel/osrelease`, then the release the initrd was
/// built for (`profile.json`), then the only directory under `/lib/modules`,
/// then `uname`. On a booted machine the first is always there; the others let
/// host mode run against a fake root that has no `/proc`.
public func resolveKernelRelease(osrelease: String?, profileKernel: String?, moduleDirectories: [String], uname: String?) -> String? {
    if let osrelease, !osrelease.isEmpty { return osrelease }
    if let profileKernel, !profileKernel.isEmpty { return profileKernel }
    if moduleDirectories.count == 1, let only = moduleDirectories.first { return only }
    if let uname, !uname.isEmpty { return uname }
    return nil
}
