import ImprintCore

/// The manifest key the agent trusts (DESIGN section 8): a booted agent only its base initrd's
/// (`/etc/imprint/manifest.pub`, put there by `imprint build`), never one the network could hand
/// it; host mode `--manifest-key FILE`, else the identity's `manifestKey`.
enum ManifestKeySource {
    static func resolve(_ context: AgentContext, identity: Identity?, hostMode: Bool) -> Result<[UInt8], DeployFailure> {
        if hostMode {
            if let file = context.manifestKeyFile {
                guard let text = try? context.fs.readFile(file) else {
                    return .failure(DeployFailure(.assignment, "cannot read the manifest key \(file)", hint: "give --manifest-key the store's keys/manifest.pub", retryable: false))
                }
                guard let key = ManifestTrust.decodeKey(text) else {
                    return .failure(DeployFailure(.assignment, "\(file) is not a manifest key (base64 of a 32-byte Ed25519 key)", hint: "give --manifest-key the store's keys/manifest.pub", retryable: false))
                }
                return .success(key)
            }
            guard let text = identity?.manifestKey else {
                return .failure(DeployFailure(.assignment, "no manifest key to check the assignment's signature with",
                                              hint: "give --manifest-key FILE (the store's keys/manifest.pub), or an identity made by this imprint's device add", retryable: false))
            }
            guard let key = ManifestTrust.decodeKey(text) else {
                return .failure(DeployFailure(.assignment, "the identity's manifestKey is not base64 of a 32-byte Ed25519 key", hint: "re-add the device (imprint device add --force)", retryable: false))
            }
            return .success(key)
        }
        guard let text = try? context.fs.readFile(ManifestTrust.initrdKeyPath) else {
            return .failure(DeployFailure(.assignment, "this agent image carries no manifest key (\(ManifestTrust.initrdKeyPath)), so it cannot check what it is assigned",
                                          hint: "rebuild the profile with this imprint (imprint build RECIPE)", retryable: false))
        }
        guard let key = ManifestTrust.decodeKey(text) else {
            return .failure(DeployFailure(.assignment, "\(ManifestTrust.initrdKeyPath) is not a manifest key", hint: "rebuild the profile with this imprint (imprint build RECIPE)", retryable: false))
        }
        return .success(key)
    }
}
