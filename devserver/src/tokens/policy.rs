//! Multi-login victim selection (protocol §1.4), as pure functions.
//!
//! Where the real server's choice depends on Go map / Redis hash iteration order, this module
//! is deterministic instead: platforms are visited in ascending ID order and, within a platform,
//! tokens are ordered oldest first (so "the last one" kept is the newest).

use std::collections::BTreeMap;

use crate::config::MultiLoginPolicy;
use crate::protocol::platform;

/// Tokens to flag Kicked when a token is minted for `new_platform` (`CreateToken`).
///
/// `by_platform` holds the user's Normal, unexpired, non-admin tokens per platform, oldest
/// first. Returns `(platform, token)` pairs.
pub(crate) fn token_time_victims(
    policy: MultiLoginPolicy,
    max_num_one_end: usize,
    by_platform: &BTreeMap<i32, Vec<String>>,
    new_platform: i32,
) -> Vec<(i32, String)> {
    let mut kick = Vec::new();
    let mut take = |plt: i32, ts: &[String]| kick.extend(ts.iter().map(|t| (plt, t.clone())));
    match policy {
        MultiLoginPolicy::DefaultNotKick => {
            for (&plt, ts) in by_platform {
                let l = ts.len() + usize::from(plt == new_platform);
                if l > max_num_one_end {
                    let n = (l - max_num_one_end).min(ts.len());
                    take(plt, &ts[..n]);
                }
            }
        }
        MultiLoginPolicy::AllLoginButSameTermKick => {
            for (&plt, ts) in by_platform {
                if plt == new_platform {
                    take(plt, ts);
                } else {
                    take(plt, &ts[..ts.len().saturating_sub(1)]);
                }
            }
        }
        MultiLoginPolicy::PcAndOther => {
            let non_pc = by_platform
                .iter()
                .filter(|(&plt, ts)| !platform::is_pc(plt) && !ts.is_empty());
            if !platform::is_pc(new_platform) {
                for (&plt, ts) in non_pc {
                    take(plt, ts);
                }
            } else {
                // Keep one non-PC token: Android's if there is one, else the first platform's.
                let survivor = if by_platform
                    .get(&platform::ANDROID)
                    .is_some_and(|ts| !ts.is_empty())
                {
                    Some(platform::ANDROID)
                } else {
                    non_pc.clone().map(|(&plt, _)| plt).next()
                };
                for (&plt, ts) in non_pc {
                    if Some(plt) == survivor {
                        take(plt, &ts[..ts.len() - 1]);
                    } else {
                        take(plt, ts);
                    }
                }
            }
        }
        MultiLoginPolicy::AllLoginButSameClassKick => {
            let new_class = platform::class(new_platform);
            let mut reserved: Vec<&str> = Vec::new();
            for (&plt, ts) in by_platform {
                let class = platform::class(plt);
                if class == new_class {
                    take(plt, ts);
                } else if !reserved.contains(&class) {
                    reserved.push(class);
                    take(plt, &ts[..ts.len().saturating_sub(1)]);
                } else {
                    take(plt, ts);
                }
            }
        }
    }
    kick
}

/// One of the user's live connections, as seen by the connection-time check.
#[derive(Clone, Debug)]
pub(crate) struct LiveConn<'a> {
    pub id: u64,
    pub platform_id: i32,
    pub token: &'a str,
}

/// What registering a new connection does to the user's other connections and tokens.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ConnKickPlan {
    /// Connections that get a 2002 and are closed.
    pub victims: Vec<u64>,
    /// Flag every token of (user, this platform) Kicked except the new connection's
    /// (`InvalidateToken`, policies 1 and 5).
    pub invalidate_platform: Option<i32>,
    /// Flag the victims' own tokens Kicked (`KickTokens`, policy 4).
    pub kick_victim_tokens: bool,
}

