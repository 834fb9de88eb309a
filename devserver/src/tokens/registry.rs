//! The token registry: which minted tokens are Normal or Kicked, per (user, platform).
//!
//! It plays the role of OpenIM's Redis hash `UID_PID_TOKEN_STATUS:<user>:<platform>`. A valid
//! JWT that is not in the registry is refused with 1507, a Kicked one with 1506.

use std::collections::{BTreeMap, HashMap};

use crate::config::MultiLoginPolicy;
use crate::protocol::codes::{self, CodeError};
use crate::protocol::platform;
use crate::tokens::jwt;
use crate::tokens::policy;

/// State of one registered token (OpenIM `NormalToken` / `KickedToken`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenState {
    Normal,
    Kicked,
}

/// Everything needed to mint a token.
pub(crate) struct MintParams<'a> {
    pub secret: &'a str,
    pub policy: MultiLoginPolicy,
    pub max_num_one_end: usize,
    pub now_ms: i64,
    pub lifetime_secs: i64,
}

/// Registered tokens per user and platform, oldest first.
#[derive(Default, Debug)]
pub(crate) struct TokenRegistry {
    users: HashMap<String, BTreeMap<i32, Vec<(String, TokenState)>>>,
}

impl TokenRegistry {
    /// Mints a token for (`user_id`, `platform_id`) exactly like `CreateToken`: first the user's
    /// expired, unparsable and non-Normal tokens are deleted (so a kicked token becomes unknown,
    /// 1507), then the policy's token-time victims are flagged Kicked, then the new token is
    /// registered Normal. `iat` is now − 5 s and `exp` now + lifetime.
    pub(crate) fn create(&mut self, p: &MintParams<'_>, user_id: &str, platform_id: i32) -> String {
        let now_secs = p.now_ms.div_euclid(1000);
        let platforms = self.users.entry(user_id.to_string()).or_default();
        for tokens in platforms.values_mut() {
            tokens.retain(|(t, state)| {
                *state == TokenState::Normal && jwt::verify(p.secret, t, p.now_ms).is_ok()
            });
        }
        platforms.retain(|_, tokens| !tokens.is_empty());

        let normal: BTreeMap<i32, Vec<String>> = platforms
            .iter()
            .filter(|(&plt, _)| plt != platform::ADMIN)
            .map(|(&plt, ts)| (plt, ts.iter().map(|(t, _)| t.clone()).collect()))
            .collect();
        for (plt, victim) in
            policy::token_time_victims(p.policy, p.max_num_one_end, &normal, platform_id)
        {
            if let Some(tokens) = platforms.get_mut(&plt) {
                for (t, state) in tokens.iter_mut() {
                    if *t == victim {
                        *state = TokenState::Kicked;
                    }
                }
            }
        }

        let token = jwt::mint(
            p.secret,
            user_id,
            platform_id,
            now_secs - 5,
            now_secs.saturating_add(p.lifetime_secs),
        );
        platforms
            .entry(platform_id)
            .or_default()
            .push((token.clone(), TokenState::Normal));
        token
    }

    /// Registry check of `parseToken` for an already verified JWT: Normal ⇒ Ok, Kicked ⇒ 1506,
    /// unknown ⇒ 1507.
    pub(crate) fn check(&self, claims: &jwt::Claims, token: &str) -> Result<(), CodeError> {
        let state = self
            .users
            .get(&claims.user_id)
            .and_then(|p| p.get(&claims.platform_id))
            .and_then(|ts| ts.iter().find(|(t, _)| t == token))
            .map(|(_, s)| *s);
        match state {
            Some(TokenState::Normal) => Ok(()),
            Some(TokenState::Kicked) => Err(CodeError::new(codes::TOKEN_KICKED, "token kicked")),
            None => Err(CodeError::new(codes::TOKEN_NOT_EXIST, "token not exist")),
        }
    }

    /// Flags every token of (`user_id`, `platform_id`) Kicked except `preserved`
    /// (`InvalidateToken`).
    pub(crate) fn invalidate_except(&mut self, user_id: &str, platform_id: i32, preserved: &str) {
        if let Some(ts) = self
            .users
            .get_mut(user_id)
            .and_then(|p| p.get_mut(&platform_id))
        {
            for (t, state) in ts.iter_mut() {
                if t != preserved {
                    *state = TokenState::Kicked;
                }
            }
        }
    }

