//! The server's signing keys: generated on first start, stored in the database (so every node signs
//! and verifies with the same keys), published as a JWKS, and rotated by `bedside keys rotate`. Keys
//! are made and used through AWS-LC (`aws-lc-rs`, also jsonwebtoken's backend) and stored as PEM: the
//! ES256 key as PKCS#8, the RS256 key as PKCS#8 (keys stored by earlier versions as PKCS#1 load as
//! well).
//!
//! **Rotation.** Per algorithm one key is active and signs. A rotation stores a new active key and
//! retires the previous one at [`retire_time`]: no earlier than the expiry of the last token it may
//! have signed. Until then it stays in the JWKS and keeps verifying; afterwards it is left out and
//! refused, and the next rotation (or `bedside keys prune`) deletes it.
//!
//! **Leases.** "The last token it may have signed" is recorded, not guessed: before a signer signs, the
//! key's `signed_until` covers the token's expiry. A node ([`NodeKeys`]) keeps it at least
//! `horizon` (its longest token lifetime) plus three reload periods ahead, raised by ten minutes at
//! a time (one write per node every few minutes); `bedside token` raises it to its token's expiry.
//!
//! **Every node follows.** [`NodeKeys`] reloads the keys from the database every [`RELOAD_EVERY`],
//! and at once (at most every [`RELOAD_GAP`]) when a token names a `kid` it does not know, so a
//! rotation made by the CLI or another node is picked up without a restart. A node signs only with a
//! key set loaded less than two reload periods ago (else it reloads first), which is what its lease
//! covers.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::json;

use crate::store::keys::{self as key_rows, Retired, SigningKeyRow};
use crate::store::{AnyConnection, Store, StoreError, StoreResult};

/// How often every node reloads the keys (a rotation elsewhere is picked up within this time).
pub const RELOAD_EVERY: Duration = Duration::from_secs(30);
/// Reloads asked for by requests (an unknown `kid`, a stale key set) happen at most this often, so
/// tokens with made-up `kid`s cannot hammer the database.
pub const RELOAD_GAP: Duration = Duration::from_secs(2);
/// Seconds a token is still accepted after its `exp` (clock skew between nodes and clients).
pub const LEEWAY_SECS: u64 = 30;
/// A rotated-out key stays at least this long (seconds): the id_token lifetime and the default
/// access-token lifetime, which also covers tokens signed before signers recorded their leases
/// (databases of earlier versions).
pub const MIN_RETIRE_SECS: i64 = 3600;
/// How far past its horizon a node raises its lease at a time (seconds).
const LEASE_AHEAD_SECS: i64 = 600;

/// A usable signing key: `kid`, algorithm, and both halves ready for jsonwebtoken.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    pub public_jwk: serde_json::Value,
    /// When it stops verifying (Unix seconds); None while it is the active signer.
    pub retire_at: Option<i64>,
    /// Tokens it signed expire by then (Unix seconds), as known when the key set was loaded.
    pub signed_until: i64,
}

impl SigningKey {
    /// Does it still verify at `now`?
    pub fn is_live(&self, now: i64) -> bool {
        self.retire_at.is_none_or(|t| now < t)
    }
}

/// The keys of this server as loaded at one moment (all nodes load the same rows).
#[derive(Clone)]
pub struct KeySet {
    /// Signs access tokens (the active ES256 key).
    pub es256: SigningKey,
    /// Signs OpenID Connect id_tokens (RS256 is the algorithm every OIDC client must support).
    pub rs256: SigningKey,
    /// Rotated-out keys that still verify until their `retire_at`, newest first.
    pub retiring: Vec<SigningKey>,
}

/// What one rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub alg: &'static str,
    /// The new active key.
    pub kid: String,
    /// The key(s) it replaced, and when each stops verifying.
    pub retired: Vec<Retired>,
}

