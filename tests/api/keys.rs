//! Signing-key rotation (`bedside keys rotate|list|prune`): the old key keeps verifying the tokens it
//! signed until they have expired, every node follows a rotation made anywhere without a restart,
//! and a key past its retire time is refused (cached tokens included) and unpublished.

use std::collections::HashSet;

use bedside::smart::keys::{self, KeySet};
use bedside::store::keys as key_rows;
use bedside::store::Store;
use diesel::RunQueryDsl;
use serde_json::Value;

use crate::operator::{bedside, ok, one_line_error};
use crate::smart_support::*;
use crate::support::{patient, TestApp};

fn kid(jwt: &str) -> String {
    jsonwebtoken::decode_header(jwt).unwrap().kid.unwrap()
}

fn jwks(app: &TestApp) -> jsonwebtoken::jwk::JwkSet {
    let url = format!("{}/.well-known/jwks.json", app.base);
    serde_json::from_slice(&app.send(app.req("GET", &url, None)).expect(200).body).unwrap()
}

fn jwks_kids(app: &TestApp) -> HashSet<String> {
    jwks(app).keys.iter().filter_map(|k| k.common.key_id.clone()).collect()
}

/// Verifies an id_token against the server's published JWKS, as an OpenID client does.
fn verify_id_token(app: &TestApp, id_token: &str, client_id: &str) -> Value {
    let set = jwks(app);
    let jwk = set.find(&kid(id_token)).expect("id_token kid in the JWKS");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[client_id]);
    v.set_issuer(&[app.fhir.as_str()]);
    jsonwebtoken::decode::<Value>(id_token, &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(), &v).unwrap().claims
}

/// A full sign-in of the user `pat` into `client`: the token response.
fn sign_in(app: &TestApp, client: &str, scope: &str) -> Value {
    let (verifier, challenge) = pkce();
    let url = authorize_url(app, &standard_params(app, client, scope, &challenge));
    let code = location_param(&walk(app, &url, "pat", None), "code").expect("code");
    exchange(app, client, &code, &verifier).expect(200).json()
}

/// The kid printed after "<alg>: new signing key".
fn new_kid(out: &str, alg: &str) -> String {
    let prefix = format!("{alg}: new signing key ");
    let line = out.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("{out}"));
    line.split(';').next().unwrap().to_string()
}

#[test]
fn rotation_keeps_old_tokens_working_and_every_node_follows() {
    let app = TestApp::new();
    let me = app.create(&patient("Rotation"));
    let scope = "launch/patient openid fhirUser patient/Patient.rs offline_access";
    let (client, code, verifier) = patient_code(&app, &me, scope);
    let before = exchange(&app, &client, &code, &verifier).expect(200).json();
    let access0 = before["access_token"].as_str().unwrap().to_string();
    let id0 = before["id_token"].as_str().unwrap().to_string();
    let (es0, rs0) = (kid(&access0), kid(&id0));
    // An operator token signed before the rotation and never used (not in any cache).
    let admin0 = app.admin();
    assert_eq!(kid(&admin0), es0);
    app.get(&format!("/Patient/{me}"), &access0).expect(200);
    // A second node on the same database, started before the rotation.
    let node_b = app.another_node();
    node_b.get(&format!("/Patient/{me}"), &access0).expect(200);

    let out = ok(&bedside(&app, &["keys", "rotate"], None));
    let (es1, rs1) = (new_kid(&out, "ES256"), new_kid(&out, "RS256"));
    assert!(out.contains(&format!("ES256: previous key {es0} retired: in the JWKS and verifying until")), "{out}");
    assert!(out.contains(&format!("RS256: previous key {rs0} retired")), "{out}");
    assert!(out.contains("within 30 seconds") && !out.contains("refused"), "{out}");

    // This node reloads (as it does every 30 s): the JWKS has the old and the new keys, and what it
    // signs from now on carries the new kids.
    app.state.keys.reload().unwrap();
    let published = jwks_kids(&app);
    for k in [&es0, &rs0, &es1, &rs1] {
        assert!(published.contains(k), "{k} not in {published:?}");
    }
    assert_eq!(kid(&app.admin()), es1);
    let refreshed = refresh(&app, &client, &before).expect(200).json();
    let access1 = refreshed["access_token"].as_str().unwrap().to_string();
    assert_eq!(kid(&access1), es1);
    let again = sign_in(&app, &client, scope);
    let id1 = again["id_token"].as_str().unwrap();
    assert_eq!(kid(id1), rs1);
    assert_eq!(verify_id_token(&app, id1, &client)["sub"], "pat");

    // Tokens signed before the rotation still work, and the old id_token still verifies.
    app.get(&format!("/Patient/{me}"), &access0).expect(200);
    app.get("/Patient?_count=1", &admin0).expect(200);
    assert_eq!(verify_id_token(&app, &id0, &client)["sub"], "pat");

    // Node B has not reloaded yet: a token with the new kid makes it reload at once; then it signs
    // with the new key too, and accepts both.
    node_b.get(&format!("/Patient/{me}"), &access1).expect(200);
    assert_eq!(kid(&node_b.admin()), es1);
    node_b.get(&format!("/Patient/{me}"), &access0).expect(200);
    assert_eq!(jwks_kids(&node_b), published);

    // A second rotation retires the current key at once (as after a compromise): after the reload,
    // its tokens are refused on every node, the cached ones included, and it leaves the JWKS.
    let out = ok(&bedside(&app, &["keys", "rotate", "--alg", "es256", "--retire-after", "0s"], None));
    let es2 = new_kid(&out, "ES256");
    assert!(out.contains(&format!("previous key {es1} retired")) && out.contains("are refused"), "{out}");
    assert!(!out.contains("RS256"), "{out}");
    app.state.keys.reload().unwrap();
    node_b.state.keys.reload().unwrap();
    for node in [&app, &node_b] {
        let r = node.get(&format!("/Patient/{me}"), &access1);
        assert_eq!(r.status, 401, "{}", r.text());
        assert!(!jwks_kids(node).contains(&es1));
        assert!(jwks_kids(node).contains(&es0) && jwks_kids(node).contains(&es2));
        // The first key is still within its retire time.
        node.get(&format!("/Patient/{me}"), &access0).expect(200);
    }
    assert_eq!(kid(&app.admin()), es2);
    // Refresh tokens are rows, not signed: they keep working across rotations.
    let r = refresh(&app, &client, &refreshed).expect(200).json();
    assert_eq!(kid(r["access_token"].as_str().unwrap()), es2);

    let list = ok(&bedside(&app, &["keys", "list"], None));
    let status = |k: &str| {
        let line = list.lines().find(|l| l.starts_with(k)).unwrap_or_else(|| panic!("{k}: {list}"));
        line.split_whitespace().nth(2).unwrap().to_string()
    };
    assert_eq!(
        [status(&es0), status(&es1), status(&es2), status(&rs0), status(&rs1)],
        ["retiring", "expired", "active", "retiring", "active"],
        "{list}"
    );
    assert!(list.starts_with("kid") && list.contains("5 key(s)"), "{list}");

    let pruned = ok(&bedside(&app, &["keys", "prune"], None));
    assert!(pruned.contains(&format!("removed 1 key(s) past their retire time: {es1}")), "{pruned}");
    assert!(ok(&bedside(&app, &["keys", "prune"], None)).contains("no key is past its retire time"));
    assert!(ok(&bedside(&app, &["keys", "list"], None)).contains("4 key(s)"));
    drop(node_b);
}