/// Connection-time multi-login check (`multiTerminalLoginChecker`) for a new connection on
/// `new_platform` with `new_token`, given the user's other live connections. A connection with
/// the same token is never a victim.
pub(crate) fn conn_time_plan(
    policy: MultiLoginPolicy,
    new_platform: i32,
    new_token: &str,
    existing: &[LiveConn<'_>],
) -> ConnKickPlan {
    let differs = |c: &&LiveConn<'_>| c.token != new_token;
    match policy {
        MultiLoginPolicy::DefaultNotKick => ConnKickPlan::default(),
        MultiLoginPolicy::AllLoginButSameTermKick => {
            let same: Vec<&LiveConn<'_>> = existing
                .iter()
                .filter(|c| c.platform_id == new_platform)
                .collect();
            if same.is_empty() {
                return ConnKickPlan::default();
            }
            ConnKickPlan {
                victims: same.into_iter().filter(differs).map(|c| c.id).collect(),
                invalidate_platform: Some(new_platform),
                kick_victim_tokens: false,
            }
        }
        MultiLoginPolicy::PcAndOther => {
            if platform::is_pc(new_platform) || existing.is_empty() {
                return ConnKickPlan::default();
            }
            ConnKickPlan {
                victims: existing
                    .iter()
                    .filter(|c| !platform::is_pc(c.platform_id))
                    .filter(differs)
                    .map(|c| c.id)
                    .collect(),
                invalidate_platform: Some(new_platform),
                kick_victim_tokens: false,
            }
        }
        MultiLoginPolicy::AllLoginButSameClassKick => {
            let class = platform::class(new_platform);
            ConnKickPlan {
                victims: existing
                    .iter()
                    .filter(|c| platform::class(c.platform_id) == class)
                    .filter(differs)
                    .map(|c| c.id)
                    .collect(),
                invalidate_platform: None,
                kick_victim_tokens: true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MultiLoginPolicy::*;

    fn tokens(spec: &[(i32, &[&str])]) -> BTreeMap<i32, Vec<String>> {
        spec.iter()
            .map(|(p, ts)| (*p, ts.iter().map(|t| t.to_string()).collect()))
            .collect()
    }

    fn kicked(v: Vec<(i32, String)>) -> Vec<String> {
        let mut names: Vec<String> = v.into_iter().map(|(_, t)| t).collect();
        names.sort();
        names
    }

    fn conns() -> Vec<LiveConn<'static>> {
        vec![
            LiveConn {
                id: 1,
                platform_id: 1,
                token: "ios",
            },
            LiveConn {
                id: 2,
                platform_id: 2,
                token: "android",
            },
            LiveConn {
                id: 3,
                platform_id: 3,
                token: "windows",
            },
            LiveConn {
                id: 4,
                platform_id: 5,
                token: "web",
            },
            LiveConn {
                id: 5,
                platform_id: 2,
                token: "same",
            },
        ]
    }

    #[test]
    fn policy0_keeps_max_per_platform_and_never_kicks_connections() {
        let t = tokens(&[(5, &["w1", "w2", "w3"]), (2, &["a1"])]);
        assert_eq!(kicked(token_time_victims(DefaultNotKick, 3, &t, 5)), ["w1"]);
        assert!(token_time_victims(DefaultNotKick, 30, &t, 5).is_empty());
        assert_eq!(
            conn_time_plan(DefaultNotKick, 2, "new", &conns()),
            ConnKickPlan::default()
        );
    }

    #[test]
    fn policy1_kicks_the_same_platform_only() {
        let t = tokens(&[(5, &["w1", "w2"]), (2, &["a1", "a2"])]);
        // All of the new platform's tokens; other platforms keep their newest.
        assert_eq!(
            kicked(token_time_victims(AllLoginButSameTermKick, 30, &t, 5)),
            ["a1", "w1", "w2"]
        );
        let plan = conn_time_plan(AllLoginButSameTermKick, 2, "same", &conns());
        assert_eq!(plan.victims, [2]); // conn 5 has the same token
        assert_eq!(plan.invalidate_platform, Some(2));
        // Nobody on the platform: nothing at all, not even the invalidation.
        assert_eq!(
            conn_time_plan(AllLoginButSameTermKick, 9, "x", &conns()),
            ConnKickPlan::default()
        );
    }

    #[test]
    fn policy4_kicks_the_same_class() {
        let t = tokens(&[
            (1, &["i1"]),
            (2, &["a1", "a2"]),
            (8, &["p1"]),
            (9, &["p2"]),
            (3, &["win"]),
        ]);
        // Mobile is the new class: all mobile tokens go; Pad keeps one token (first platform, 8).
        assert_eq!(
            kicked(token_time_victims(AllLoginButSameClassKick, 30, &t, 1)),
            ["a1", "a2", "i1", "p2"]
        );
        let plan = conn_time_plan(AllLoginButSameClassKick, 1, "new", &conns());
        assert_eq!(plan.victims, [1, 2, 5]);
        assert!(plan.kick_victim_tokens);
        assert_eq!(plan.invalidate_platform, None);
    }

    #[test]
    fn policy5_pc_never_kicks_and_non_pc_kicks_non_pc() {
        let t = tokens(&[
            (1, &["i1"]),
            (2, &["a1", "a2"]),
            (3, &["win"]),
            (5, &["w1"]),
        ]);
        // Non-PC login: every non-PC token is flagged, PC untouched.
        assert_eq!(
            kicked(token_time_victims(PcAndOther, 30, &t, 5)),
            ["a1", "a2", "i1", "w1"]
        );
        // PC login: one non-PC token survives, Android preferred.
        assert_eq!(
            kicked(token_time_victims(PcAndOther, 30, &t, 4)),
            ["a1", "i1", "w1"]
        );
        let t2 = tokens(&[(1, &["i1"]), (5, &["w1"])]);
        assert_eq!(kicked(token_time_victims(PcAndOther, 30, &t2, 7)), ["w1"]);

        assert_eq!(
            conn_time_plan(PcAndOther, 3, "new", &conns()),
            ConnKickPlan::default()
        );
        let plan = conn_time_plan(PcAndOther, 6, "new", &conns());
        assert_eq!(plan.victims, [1, 2, 4, 5]);
        assert_eq!(plan.invalidate_platform, Some(6));
    }
}
