//! The operator commands of the authorization server: `bedside user …`, `bedside client …`,
//! `bedside launch`.

use std::io::BufRead;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::CliError;
use crate::config::DbArgs;
use crate::smart::clients::{self, ClientAuth, NewClient};
use crate::smart::launch::{self, NewLaunch};
use crate::store::auth as rows;
use crate::store::Store;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a login for a patient or practitioner (the password is read from standard input).
    Add {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        username: String,
        /// Read the password from the first line of standard input (never from the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// The FHIR resource this user is, e.g. Patient/123 or Practitioner/abc.
        #[arg(long)]
        fhir_user: String,
    },
    /// List the sign-ins: name, FHIR user, created, disabled.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Set a new password (read from the first line of standard input).
    Passwd {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        username: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Refuse this sign-in from now on, and end every grant it gave (its apps' tokens stop at once).
    Disable {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        username: String,
    },
    /// Allow a disabled sign-in again (its apps must ask again).
    Enable {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        username: String,
    },
    /// Remove a sign-in and end every grant it gave (the access log keeps what was done).
    Remove {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        username: String,
    },
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register an app. Prints JSON with its client_id (and client_secret, shown only this once).
    Add(ClientAddArgs),
    /// List the registered apps: id, name, kind, access term, live grants.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Show one app's registration (JSON, without secrets) and its live grants.
    Show {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        client_id: String,
    },
    /// Remove an app: every grant it holds ends and its tokens stop working at once.
    Remove {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        client_id: String,
    },
    /// Replace the scopes an app may be granted (tokens already issued keep theirs until they expire;
    /// refresh and new authorizations get the new set).
    Scope {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        client_id: String,
        /// The scopes, space separated, e.g. 'system/*.rs' for a backend service.
        #[arg(long)]
        scope: String,
    },
    /// Set how long users' approvals of an app last: one-time (hours, no refresh token) or ongoing
    /// (months). Applies to approvals given from now on.
    Term {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        client_id: String,
        #[arg(value_enum)]
        term: crate::smart::grant::AccessTerm,
    },
}

#[derive(Args)]
pub struct ClientAddArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The app's name, shown to users on the consent page.
    #[arg(long)]
    name: String,
    /// An exact redirect URI (repeat for several).
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// A public app (browser or native; PKCE required). The default.
    #[arg(long, group = "auth")]
    public: bool,
    /// A confidential app with a client secret (client_secret_basic or client_secret_post).
    #[arg(long, group = "auth")]
    secret: bool,
    /// A confidential app authenticating with private_key_jwt; keys fetched from this URL.
    #[arg(long, group = "auth")]
    jwks_uri: Option<String>,
    /// A confidential app authenticating with private_key_jwt; keys in this JWKS file.
    #[arg(long, group = "auth")]
    jwks: Option<PathBuf>,
    /// Scopes the app may be granted, space separated; nothing outside them is ever granted. Default
    /// for apps with redirect URIs: patient/*.cruds user/*.cruds openid fhirUser profile launch
    /// launch/patient launch/encounter offline_access online_access. Backend services (--jwks or
    /// --jwks-uri without --redirect-uri) have no default: give their system/ scopes, e.g.
    /// --scope 'system/*.rs'.
    #[arg(long)]
    scope: Option<String>,
    /// How long a user's approval lasts: ongoing (13 months by default, with refresh tokens) or
    /// one-time (10 hours by default, no refresh token).
    #[arg(long, value_enum, default_value_t = crate::smart::grant::AccessTerm::Ongoing)]
    term: crate::smart::grant::AccessTerm,
    /// DEVELOPMENT ONLY: accept a plain-http or loopback --jwks-uri (the server fetches it only when
    /// started with the same flag).
    #[arg(long, env = "BEDSIDE_DEV_INSECURE_JWKS_URI")]
    dev_insecure_jwks_uri: bool,
}

