//! The access log: every FHIR interaction made with an access token is recorded (who, which app,
//! under which grant, about which patient, what was returned or changed, the outcome), so patients
//! can see what each app read from their record.
//!
//! | module    | concept                                                                     |
//! |-----------|-----------------------------------------------------------------------------|
//! | `capture` | the `/fhir` middleware that turns each finished request into a [`Record`]   |
//! | `writer`  | the bounded queue and the background thread that stores records in batches  |
//! | `retention` | how long records are kept (`audit prune`, `serve --audit-retention`)      |
//! | `cli`     | `bedside audit prune`                                                       |
//!
//! A stored row is shown as an R4 `AuditEvent` by `fhir::audit_event` and served by
//! `fhir::handlers::audit_event`: this module only records. It never looks at tokens: the access-token
//! extractor hands it a [`Caller`] (see `capture::identify`).
//!
//! No record is dropped: a request whose record finds the queue full waits (bounded) and then stores
//! the record itself; batches the database refuses are retried until they land (see `writer`).

pub mod capture;
pub mod retention;
pub mod writer;

pub use writer::AuditLog;

/// At most this many references are kept per record (the total is kept too).
pub const MAX_REFS: usize = 100;

/// The FHIR restful interaction of a record (`http://hl7.org/fhir/restful-interaction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    Read,
    Vread,
    SearchType,
    SearchSystem,
    HistoryInstance,
    HistoryType,
    HistorySystem,
    Operation,
    Create,
    Update,
    Patch,
    Delete,
    Batch,
    Transaction,
}

impl Interaction {
    pub const ALL: [Interaction; 14] = [
        Interaction::Read,
        Interaction::Vread,
        Interaction::SearchType,
        Interaction::SearchSystem,
        Interaction::HistoryInstance,
        Interaction::HistoryType,
        Interaction::HistorySystem,
        Interaction::Operation,
        Interaction::Create,
        Interaction::Update,
        Interaction::Patch,
        Interaction::Delete,
        Interaction::Batch,
        Interaction::Transaction,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Interaction::Read => "read",
            Interaction::Vread => "vread",
            Interaction::SearchType => "search-type",
            Interaction::SearchSystem => "search-system",
            Interaction::HistoryInstance => "history-instance",
            Interaction::HistoryType => "history-type",
            Interaction::HistorySystem => "history-system",
            Interaction::Operation => "operation",
            Interaction::Create => "create",
            Interaction::Update => "update",
            Interaction::Patch => "patch",
            Interaction::Delete => "delete",
            Interaction::Batch => "batch",
            Interaction::Transaction => "transaction",
        }
    }

    pub fn from_code(code: &str) -> Option<Interaction> {
        Interaction::ALL.into_iter().find(|i| i.code() == code)
    }

    /// `AuditEvent.action`: R(ead), C(reate), U(pdate), D(elete), E(xecute: searches and queries,
    /// operations, bundles — as the AuditEvent action value set and IHE BALP use it).
    pub fn action(self) -> &'static str {
        match self {
            Interaction::Read | Interaction::Vread | Interaction::HistoryInstance => "R",
            Interaction::Create => "C",
            Interaction::Update | Interaction::Patch => "U",
            Interaction::Delete => "D",
            Interaction::SearchType
            | Interaction::SearchSystem
            | Interaction::HistoryType
            | Interaction::HistorySystem
            | Interaction::Operation
            | Interaction::Batch
            | Interaction::Transaction => "E",
        }
    }

    /// Is this a query (its request is kept as the query entity of the AuditEvent)?
    pub fn is_query(self) -> bool {
        matches!(
            self,
            Interaction::SearchType
                | Interaction::SearchSystem
                | Interaction::HistoryType
                | Interaction::HistorySystem
                | Interaction::HistoryInstance
                | Interaction::Operation
        )
    }
}

/// The references a request returned or touched: the first [`MAX_REFS`] and how many there were.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refs {
    pub list: Vec<String>,
    pub total: usize,
}

impl Refs {
    pub fn collect<I, S>(refs: I) -> Refs
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut out = Refs::default();
        for r in refs {
            if out.list.len() < MAX_REFS {
                out.list.push(r.into());
            }
            out.total += 1;
        }
        out
    }

    pub fn one(r: String) -> Refs {
        Refs { list: vec![r], total: 1 }
    }
}

/// Who made a request: what the access token says (set by the `AccessContext` extractor).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub client_id: String,
    pub grant_id: Option<String>,
    /// `Patient/1`, `Practitioner/2` (relative).
    pub fhir_user: Option<String>,
    /// The patient a patient-limited token is bound to: every record of such a token is about them.
    pub compartment_patient: Option<String>,
    /// The patient in the token's launch context (user/system tokens): used when the resources
    /// touched do not name one patient.
    pub context_patient: Option<String>,
}

/// One access, as handed to the writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub recorded: i64,
    pub caller: Caller,
    pub interaction: Interaction,
    pub res_type: Option<String>,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub refs: Refs,
}

/// The relative form of a `fhirUser` (`https://x/fhir/Patient/1` → `Patient/1`).
pub fn relative_reference(r: &str) -> String {
    let parts: Vec<&str> = r.trim_end_matches('/').rsplitn(3, '/').collect();
    match parts.as_slice() {
        [id, ty, _] | [id, ty] if ty.chars().next().is_some_and(|c| c.is_ascii_uppercase()) => format!("{ty}/{id}"),
        _ => r.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_refs_are_capped() {
        for i in Interaction::ALL {
            assert_eq!(Interaction::from_code(i.code()), Some(i));
        }
        let r = Refs::collect((0..250).map(|n| format!("Observation/{n}")));
        assert_eq!((r.list.len(), r.total), (MAX_REFS, 250));
        assert_eq!(relative_reference("http://x/fhir/Practitioner/7"), "Practitioner/7");
        assert_eq!(relative_reference("Patient/1"), "Patient/1");
        assert_eq!(relative_reference("odd"), "odd");
    }
}
