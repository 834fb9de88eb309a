//! OpenIM's platform table (protocol §9): IDs, names and classes.

/// The admin platform ID; admin tokens are minted for it and `/auth/get_user_token` refuses it.
pub(crate) const ADMIN: i32 = 10;
/// Web, the only platform the server pings.
pub(crate) const WEB: i32 = 5;
/// iOS: while in background it gets no online pushes.
pub(crate) const IOS: i32 = 1;
/// Android: the preferred survivor under policy 5.
pub(crate) const ANDROID: i32 = 2;

/// OpenIM's name for a platform ID (`PlatformID2Name`), `None` when the ID is not in the table.
pub(crate) fn name(platform_id: i32) -> Option<&'static str> {
    Some(match platform_id {
        1 => "IOS",
        2 => "Android",
        3 => "Windows",
        4 => "OSX",
        5 => "Web",
        6 => "MiniWeb",
        7 => "Linux",
        8 => "APad",
        9 => "IPad",
        10 => "Admin",
        11 => "HarmonyOS",
        _ => return None,
    })
}

/// True when the ID is a key of the platform table (1..=11); the gateway refuses others (1602).
pub(crate) fn is_known(platform_id: i32) -> bool {
    name(platform_id).is_some()
}

/// OpenIM's class for a platform ID (`PlatformIDToClass`); unknown IDs get an empty class.
pub(crate) fn class(platform_id: i32) -> &'static str {
    match platform_id {
        1 | 2 => "Mobile",
        3 | 4 | 7 => "PC",
        5 => "Web",
        6 => "MiniWeb",
        8 | 9 => "Pad",
        10 => "Admin",
        11 => "HarmonyOS",
        _ => "",
    }
}

/// True for the PC class (Windows, OSX, Linux).
pub(crate) fn is_pc(platform_id: i32) -> bool {
    class(platform_id) == "PC"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_protocol_doc() {
        assert!((1..=11).all(is_known));
        assert!(!is_known(0) && !is_known(12));
        assert_eq!(class(2), class(1));
        assert_eq!(class(9), "Pad");
        assert!(is_pc(3) && is_pc(4) && is_pc(7) && !is_pc(5));
    }
}