#[derive(Args)]
pub struct LaunchArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The patient open in the EHR.
    #[arg(long)]
    patient: Option<String>,
    /// The encounter open in the EHR.
    #[arg(long)]
    encounter: Option<String>,
    /// The EHR user (e.g. Practitioner/123): only they can complete the launch.
    #[arg(long)]
    user: Option<String>,
    /// The launch intent passed to the app (e.g. reconcile-medications).
    #[arg(long)]
    intent: Option<String>,
    /// Ask the app to show a patient banner (the EHR does not).
    #[arg(long)]
    need_patient_banner: bool,
}

fn open(db: &DbArgs) -> Result<Store, CliError> {
    Ok(Store::open(&db.url(), 1)?)
}

fn read_password() -> Result<String, CliError> {
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .map_err(|e| CliError::Invalid(format!("cannot read the password: {e}")))?;
    Ok(password.trim_end_matches(['\r', '\n']).to_string())
}

pub fn user(cmd: UserCommand) -> Result<(), CliError> {
    let no_user = |u: &str| CliError::NotFound(format!("no user {u:?}"));
    match cmd {
        UserCommand::List { db } => {
            let mut conn = open(&db)?.conn()?;
            let users = rows::list_users(&mut conn)?;
            println!("{:<24} {:<40} {:<10} status", "username", "fhir user", "created");
            for u in &users {
                let status = if u.disabled { "disabled" } else { "active" };
                println!("{:<24} {:<40} {:<10} {status}", u.username, u.fhir_user, crate::clock::day_of(u.created_at));
            }
            println!("{} user(s)", users.len());
            Ok(())
        }
        UserCommand::Passwd { db, username, password_stdin: _ } => {
            let password = read_password()?;
            let mut conn = open(&db)?.conn()?;
            if !crate::smart::users::set_password(&mut conn, &username, &password)? {
                return Err(no_user(&username));
            }
            println!("password of {username} changed");
            Ok(())
        }
        UserCommand::Disable { db, username } => {
            let mut conn = open(&db)?.conn()?;
            let ended = rows::set_user_disabled(&mut conn, &username, true, crate::clock::now_secs())?
                .ok_or_else(|| no_user(&username))?;
            println!("{username} disabled: sign-in refused; {ended} grant(s) ended");
            Ok(())
        }
        UserCommand::Enable { db, username } => {
            let mut conn = open(&db)?.conn()?;
            rows::set_user_disabled(&mut conn, &username, false, crate::clock::now_secs())?
                .ok_or_else(|| no_user(&username))?;
            println!("{username} enabled: sign-in allowed again");
            Ok(())
        }
        UserCommand::Remove { db, username } => {
            let mut conn = open(&db)?.conn()?;
            let ended =
                rows::remove_user(&mut conn, &username, crate::clock::now_secs())?.ok_or_else(|| no_user(&username))?;
            println!("{username} removed; {ended} grant(s) ended");
            Ok(())
        }
        UserCommand::Add { db, username, password_stdin: _, fhir_user } => {
            let password = read_password()?;
            let store = open(&db)?;
            let mut conn = store.conn()?;
            let row = crate::smart::users::add(&mut conn, &username, &password, &fhir_user)?;
            println!("added user {} ({})", row.username, row.fhir_user);
            Ok(())
        }
    }
}