    /// Flags one token Kicked wherever it is registered for `user_id` (`KickTokens`).
    pub(crate) fn kick_token(&mut self, user_id: &str, token: &str) {
        if let Some(platforms) = self.users.get_mut(user_id) {
            for ts in platforms.values_mut() {
                for (t, state) in ts.iter_mut() {
                    if t == token {
                        *state = TokenState::Kicked;
                    }
                }
            }
        }
    }

    /// Flags every token of (`user_id`, `platform_id`) Kicked (`/auth/force_logout`).
    pub(crate) fn kick_all(&mut self, user_id: &str, platform_id: i32) {
        self.invalidate_except(user_id, platform_id, "");
    }

    /// State of a token, `None` when unknown (for tests).
    #[cfg(test)]
    pub(crate) fn state(&self, user_id: &str, platform_id: i32, token: &str) -> Option<TokenState> {
        self.users
            .get(user_id)?
            .get(&platform_id)?
            .iter()
            .find(|(t, _)| t == token)
            .map(|(_, s)| *s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(policy: MultiLoginPolicy, now_ms: i64) -> MintParams<'static> {
        MintParams {
            secret: "s",
            policy,
            max_num_one_end: 30,
            now_ms,
            lifetime_secs: 3600,
        }
    }

    fn claims(user: &str, platform: i32) -> jwt::Claims {
        jwt::Claims {
            user_id: user.into(),
            platform_id: platform,
            exp: None,
        }
    }

    #[test]
    fn minted_tokens_are_normal_and_unknown_ones_are_1507() {
        let mut r = TokenRegistry::default();
        let p = params(MultiLoginPolicy::AllLoginButSameTermKick, 1_700_000_000_000);
        let t = r.create(&p, "u1", 5);
        assert!(r.check(&claims("u1", 5), &t).is_ok());
        assert_eq!(r.check(&claims("u1", 5), "other").unwrap_err().code, 1507);
        assert_eq!(r.check(&claims("u2", 5), &t).unwrap_err().code, 1507);
    }

    #[test]
    fn policy1_second_mint_kicks_then_third_mint_forgets() {
        let mut r = TokenRegistry::default();
        let p = params(MultiLoginPolicy::AllLoginButSameTermKick, 1_700_000_000_000);
        let t1 = r.create(&p, "u1", 5);
        let t2 = r.create(&p, "u1", 5);
        assert_eq!(r.check(&claims("u1", 5), &t1).unwrap_err().code, 1506);
        assert!(r.check(&claims("u1", 5), &t2).is_ok());
        // The next mint deletes kicked tokens: the first token is now unknown.
        let _t3 = r.create(&p, "u1", 2);
        assert_eq!(r.state("u1", 5, &t1), None);
        assert_eq!(r.check(&claims("u1", 5), &t1).unwrap_err().code, 1507);
    }

    #[test]
    fn expired_tokens_are_deleted_at_the_next_mint() {
        let mut r = TokenRegistry::default();
        let t1 = r.create(
            &params(MultiLoginPolicy::DefaultNotKick, 1_000_000_000_000),
            "u1",
            5,
        );
        r.create(
            &params(MultiLoginPolicy::DefaultNotKick, 1_000_100_000_000),
            "u1",
            5,
        );
        assert_eq!(r.state("u1", 5, &t1), None);
    }

    #[test]
    fn invalidate_keeps_the_preserved_token() {
        let mut r = TokenRegistry::default();
        let p = params(MultiLoginPolicy::DefaultNotKick, 1_700_000_000_000);
        let a = r.create(&p, "u1", 5);
        let b = r.create(&p, "u1", 5);
        r.invalidate_except("u1", 5, &b);
        assert_eq!(r.state("u1", 5, &a), Some(TokenState::Kicked));
        assert_eq!(r.state("u1", 5, &b), Some(TokenState::Normal));
        r.kick_all("u1", 5);
        assert_eq!(r.state("u1", 5, &b), Some(TokenState::Kicked));
    }
}
