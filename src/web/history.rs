//! "What the app did": the access log on the connected-apps pages. A patient sees every access to
//! their record, per app (also apps they took access back from, and clinicians' apps); a user who is
//! not a patient sees what was done under their own grants. `GET /auth/manage/activity?client=…`
//! pages through one app's accesses (50 a page, newest first) for the signed-in session.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::activity::{line, ActivityLine, ActivityPage, AppActivity};
use super::authorize::Failure;
use super::{self as pages, ConnectedApp, Outcome};
use crate::app::AppState;
use crate::smart::clients::app_names;
use crate::smart::endpoints::form::{db, Form};
use crate::smart::{secrets, users};
use crate::store::audit::{self as log, LogQuery, Owner};
use crate::store::auth as rows;
use crate::store::{AnyConnection, StoreResult};

/// Accesses per app on the connected-apps page, and per page of the activity page.
pub const PER_APP: i64 = 50;

/// Whose accesses a signed-in user sees, and whether the sentences say "your".
pub struct Viewer {
    owner: Owner,
    yours: bool,
}

impl Viewer {
    pub fn of(conn: &mut AnyConnection, username: &str) -> StoreResult<Viewer> {
        let user = rows::find_user(conn, username)?;
        match user.as_ref().and_then(|u| users::patient_of(&u.fhir_user)) {
            Some(p) => Ok(Viewer { owner: Owner::Patient(p.to_string()), yours: true }),
            None => Ok(Viewer { owner: Owner::Grants(log::user_grant_ids(conn, username)?), yours: false }),
        }
    }

    fn lines(
        &self,
        conn: &mut AnyConnection,
        client: &str,
        before: Option<(i64, i64)>,
        limit: i64,
    ) -> StoreResult<Vec<log::AuditRow>> {
        let mut q = LogQuery::new(self.owner.clone(), limit);
        q.client_id = Some(client.to_string());
        q.before = before;
        log::list(conn, &q)
    }

    fn recent(&self, conn: &mut AnyConnection, client: &str) -> StoreResult<Vec<ActivityLine>> {
        let now = crate::clock::now_millis();
        Ok(self.lines(conn, client, None, PER_APP)?.iter().map(|r| line(r, self.yours, now)).collect())
    }
}

fn activity_url(base_url: &str, client: &str, before: Option<(i64, i64)>) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    s.append_pair("client", client);
    if let Some((r, id)) = before {
        s.append_pair("before", &format!("{r}.{id}"));
    }
    format!("{base_url}/auth/manage/activity?{}", s.finish())
}

/// Adds each connected app's recent accesses to the page and lists the other apps that used the
/// record. `apps` are the user's live grants, as listed on the page.
pub fn fill(
    conn: &mut AnyConnection,
    base_url: &str,
    username: &str,
    apps: &mut [ConnectedApp],
) -> StoreResult<Vec<AppActivity>> {
    let viewer = Viewer::of(conn, username)?;
    let mut connected: Vec<String> = Vec::new();
    for app in apps.iter_mut() {
        let client = app.client.clone();
        app.activity = viewer.recent(conn, &client)?;
        app.last_used = app.activity.first().map(|l| l.when.clone());
        app.activity_url = activity_url(base_url, &client, None);
        connected.push(client);
    }
    let others: Vec<String> =
        log::clients_of(conn, &viewer.owner)?.into_iter().filter(|c| !connected.contains(c)).collect();
    let names = app_names(conn, others.iter().cloned())?;
    let mut out = Vec::with_capacity(others.len());
    for client in others {
        out.push(AppActivity {
            name: names.get(&client).cloned().unwrap_or_else(|| client.clone()),
            lines: viewer.recent(conn, &client)?,
            more_url: activity_url(base_url, &client, None),
        });
    }
    Ok(out)
}

/// `before=<recorded>.<id>` of the activity page.
fn parse_before(v: &str) -> Option<(i64, i64)> {
    let (r, id) = v.split_once('.')?;
    Some((r.parse().ok()?, id.parse().ok()?))
}

/// `GET /auth/manage/activity?client=…[&before=…]` — needs the signed-in session of `/auth/manage`.
pub async fn activity(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let form = Form::from_query(req.query_string());
    let client = form.first("client").unwrap_or("").to_string();
    let before = form.first("before").and_then(parse_before);
    let cookie = req.cookie(pages::USER_COOKIE).map(|c| c.value().to_string());
    let st = state.clone();
    let result = db(&state, move |c| -> Result<Outcome, Failure> {
        let manage = format!("{}/auth/manage", st.settings.base_url);
        let now = crate::clock::now_secs();
        let session = match cookie {
            Some(v) => rows::find_session(c, &secrets::hash_token(&v), now)?,
            None => None,
        };
        let Some(username) = session.and_then(|s| s.username) else { return Ok(Outcome::Redirect(manage)) };
        if client.is_empty() {
            return Ok(Outcome::Redirect(manage));
        }
        let viewer = Viewer::of(c, &username)?;
        let mut found = viewer.lines(c, &client, before, PER_APP + 1)?;
        let older = (found.len() as i64 > PER_APP).then(|| {
            found.truncate(PER_APP as usize);
            found.last().map(|r| activity_url(&st.settings.base_url, &client, Some((r.recorded, r.id))))
        });
        let name = app_names(c, [client.clone()])?.remove(&client).unwrap_or_else(|| client.clone());
        let now = crate::clock::now_millis();
        let page = ActivityPage {
            app_name: &name,
            username: &username,
            lines: found.iter().map(|r| line(r, viewer.yours, now)).collect(),
            older_url: older.flatten(),
            back_url: &manage,
        };
        Ok(pages::page(StatusCode::OK, &page))
    })
    .await;
    match result {
        Ok(outcome) => outcome.respond(),
        Err(f) => f.respond(),
    }
}