pub fn client(cmd: ClientCommand) -> Result<(), CliError> {
    let no_client = |c: &str| CliError::NotFound(format!("no client {c:?}"));
    let a = match cmd {
        ClientCommand::Add(a) => a,
        ClientCommand::List { db } => {
            let mut conn = open(&db)?.conn()?;
            let all = rows::list_clients(&mut conn)?;
            println!("{:<34} {:<28} {:<20} {:<9} {:<10} live grants", "client_id", "name", "kind", "term", "created");
            for c in &all {
                let live = rows::live_grants_of_client(&mut conn, &c.client_id, crate::clock::now_secs())?;
                let name: String = c.name.chars().take(28).collect();
                println!(
                    "{:<34} {:<28} {:<20} {:<9} {:<10} {live}",
                    c.client_id,
                    name,
                    c.client_type,
                    c.access_term,
                    crate::clock::day_of(c.created_at)
                );
            }
            println!("{} client(s)", all.len());
            return Ok(());
        }
        ClientCommand::Show { db, client_id } => {
            let mut conn = open(&db)?.conn()?;
            let row = rows::find_client(&mut conn, &client_id)?.ok_or_else(|| no_client(&client_id))?;
            let live = rows::live_grants_of_client(&mut conn, &client_id, crate::clock::now_secs())?;
            let mut v = clients::describe(&clients::Registered { row, client_secret: None })?;
            v["bedside_live_grants"] = serde_json::json!(live);
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            return Ok(());
        }
        ClientCommand::Remove { db, client_id } => {
            let mut conn = open(&db)?.conn()?;
            let live = rows::remove_client(&mut conn, &client_id, crate::clock::now_secs())?
                .ok_or_else(|| no_client(&client_id))?;
            println!("client {client_id} removed; {live} live grant(s) ended, their tokens no longer work");
            return Ok(());
        }
        ClientCommand::Scope { db, client_id, scope } => {
            let scope = clients::check_scope_set(&scope)?;
            let store = open(&db)?;
            let mut conn = store.conn()?;
            if !crate::store::auth::set_client_scope(&mut conn, &client_id, &scope)? {
                return Err(no_client(&client_id));
            }
            println!("client {client_id} may now be granted: {scope}");
            return Ok(());
        }
        ClientCommand::Term { db, client_id, term } => {
            let store = open(&db)?;
            let mut conn = store.conn()?;
            if !crate::store::auth::set_client_term(&mut conn, &client_id, term.as_str())? {
                return Err(no_client(&client_id));
            }
            println!("client {client_id}: approvals given from now on are {}", term.as_str());
            return Ok(());
        }
    };
    let auth = match (a.public, a.secret, a.jwks_uri, a.jwks) {
        (_, true, _, _) => ClientAuth::Secret,
        (_, _, Some(u), _) => {
            let policy = crate::smart::jwks_uri::Policy { dev_insecure: a.dev_insecure_jwks_uri };
            crate::smart::jwks_uri::check_for_registration(&u, policy)
                .map_err(|e| CliError::Invalid(format!("--jwks-uri {u:?}: {e}")))?;
            ClientAuth::JwksUri(u)
        }
        (_, _, _, Some(path)) => ClientAuth::Jwks(
            std::fs::read_to_string(&path)
                .map_err(|e| CliError::Invalid(format!("cannot read {}: {e}", path.display())))?,
        ),
        _ => ClientAuth::Public,
    };
    let store = open(&a.db)?;
    let mut conn = store.conn()?;
    let reg = clients::register(
        &mut conn,
        NewClient {
            name: a.name,
            redirect_uris: a.redirect_uris,
            auth,
            scope: a.scope.unwrap_or_default(),
            term: a.term,
        },
    )?;
    println!("{}", serde_json::to_string_pretty(&clients::describe(&reg)?).unwrap_or_default());
    Ok(())
}

pub fn launch(a: LaunchArgs) -> Result<(), CliError> {
    let store = open(&a.db)?;
    let mut conn = store.conn()?;
    let new = NewLaunch {
        patient: a.patient,
        encounter: a.encounter,
        user: a.user,
        intent: a.intent,
        need_patient_banner: Some(a.need_patient_banner),
        smart_style_url: None,
    };
    let value = launch::create(&mut conn, &new, "bedside-cli", crate::fhir::service::exists)?;
    println!("launch context stored; valid for {} seconds. Launch value:", launch::LAUNCH_LIFETIME_SECS);
    println!("{value}");
    Ok(())
}
