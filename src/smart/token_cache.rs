//! Access tokens whose signature and claims were verified, remembered so an app that sends the same
//! token on every request pays for the ES256 check once, not on every request.
//!
//! Keyed by the SHA-256 of the token (the cache holds no bearer token), bounded (when full, expired
//! entries go first, then the one expiring soonest), and an entry is never used past the token's
//! `exp` (without the leeway
//! the full verification allows; a token in its leeway is verified again). Only successes are kept.
//! Revocation is not cached: the extractor still checks the token's grant on every request
//! ([`super::access::check_grant`]). Nor is the key: an entry remembers the `kid` that verified it
//! and is used only while the caller's current keys still accept that key, so a key that reaches
//! its retire time (or is retired at once after a compromise) ends its cached tokens too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::token::AccessClaims;

/// How many verified tokens one node remembers.
pub const CAPACITY: usize = 10_000;

/// A plain map behind a mutex: a lookup holds the lock for one hash probe, and a std map keeps the
/// dependency tree (and build) as it is.
pub struct TokenCache {
    capacity: usize,
    cache: Mutex<HashMap<[u8; 32], Arc<Entry>>>,
}

struct Entry {
    claims: AccessClaims,
    kid: String,
}

fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl TokenCache {
    pub fn new(capacity: usize) -> TokenCache {
        TokenCache { capacity: capacity.max(1), cache: Mutex::new(HashMap::new()) }
    }

    /// The claims of `token` if it was verified before, has not expired at `now` (seconds), and the
    /// key that verified it is still accepted (`key_live(kid)`).
    pub fn get(&self, token: &str, now: u64, key_live: impl FnOnce(&str) -> bool) -> Option<AccessClaims> {
        let k = key(token);
        let mut cache = self.cache.lock().ok()?;
        let entry = cache.get(&k)?.clone();
        if now < entry.claims.exp {
            drop(cache);
            if key_live(&entry.kid) {
                return Some(entry.claims.clone());
            }
            self.cache.lock().ok()?.remove(&k);
            None
        } else {
            cache.remove(&k);
            None
        }
    }

    /// Remembers a token that was just verified at `now` with the key `kid`.
    pub fn insert(&self, token: &str, claims: &AccessClaims, kid: &str, now: u64) {
        let k = key(token);
        let Ok(mut cache) = self.cache.lock() else { return };
        if cache.len() >= self.capacity && !cache.contains_key(&k) {
            cache.retain(|_, e| now < e.claims.exp);
            if cache.len() >= self.capacity {
                // Still full of live tokens: drop the one that expires first.
                if let Some(first) = cache.iter().min_by_key(|(_, e)| e.claims.exp).map(|(k, _)| *k) {
                    cache.remove(&first);
                }
            }
        }
        cache.insert(k, Arc::new(Entry { claims: claims.clone(), kid: kid.to_string() }));
    }

    pub fn len(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache::new(CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(_kid: &str) -> bool {
        true
    }

    fn claims(exp: u64) -> AccessClaims {
        AccessClaims {
            iss: "i".into(),
            sub: "s".into(),
            aud: "a".into(),
            exp,
            iat: 0,
            jti: "j".into(),
            token_use: super::super::token::ACCESS.into(),
            client_id: "c".into(),
            scope: "patient/*.rs".into(),
            patient: Some("p".into()),
            encounter: None,
            fhir_user: None,
            grant: Some("g".into()),
        }
    }

    #[test]
    fn a_verified_token_is_remembered_until_it_expires() {
        let cache = TokenCache::new(10);
        cache.insert("tok", &claims(100), "k1", 0);
        assert_eq!(cache.get("tok", 99, live), Some(claims(100)));
        assert_eq!(cache.get("other", 99, live), None);
        // Never at or past exp, and an expired entry is dropped.
        assert_eq!(cache.get("tok", 100, live), None);
        assert_eq!(cache.get("tok", 50, live), None);
        assert!(cache.is_empty());
    }

    #[test]
    fn a_token_whose_key_is_no_longer_accepted_is_forgotten() {
        let cache = TokenCache::new(10);
        cache.insert("tok", &claims(100), "old-key", 0);
        assert_eq!(cache.get("tok", 10, |kid| kid == "old-key"), Some(claims(100)));
        // The key was retired (or reached its retire time): not honoured, and dropped.
        assert_eq!(cache.get("tok", 11, |_| false), None);
        assert!(cache.is_empty());
    }

    #[test]
    fn it_stays_within_its_bound() {
        let cache = TokenCache::new(50);
        for i in 0..1000 {
            cache.insert(&format!("token-{i}"), &claims(10_000 + i), "k1", 0);
        }
        assert_eq!(cache.len(), 50);
        // The newest stay; the ones expiring first went.
        assert!(cache.get("token-999", 0, live).is_some());
        assert!(cache.get("token-0", 0, live).is_none());
        // Expired entries make room before live ones are dropped.
        let cache = TokenCache::new(2);
        cache.insert("old", &claims(5), "k1", 0);
        cache.insert("live", &claims(100), "k1", 0);
        cache.insert("new", &claims(100), "k1", 10);
        assert!(cache.get("live", 10, live).is_some());
        assert!(cache.get("new", 10, live).is_some());
    }
}