#[test]
fn the_old_key_stays_until_the_longest_token_it_signed_has_expired() {
    let app = TestApp::new();
    // `bedside token` leases the key for its token's lifetime (here a day).
    let day = ok(&bedside(&app, &["token", "--expires-in", "86400", "--base-url", &app.base], None));
    let es0 = kid(day.trim());
    let started = bedside::clock::now_secs();
    let out = ok(&bedside(&app, &["keys", "rotate", "--alg", "ES256"], None));
    assert!(out.contains(&format!("previous key {es0} retired")), "{out}");
    let mut c = app.state.store.conn().unwrap();
    let row = key_rows::all(&mut c).unwrap().into_iter().find(|r| r.kid == es0).unwrap();
    let at = row.retire_at.unwrap();
    assert!(at >= started + 86400 + keys::LEEWAY_SECS as i64, "{at} {started}");
    app.state.keys.reload().unwrap();
    app.get("/Patient?_count=1", day.trim()).expect(200);

    // Errors are one line and a non-zero exit; nothing is rotated.
    let before = key_rows::all(&mut c).unwrap().len();
    one_line_error(&bedside(&app, &["keys", "rotate", "--alg", "HS256"], None), "expected ES256");
    one_line_error(&bedside(&app, &["keys", "rotate", "--retire-after", "soon"], None), "--retire-after");
    assert_eq!(key_rows::all(&mut c).unwrap().len(), before);
}

/// Runs `f` on four threads at once, each with its own connection pool (as four nodes).
fn on_four_nodes<T: Send>(url: &str, f: impl Fn(&mut bedside::store::AnyConnection) -> T + Sync) -> Vec<T> {
    let f = &f;
    let barrier = &std::sync::Barrier::new(4);
    std::thread::scope(|s| {
        let nodes: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(move || {
                    let store = Store::open(url, 1).unwrap();
                    let mut c = store.conn().unwrap();
                    barrier.wait();
                    f(&mut c)
                })
            })
            .collect();
        nodes.into_iter().map(|n| n.join().unwrap()).collect()
    })
}

#[test]
fn nodes_starting_and_rotating_at_once_keep_one_active_key_per_algorithm() {
    let app = TestApp::new();
    let mut c = app.state.store.conn().unwrap();
    diesel::delete(bedside::store::schema::signing_keys::table).execute(&mut *c).unwrap();
    let kids = on_four_nodes(&app.db_url, |c| {
        let keys = KeySet::load_or_create(c).unwrap();
        (keys.es256.kid, keys.rs256.kid)
    });
    assert!(kids.iter().all(|k| *k == kids[0]), "{kids:?}");
    assert_eq!(key_rows::all(&mut c).unwrap().len(), 2);

    let results = on_four_nodes(&app.db_url, |c| keys::rotate(c, "ES256", None));
    let done = results.iter().filter(|r| r.is_ok()).count();
    assert!(done >= 1, "{results:?}");
    for r in &results {
        if let Err(e) = r {
            assert!(e.to_string().contains("another rotation at the same time"), "{e}");
        }
    }
    let rows = key_rows::all(&mut c).unwrap();
    assert_eq!(rows.iter().filter(|r| r.alg == "ES256" && r.retire_at.is_none()).count(), 1);
    assert_eq!(rows.iter().filter(|r| r.alg == "ES256").count(), 1 + done);
}
