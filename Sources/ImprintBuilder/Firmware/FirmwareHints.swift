/// Which Debian package most likely ships a firmware file, by the folder the kernel asks for it in
/// (Debian 12's firmware-nonfree source package); only for hints in messages, never to choose.
enum FirmwareHints {
    /// Longest prefix first where prefixes nest (`intel/ice/` before `intel/`).
    static let table: [(prefix: String, package: String)] = [
        ("rtl_nic/", "firmware-realtek"), ("rtl_bt/", "firmware-realtek"), ("rtlwifi/", "firmware-realtek"),
        ("rtw88/", "firmware-realtek"), ("rtw89/", "firmware-realtek"),
        ("bnx2x/", "firmware-bnx2x"), ("bnx2/", "firmware-bnx2"),
        ("tigon/", "firmware-misc-nonfree"), ("e100/", "firmware-misc-nonfree"),
        ("intel/ice/", "firmware-misc-nonfree"), ("mellanox/", "firmware-misc-nonfree"),
        ("cxgb4/", "firmware-misc-nonfree"), ("cxgb3/", "firmware-misc-nonfree"),
        ("i915/", "firmware-misc-nonfree"), ("nvidia/", "firmware-misc-nonfree"),
        ("qed/", "firmware-qlogic"), ("qlogic/", "firmware-qlogic"), ("ql2", "firmware-qlogic"),
        ("netronome/", "firmware-netronome"), ("liquidio/", "firmware-liquidio"), ("myri10ge", "firmware-myricom"),
        ("iwlwifi-", "firmware-iwlwifi"), ("brcm/", "firmware-brcm80211"),
        ("ath9k_htc/", "firmware-atheros"), ("ath10k/", "firmware-atheros"), ("ath11k/", "firmware-atheros"),
        ("amdgpu/", "firmware-amd-graphics"), ("radeon/", "firmware-amd-graphics"),
        ("ti-connectivity/", "firmware-ti-connectivity"),
    ]

    /// The package that likely holds `file` (`rtl_nic/rtl8168d-1.fw` -> `firmware-realtek`), if known.
    static func package(for file: String) -> String? {
        table.first { file.hasPrefix($0.prefix) }?.package
    }
}
