//! The tokens of share links made lately, kept in memory for an hour so the Nextcloud apps can
//! read back the link they just made (they create a link, then fetch it by id for its URL). The
//! catalog keeps only a token's SHA-256, so after this hour, or a restart, a link's address is
//! no longer shown to anyone: its owner makes a new link if they lost it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a new link's token is remembered.
const KEPT: Duration = Duration::from_secs(3600);
/// The most tokens remembered at once (the oldest go first).
const MOST: usize = 256;

/// Recently made links' tokens, by link id.
#[derive(Debug, Default)]
pub struct LinkTokens {
    tokens: Mutex<HashMap<i64, (String, Instant)>>,
}

impl LinkTokens {
    /// Remembers link `id`'s token.
    pub fn remember(&self, id: i64, token: &str) {
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens.retain(|_, (_, at)| at.elapsed() < KEPT);
        if tokens.len() >= MOST
            && let Some(oldest) = tokens.iter().min_by_key(|(_, (_, at))| *at).map(|(id, _)| *id)
        {
            tokens.remove(&oldest);
        }
        tokens.insert(id, (token.to_string(), Instant::now()));
    }

    /// Link `id`'s token, when it was made within the hour.
    pub fn get(&self, id: i64) -> Option<String> {
        let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens.get(&id).filter(|(_, at)| at.elapsed() < KEPT).map(|(t, _)| t.clone())
    }

    /// Forgets link `id`'s token (the link was deleted).
    pub fn forget(&self, id: i64) {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_kept_by_id_within_a_bound() {
        let t = LinkTokens::default();
        t.remember(1, "a");
        assert_eq!(t.get(1).as_deref(), Some("a"));
        assert_eq!(t.get(2), None);
        t.forget(1);
        assert_eq!(t.get(1), None);
        for id in 0..(MOST as i64 + 10) {
            t.remember(id, "x");
        }
        assert_eq!(t.tokens.lock().expect("lock").len(), MOST);
        assert_eq!(t.get(MOST as i64 + 9).as_deref(), Some("x"), "the newest stays");
    }
}