impl KeySet {
    /// Loads the keys, generating and storing an active key for any algorithm that has none.
    pub fn load_or_create(conn: &mut AnyConnection) -> StoreResult<KeySet> {
        let has_active = |rows: &[SigningKeyRow], alg: &str| rows.iter().any(|r| r.alg == alg && r.retire_at.is_none());
        let rows = key_rows::all(conn)?;
        if !has_active(&rows, "ES256") {
            key_rows::insert_if_absent(conn, &generate_es256()?)?;
        }
        if !has_active(&rows, "RS256") {
            key_rows::insert_if_absent(conn, &super::rsa_key::generate_rs256()?)?;
        }
        let rows = key_rows::all(conn)?;
        let active = |alg: &str| {
            rows.iter()
                .find(|r| r.alg == alg && r.retire_at.is_none())
                .ok_or_else(|| StoreError::Corrupt(format!("no {alg} signing key after generation")))
        };
        let now = crate::clock::now_secs();
        let mut retiring = Vec::new();
        for row in rows.iter().rev().filter(|r| r.retire_at.is_some_and(|t| now < t)) {
            // A damaged retired key must not stop the node: it is skipped (its tokens are refused).
            match key_of_row(row) {
                Ok(k) => retiring.push(k),
                Err(e) => tracing::error!(kid = %row.kid, error = %e, "a retired signing key cannot be loaded"),
            }
        }
        Ok(KeySet { es256: to_key(active("ES256")?)?, rs256: super::rsa_key::to_key(active("RS256")?)?, retiring })
    }

    /// [`KeySet::load_or_create`] for a signer that will sign tokens expiring by `until` (Unix
    /// seconds): the active keys' leases are raised to cover them first, so a rotation keeps the
    /// keys until those tokens have expired.
    pub fn load_for_signing(conn: &mut AnyConnection, until: i64) -> StoreResult<KeySet> {
        for _ in 0..5 {
            let mut set = KeySet::load_or_create(conn)?;
            // A rotation between the load and the lease: load again and lease the new keys.
            if key_rows::extend_lease(conn, &set.es256.kid, until)?
                && key_rows::extend_lease(conn, &set.rs256.kid, until)?
            {
                set.es256.signed_until = set.es256.signed_until.max(until);
                set.rs256.signed_until = set.rs256.signed_until.max(until);
                return Ok(set);
            }
        }
        Err(StoreError::Conflict("the signing keys (rotated again and again while loading)".into()))
    }

    /// Finds the access-token verification key for a token header's `kid`: the active ES256 key or
    /// a rotated-out one before its retire time (ES256 only: an id_token signed with an RSA key is
    /// never an access token).
    pub fn by_kid(&self, kid: &str) -> Option<&SigningKey> {
        let now = crate::clock::now_secs();
        std::iter::once(&self.es256)
            .chain(self.retiring.iter())
            .find(|k| k.kid == kid && k.alg == Algorithm::ES256 && k.is_live(now))
    }

    /// `{"keys": [...]}` for the JWKS endpoint: the active keys, then the rotated-out keys that still
    /// verify.
    pub fn jwks(&self) -> serde_json::Value {
        let now = crate::clock::now_secs();
        let keys: Vec<serde_json::Value> = [&self.es256, &self.rs256]
            .into_iter()
            .chain(self.retiring.iter())
            .filter(|k| k.is_live(now))
            .map(|k| k.public_jwk.clone())
            .collect();
        json!({ "keys": keys })
    }
}

/// When a key rotated out at `now` stops verifying, given its lease `signed_until`: after the last
/// token it may have signed has expired (plus the verification leeway), and not before
/// [`MIN_RETIRE_SECS`] from now.
pub fn retire_time(signed_until: i64, now: i64) -> i64 {
    signed_until.max(now.saturating_add(MIN_RETIRE_SECS)).saturating_add(LEEWAY_SECS as i64)
}

/// The algorithms the server signs with, as `bedside keys rotate --alg` names them.
pub const ALGORITHMS: [&str; 2] = ["ES256", "RS256"];

