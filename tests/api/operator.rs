//! The operator commands a deployment needs: `bedside client list|show|remove`, `bedside user
//! list|passwd|disable|enable|remove`. Each prints what it did; errors are one line and a non-zero exit.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::smart_support::*;
use crate::support::{patient, TestApp};

pub fn bedside(app: &TestApp, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bedside"));
    cmd.args(args).args(["--database-url", &app.db_url]).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().expect("run bedside");
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

pub fn ok(out: &Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[track_caller]
pub fn one_line_error(out: &Output, wanted: &str) {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains(wanted), "{err}");
}

#[test]
fn removing_a_client_ends_its_grants_and_tokens() {
    let app = TestApp::new();
    let me = app.create(&patient("Operator"));
    let (client, code, verifier) = patient_code(&app, &me, "launch/patient patient/Patient.rs offline_access");
    let t = exchange(&app, &client, &code, &verifier).expect(200).json();
    let at = t["access_token"].as_str().unwrap();
    app.get(&format!("/Patient/{me}"), at).expect(200);

    let list = ok(&bedside(&app, &["client", "list"], None));
    assert!(list.contains(&client) && list.contains("Test App") && list.contains("ongoing"), "{list}");
    let show: serde_json::Value =
        serde_json::from_str(&ok(&bedside(&app, &["client", "show", "--client-id", &client], None))).unwrap();
    assert_eq!(show["client_id"], client.as_str());
    assert_eq!(show["bedside_live_grants"], 1);
    assert!(show.get("client_secret").is_none());

    let removed = ok(&bedside(&app, &["client", "remove", "--client-id", &client], None));
    assert!(removed.contains("removed") && removed.contains("1 live grant"), "{removed}");
    app.get(&format!("/Patient/{me}"), at).expect(401);
    let r = refresh(&app, &client, &t);
    assert!(r.status == 400 || r.status == 401, "{}", r.text());
    one_line_error(&bedside(&app, &["client", "show", "--client-id", &client], None), "no client");
    one_line_error(&bedside(&app, &["client", "remove", "--client-id", "nope"], None), "no client");
}

#[test]
fn users_are_listed_disabled_enabled_changed_and_removed() {
    let app = TestApp::new();
    let me = app.create(&patient("Signin"));
    let (client, code, verifier) = patient_code(&app, &me, "launch/patient patient/Patient.rs");
    let at = exchange(&app, &client, &code, &verifier).expect(200).json()["access_token"].as_str().unwrap().to_string();
    let list = ok(&bedside(&app, &["user", "list"], None));
    assert!(list.contains("pat") && list.contains(&format!("Patient/{me}")) && list.contains("active"), "{list}");

    // Disabled: the sign-in fails and the grant it gave ends at once.
    let out = ok(&bedside(&app, &["user", "disable", "--username", "pat"], None));
    assert!(out.contains("1 grant(s) ended"), "{out}");
    app.get(&format!("/Patient/{me}"), &at).expect(401);
    let mut c = app.state.store.conn().unwrap();
    assert!(bedside::smart::users::check_login(&mut c, "pat", PASSWORD).unwrap().is_none());
    assert!(ok(&bedside(&app, &["user", "list"], None)).contains("disabled"));
    ok(&bedside(&app, &["user", "enable", "--username", "pat"], None));
    assert!(bedside::smart::users::check_login(&mut c, "pat", PASSWORD).unwrap().is_some());

    // A new password from standard input; a short one is refused in one line.
    ok(&bedside(&app, &["user", "passwd", "--username", "pat", "--password-stdin"], Some("a much longer secret\n")));
    assert!(bedside::smart::users::check_login(&mut c, "pat", PASSWORD).unwrap().is_none());
    assert!(bedside::smart::users::check_login(&mut c, "pat", "a much longer secret").unwrap().is_some());
    one_line_error(
        &bedside(&app, &["user", "passwd", "--username", "pat", "--password-stdin"], Some("short\n")),
        "8 characters",
    );
    one_line_error(
        &bedside(&app, &["user", "passwd", "--username", "ghost", "--password-stdin"], Some("long enough pw\n")),
        "no user",
    );

    let out = ok(&bedside(&app, &["user", "remove", "--username", "pat"], None));
    assert!(out.contains("removed"), "{out}");
    assert!(!ok(&bedside(&app, &["user", "list"], None)).contains(&format!("Patient/{me}")));
    one_line_error(&bedside(&app, &["user", "disable", "--username", "pat"], None), "no user");
}