/// Rotates the `alg` key (`ES256` or `RS256`): a new key becomes the active signer and the previous
/// one is retired at [`retire_time`], or `retire_after` seconds from now when given (0: at once, for
/// a key that must stop verifying now — its tokens are refused from then on).
pub fn rotate(conn: &mut AnyConnection, alg: &str, retire_after: Option<u64>) -> StoreResult<Rotation> {
    let (alg, new) = match alg {
        "ES256" => ("ES256", generate_es256()?),
        "RS256" => ("RS256", super::rsa_key::generate_rs256()?),
        other => return Err(StoreError::Corrupt(format!("no such signing algorithm {other:?}"))),
    };
    let now = crate::clock::now_secs();
    let retired = key_rows::rotate(conn, &new, |signed_until| match retire_after {
        Some(secs) => now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)),
        None => retire_time(signed_until, now),
    })?;
    Ok(Rotation { alg, kid: new.kid, retired })
}

/// Deletes the keys whose retire time has passed; returns their kids.
pub fn prune(conn: &mut AnyConnection) -> StoreResult<Vec<String>> {
    key_rows::prune(conn, crate::clock::now_secs())
}

fn key_of_row(row: &SigningKeyRow) -> StoreResult<SigningKey> {
    match row.alg.as_str() {
        "RS256" => super::rsa_key::to_key(row),
        _ => to_key(row),
    }
}

/// This node's view of the keys, shared by every worker: a [`KeySet`] swapped as a whole when the
/// keys are reloaded (every [`RELOAD_EVERY`] by a background thread, which stops when this is
/// dropped; and on demand, see [`NodeKeys::for_kid`]).
pub struct NodeKeys {
    live: Arc<Live>,
    _stop: mpsc::Sender<()>,
}

struct Live {
    store: Store,
    /// The longest lifetime (seconds) of the tokens this node signs.
    horizon: i64,
    /// The key set and when its load began.
    current: RwLock<(Arc<KeySet>, Instant)>,
    /// When a request last made this node reload (one reload at a time).
    asked: Mutex<Option<Instant>>,
}

impl NodeKeys {
    /// Loads the keys (creating them on first start) and leases them for tokens of up to
    /// `horizon_secs`; then keeps them current in the background.
    pub fn start(store: Store, horizon_secs: u64) -> StoreResult<NodeKeys> {
        let started = Instant::now();
        let horizon = i64::try_from(horizon_secs).unwrap_or(i64::MAX / 4);
        let set = load_and_lease(&store, horizon)?;
        let live =
            Arc::new(Live { store, horizon, current: RwLock::new((Arc::new(set), started)), asked: Mutex::new(None) });
        let (stop, stopped) = mpsc::channel::<()>();
        let background = live.clone();
        let spawned = std::thread::Builder::new().name("bedside-keys".into()).spawn(move || loop {
            match stopped.recv_timeout(RELOAD_EVERY) {
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(e) = background.reload() {
                        tracing::warn!(error = %e, "the signing keys could not be reloaded; trying again soon");
                    }
                }
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "the signing-key reloader could not be started");
        }
        Ok(NodeKeys { live, _stop: stop })
    }

    /// The keys to sign and verify with now. A set older than two reload periods (the background
    /// reload failed or fell behind) is reloaded first when the database answers.
    pub fn current(&self) -> Arc<KeySet> {
        let (set, loaded) = self.live.snapshot();
        if loaded.elapsed() < 2 * RELOAD_EVERY {
            return set;
        }
        self.live.reload_on_request(false).unwrap_or(set)
    }

    /// The keys to verify a token signed by `kid` with: the current set, or, when it does not know
    /// `kid`, the set reloaded from the database (a rotation made elsewhere), at most every
    /// [`RELOAD_GAP`].
    pub fn for_kid(&self, kid: &str) -> Arc<KeySet> {
        let set = self.current();
        if set.by_kid(kid).is_some() {
            return set;
        }
        self.live.reload_on_request(true).unwrap_or(set)
    }

    /// Reloads the keys now (as the background thread does).
    pub fn reload(&self) -> StoreResult<()> {
        self.live.reload()
    }
}

impl Live {
    fn snapshot(&self) -> (Arc<KeySet>, Instant) {
        let guard = self.current.read().unwrap_or_else(|e| e.into_inner());
        (guard.0.clone(), guard.1)
    }

    fn reload(&self) -> StoreResult<()> {
        let started = Instant::now();
        let set = load_and_lease(&self.store, self.horizon)?;
        let mut guard = self.current.write().unwrap_or_else(|e| e.into_inner());
        if guard.0.es256.kid != set.es256.kid || guard.0.rs256.kid != set.rs256.kid {
            tracing::info!(es256 = %set.es256.kid, rs256 = %set.rs256.kid, "signing with rotated keys");
        }
        *guard = (Arc::new(set), started);
        Ok(())
    }

    /// A reload a request asked for: `wait` for one already under way (else return at once), and
    /// none when the last one was less than [`RELOAD_GAP`] ago. The set to use afterwards.
    fn reload_on_request(&self, wait: bool) -> Option<Arc<KeySet>> {
        let mut asked = if wait {
            self.asked.lock().unwrap_or_else(|e| e.into_inner())
        } else {
            match self.asked.try_lock() {
                Ok(g) => g,
                Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => return None,
            }
        };
        if asked.is_none_or(|t| t.elapsed() >= RELOAD_GAP) {
            *asked = Some(Instant::now());
            if let Err(e) = self.reload() {
                tracing::warn!(error = %e, "the signing keys could not be reloaded");
            }
        }
        Some(self.snapshot().0)
    }
}

/// Loads the keys and, when the active keys' leases end less than three reload periods past
/// `horizon` from now, raises them.
fn load_and_lease(store: &Store, horizon: i64) -> StoreResult<KeySet> {
    let mut conn = store.conn_within(Duration::from_secs(5))?;
    let now = crate::clock::now_secs();
    let set = KeySet::load_or_create(&mut conn)?;
    let needed = now.saturating_add(horizon).saturating_add(3 * RELOAD_EVERY.as_secs() as i64);
    if set.es256.signed_until >= needed && set.rs256.signed_until >= needed {
        return Ok(set);
    }
    KeySet::load_for_signing(&mut conn, now.saturating_add(horizon).saturating_add(LEASE_AHEAD_SECS))
}

fn generate_es256() -> StoreResult<SigningKeyRow> {
    let failed = || StoreError::Corrupt("cannot generate an EC P-256 key".into());
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|_| failed())?;
    let pkcs8 = pair.to_pkcs8v1().map_err(|_| failed())?;
    // The public key as an uncompressed SEC1 point: 0x04, x (32 bytes), y (32 bytes).
    let point = pair.public_key().as_ref();
    let (x, y) = match (point.first(), point.get(1..33), point.get(33..65)) {
        (Some(4), Some(x), Some(y)) if point.len() == 65 => (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y)),
        _ => return Err(StoreError::Corrupt("generated key has an unexpected public point".into())),
    };
    let digest = <sha2::Sha256 as sha2::Digest>::digest(format!("{x}.{y}"));
    let kid = URL_SAFE_NO_PAD.encode(digest.get(..12).unwrap_or_default());
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "alg": "ES256", "use": "sig"});
    Ok(SigningKeyRow {
        kid,
        alg: "ES256".into(),
        private_pem: private_pem(pkcs8.as_ref()),
        public_jwk: jwk.to_string(),
        created_at: crate::clock::now().text,
        retire_at: None,
        signed_until: 0,
    })
}

/// A PKCS#8 private key as PEM (`-----BEGIN PRIVATE KEY-----`, LF line endings).
pub(super) fn private_pem(pkcs8_der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new("PRIVATE KEY", pkcs8_der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

fn to_key(row: &SigningKeyRow) -> StoreResult<SigningKey> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("signing key {}: {what}", row.kid));
    let jwk: serde_json::Value = serde_json::from_str(&row.public_jwk).map_err(|_| corrupt("bad JWK"))?;
    let x = jwk["x"].as_str().ok_or_else(|| corrupt("no x"))?;
    let y = jwk["y"].as_str().ok_or_else(|| corrupt("no y"))?;
    Ok(SigningKey {
        kid: row.kid.clone(),
        alg: Algorithm::ES256,
        encoding: EncodingKey::from_ec_pem(row.private_pem.as_bytes()).map_err(|_| corrupt("bad PEM"))?,
        decoding: DecodingKey::from_ec_components(x, y).map_err(|_| corrupt("bad public key"))?,
        public_jwk: jwk,
        retire_at: row.retire_at,
        signed_until: row.signed_until,
    })
}

#[cfg(test)]
mod tests;
