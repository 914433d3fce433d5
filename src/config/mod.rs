//! Settings, read once from the command line and `BEDSIDE_*` environment variables (flags win), then
//! passed into the app through `web::Data` — never a global. A malformed value is an error, not a
//! silent default.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;
use ipnet::IpNet;

mod terms;

pub use terms::{AccessTerm, GrantTerms};

/// The scopes an app registered without naming its own may be granted (the default of
/// `--dcr-scopes` and of `bedside client add`): patient/ and user/ scopes (each user still consents,
/// and sees no more than their own access allows), identity, launch context and refresh. Never
/// system/: backend services get those only from the operator, explicitly (`bedside client add
/// --scope 'system/…'`).
pub const DEFAULT_APP_SCOPES: &str = "patient/*.cruds user/*.cruds openid fhirUser profile launch launch/patient \
     launch/encounter offline_access online_access";

/// Access records waiting to be written, per node (the default of `--audit-queue`).
pub const AUDIT_QUEUE_CAPACITY: usize = 8192;

/// Options shared by every command that opens the database.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Folder for the SQLite database and other local state.
    #[arg(long, env = "BEDSIDE_DATA_DIR", default_value = "bedside-data")]
    pub data_dir: PathBuf,
    /// Database URL: a SQLite file path (default: <data-dir>/bedside.db) or postgres://user@host/db.
    #[arg(long, env = "BEDSIDE_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl DbArgs {
    pub fn url(&self) -> String {
        match &self.database_url {
            Some(u) => u.clone(),
            None => self.data_dir.join("bedside.db").to_string_lossy().into_owned(),
        }
    }
}

/// `bedside serve` options.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Address and port to listen on.
    #[arg(long, env = "BEDSIDE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Public URL of this server as clients see it (the FHIR base is <base-url>/fhir).
    /// Default: http://<listen>.
    #[arg(long, env = "BEDSIDE_BASE_URL")]
    pub base_url: Option<String>,
    /// Seed the synthetic demo data set (once) and print how to use it.
    #[arg(long, env = "BEDSIDE_DEMO")]
    pub demo: bool,
    /// Largest request body accepted, in bytes (larger → 413).
    #[arg(long, env = "BEDSIDE_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Page size when a search gives no _count.
    #[arg(long, env = "BEDSIDE_DEFAULT_COUNT", default_value_t = 50)]
    pub default_count: usize,
    /// Largest _count honoured.
    #[arg(long, env = "BEDSIDE_MAX_COUNT", default_value_t = 1000)]
    pub max_count: usize,
    /// Lifetime of access tokens issued by the server, in seconds.
    #[arg(long, env = "BEDSIDE_TOKEN_LIFETIME", default_value_t = 3600)]
    pub token_lifetime: u64,
    /// Database connections per node.
    #[arg(long, env = "BEDSIDE_POOL_SIZE", default_value_t = 8)]
    pub pool_size: u32,
    /// Worker threads (default: one per core).
    #[arg(long, env = "BEDSIDE_WORKERS")]
    pub workers: Option<usize>,
    /// Accept OAuth Dynamic Client Registration (RFC 7591) at /auth/register from anyone.
    #[arg(long, env = "BEDSIDE_ENABLE_DCR")]
    pub enable_dcr: bool,
    /// Scopes a dynamically registered client may be registered for (space separated; a registration
    /// asking for more is refused). Never put system/ scopes here unless anyone on the network may
    /// read everything.
    #[arg(long, env = "BEDSIDE_DCR_SCOPES", default_value = DEFAULT_APP_SCOPES)]
    pub dcr_scopes: String,
    /// How long a dynamically registered app's approvals last: one-time (hours, no refresh token) or
    /// ongoing (months).
    #[arg(long, env = "BEDSIDE_DCR_ACCESS_TERM", value_enum, default_value_t = AccessTerm::Ongoing)]
    pub dcr_access_term: AccessTerm,
    /// Hours a user's approval of a one-time app lasts (no refresh token is issued).
    #[arg(long, env = "BEDSIDE_ONE_TIME_HOURS", default_value_t = 10)]
    pub one_time_hours: u32,
    /// Months a user's approval of an ongoing app lasts; then the app must ask again.
    #[arg(long, env = "BEDSIDE_ONGOING_MONTHS", default_value_t = 13)]
    pub ongoing_months: u32,
    /// Requests per second allowed per grant (one user's authorization of one app; by IP address
    /// without a valid token); over it requests get 429 with Retry-After. 0 turns the limit off.
    /// Each node counts on its own.
    #[arg(long, env = "BEDSIDE_RATE_LIMIT", default_value_t = 200)]
    pub rate_limit: u64,
    /// Requests a grant (or address) may make at once above the steady rate.
    #[arg(long, env = "BEDSIDE_RATE_BURST", default_value_t = 1000)]
    pub rate_burst: u32,
    /// A reverse proxy (address or CIDR network; repeat, or comma separated in the env variable)
    /// whose X-Forwarded-For is believed when rate limiting by address. Off by default: the header
    /// is ignored unless the TCP peer is one of these.
    #[arg(long = "trusted-proxy", env = "BEDSIDE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// DEVELOPMENT ONLY, NEVER IN PRODUCTION: let private_key_jwt clients' jwks_uri use plain http and
    /// point at this machine (loopback). Other private, link-local and special addresses stay refused.
    #[arg(long, env = "BEDSIDE_DEV_INSECURE_JWKS_URI")]
    pub dev_insecure_jwks_uri: bool,
    /// Access records queued per node for the background writer; when it is full, requests wait
    /// briefly and then store their record themselves (nothing is dropped).
    #[arg(long, env = "BEDSIDE_AUDIT_QUEUE", default_value_t = AUDIT_QUEUE_CAPACITY)]
    pub audit_queue: usize,
    /// Remove access records older than this age automatically (e.g. 2190d for six years), at start
    /// and then hourly. Default: keep them forever (prune by hand with `bedside audit prune`).
    #[arg(long, env = "BEDSIDE_AUDIT_RETENTION")]
    pub audit_retention: Option<String>,
    /// Folder for Bulk Data export files (default: <data-dir>/exports). Ignored with --export-store.
    #[arg(long, env = "BEDSIDE_EXPORT_DIR")]
    pub export_dir: Option<PathBuf>,
    /// Object storage for export files shared by several nodes: s3://bucket/prefix (S3 or compatible;
    /// credentials, region and endpoint from the standard AWS_* variables).
    #[arg(long, env = "BEDSIDE_EXPORT_STORE")]
    pub export_store: Option<String>,
    /// How long finished export jobs and their files are kept (e.g. 24h, 7d).
    #[arg(long, env = "BEDSIDE_EXPORT_RETENTION", default_value = "24h")]
    pub export_retention: String,
    /// Size at which an export file is closed and the next part begun, in bytes.
    #[arg(long, env = "BEDSIDE_EXPORT_PART_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub export_part_bytes: usize,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Limits on what one request may ask of the server (docs/limits.md). A request over a limit gets a
/// 4xx OperationOutcome that names the limit, never a 500.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Largest POST _search form body, in bytes (larger → 413).
    #[arg(long, env = "BEDSIDE_MAX_FORM_BYTES", default_value_t = 1024 * 1024)]
    pub max_form_bytes: usize,
    /// Most values (comma-separated alternatives) one search parameter may list (more → 400).
    #[arg(long, env = "BEDSIDE_MAX_SEARCH_VALUES", default_value_t = 100)]
    pub max_search_values: usize,
    /// Most search parameters (criteria, each repetition counted) one search may give (more → 400).
    #[arg(long, env = "BEDSIDE_MAX_SEARCH_PARAMS", default_value_t = 50)]
    pub max_search_params: usize,
    /// Most values in all the criteria of one search together (more → 400).
    #[arg(long, env = "BEDSIDE_MAX_SEARCH_TOTAL_VALUES", default_value_t = 1000)]
    pub max_search_total_values: usize,
    /// Most _include and _revinclude parameters one search may give (more → 400).
    #[arg(long, env = "BEDSIDE_MAX_INCLUDE_PARAMS", default_value_t = 10)]
    pub max_include_params: usize,
    /// Most resources _include/_revinclude add to one page; past it the page carries a warning
    /// OperationOutcome that names the limit.
    #[arg(long, env = "BEDSIDE_MAX_INCLUDED", default_value_t = 1000)]
    pub max_included: usize,
    /// Deepest chain (subject:Patient.name) or reverse chain (_has) in a search parameter, 1-8.
    #[arg(long, env = "BEDSIDE_MAX_CHAIN_DEPTH", default_value_t = 3)]
    pub max_chain_depth: usize,
    /// Most operations in one JSON Patch (more → 400).
    #[arg(long, env = "BEDSIDE_MAX_PATCH_OPERATIONS", default_value_t = 1000)]
    pub max_patch_operations: usize,
    /// Most entries in one batch or transaction Bundle (more → 413).
    #[arg(long, env = "BEDSIDE_MAX_BUNDLE_ENTRIES", default_value_t = 1000)]
    pub max_bundle_entries: usize,
}

/// The hard ceiling of `--max-chain-depth` (each level nests a subquery).
pub const MAX_CHAIN_DEPTH: usize = 8;

/// The limits of [`LimitArgs`], checked.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_form_bytes: usize,
    pub max_search_values: usize,
    pub max_search_params: usize,
    pub max_search_total_values: usize,
    pub max_include_params: usize,
    pub max_included: usize,
    pub max_chain_depth: usize,
    pub max_patch_operations: usize,
    pub max_bundle_entries: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_form_bytes: 1024 * 1024,
            max_search_values: 100,
            max_search_params: 50,
            max_search_total_values: 1000,
            max_include_params: 10,
            max_included: 1000,
            max_chain_depth: 3,
            max_patch_operations: 1000,
            max_bundle_entries: 1000,
        }
    }
}

impl Limits {
    pub fn from_args(a: &LimitArgs) -> Result<Limits, String> {
        let positive = [
            ("--max-form-bytes", a.max_form_bytes),
            ("--max-search-values", a.max_search_values),
            ("--max-search-params", a.max_search_params),
            ("--max-search-total-values", a.max_search_total_values),
            ("--max-include-params", a.max_include_params),
            ("--max-included", a.max_included),
            ("--max-chain-depth", a.max_chain_depth),
            ("--max-patch-operations", a.max_patch_operations),
            ("--max-bundle-entries", a.max_bundle_entries),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{name} must be at least 1"));
        }
        if a.max_chain_depth > MAX_CHAIN_DEPTH {
            return Err(format!("--max-chain-depth must be between 1 and {MAX_CHAIN_DEPTH}"));
        }
        Ok(Limits {
            max_form_bytes: a.max_form_bytes,
            max_search_values: a.max_search_values,
            max_search_params: a.max_search_params,
            max_search_total_values: a.max_search_total_values,
            max_include_params: a.max_include_params,
            max_included: a.max_included,
            max_chain_depth: a.max_chain_depth,
            max_patch_operations: a.max_patch_operations,
            max_bundle_entries: a.max_bundle_entries,
        })
    }
}

/// What the running app needs to know, derived from [`ServeArgs`].
/// Bulk Data `$export`: where files go, how long they stay, and this node's worker.
#[derive(Debug, Clone)]
pub struct ExportSettings {
    /// A folder, or `s3://bucket/prefix`.
    pub store: String,
    /// Finished jobs and their files are removed this long after they finish.
    pub retention: std::time::Duration,
    /// An NDJSON file is closed once it holds this many bytes.
    pub part_bytes: usize,
    /// Run an export worker on this node (`serve` does; commands such as `import` do not).
    pub worker: bool,
    /// How often an idle worker looks for jobs.
    pub poll: std::time::Duration,
    /// How long a worker holds a job without renewing its lease (renewed before every batch).
    pub lease: std::time::Duration,
}

impl ExportSettings {
    fn defaults(store: String) -> ExportSettings {
        ExportSettings {
            store,
            retention: std::time::Duration::from_secs(24 * 3600),
            part_bytes: 8 * 1024 * 1024,
            worker: false,
            poll: std::time::Duration::from_secs(2),
            lease: std::time::Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Public base URL without trailing slash, e.g. `http://127.0.0.1:8080`.
    pub base_url: String,
    pub max_body_bytes: usize,
    pub default_count: usize,
    pub max_count: usize,
    pub token_lifetime: u64,
    /// Dynamic Client Registration (RFC 7591) is open.
    pub enable_dcr: bool,
    /// Requests per second per client (0: no limit) and the burst allowed above it.
    pub rate_limit: u64,
    pub rate_burst: u32,
    /// Proxies whose X-Forwarded-For is believed (none: the header is ignored).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// What Dynamic Client Registration may register a client for.
    pub dcr_scopes: String,
    /// The access term of dynamically registered clients.
    pub dcr_access_term: AccessTerm,
    /// How long approvals last, per access term.
    pub grant_terms: GrantTerms,
    /// Development only: http and loopback jwks_uri allowed.
    pub dev_insecure_jwks_uri: bool,
    /// Capacity of this node's access-log queue.
    pub audit_queue: usize,
    /// Access records older than this are removed automatically (None: kept forever).
    pub audit_retention: Option<std::time::Duration>,
    /// What one request may ask of the server.
    pub limits: Limits,
    /// Bulk Data `$export`.
    pub export: ExportSettings,
    /// `serve --demo`: the sample patient app is served at `/apps/sample/`.
    pub demo: bool,
}

impl Settings {
    pub fn from_args(args: &ServeArgs) -> Result<Settings, String> {
        let base_url = match &args.base_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{}", args.listen),
        };
        url::Url::parse(&base_url).map_err(|e| format!("--base-url {base_url:?} is not a URL: {e}"))?;
        if args.default_count == 0 || args.max_count == 0 || args.default_count > args.max_count {
            return Err("--default-count must be between 1 and --max-count".into());
        }
        if args.audit_queue == 0 {
            return Err("--audit-queue must be at least 1".into());
        }
        let audit_retention = match &args.audit_retention {
            None => None,
            Some(text) => match humantime::parse_duration(text.trim()) {
                Ok(d) if d >= std::time::Duration::from_secs(3600) => Some(d),
                Ok(_) => return Err(format!("--audit-retention {text:?}: keep access records for an hour at least")),
                Err(e) => {
                    return Err(format!("--audit-retention {text:?}: expected an age such as 2190d or 52w ({e})"))
                }
            },
        };
        let mut export = ExportSettings::defaults(match &args.export_store {
            Some(s) => s.clone(),
            None => args
                .export_dir
                .clone()
                .unwrap_or_else(|| args.db.data_dir.join("exports"))
                .to_string_lossy()
                .into_owned(),
        });
        export.retention = match humantime::parse_duration(args.export_retention.trim()) {
            Ok(d) if d >= std::time::Duration::from_secs(60) => d,
            Ok(_) => {
                return Err(format!(
                    "--export-retention {:?}: keep export files a minute at least",
                    args.export_retention
                ))
            }
            Err(e) => {
                return Err(format!(
                    "--export-retention {:?}: expected an age such as 24h or 7d ({e})",
                    args.export_retention
                ))
            }
        };
        if args.export_part_bytes < 64 * 1024 {
            return Err("--export-part-bytes must be at least 65536".into());
        }
        export.part_bytes = args.export_part_bytes;
        export.worker = true;
        Ok(Settings {
            base_url,
            max_body_bytes: args.max_body_bytes,
            default_count: args.default_count,
            max_count: args.max_count,
            token_lifetime: args.token_lifetime,
            enable_dcr: args.enable_dcr,
            rate_limit: args.rate_limit,
            rate_burst: args.rate_burst.max(1),
            trusted_proxies: args
                .trusted_proxies
                .iter()
                .filter(|p| !p.trim().is_empty())
                .map(|p| parse_proxy(p))
                .collect::<Result<_, _>>()?,
            dcr_scopes: args.dcr_scopes.clone(),
            dcr_access_term: args.dcr_access_term,
            grant_terms: GrantTerms::new(args.one_time_hours, args.ongoing_months)?,
            dev_insecure_jwks_uri: args.dev_insecure_jwks_uri,
            audit_queue: args.audit_queue,
            audit_retention,
            limits: Limits::from_args(&args.limits)?,
            export,
            demo: args.demo,
        })
    }

    /// For tests and tools: defaults with the given base URL.
    pub fn for_base(base_url: &str) -> Settings {
        Settings {
            base_url: base_url.trim_end_matches('/').to_string(),
            max_body_bytes: 16 * 1024 * 1024,
            default_count: 50,
            max_count: 1000,
            token_lifetime: 3600,
            enable_dcr: false,
            rate_limit: 0,
            rate_burst: 1,
            trusted_proxies: Vec::new(),
            dcr_scopes: DEFAULT_APP_SCOPES.to_string(),
            dcr_access_term: AccessTerm::Ongoing,
            grant_terms: GrantTerms::default(),
            dev_insecure_jwks_uri: false,
            audit_queue: AUDIT_QUEUE_CAPACITY,
            audit_retention: None,
            limits: Limits::default(),
            export: ExportSettings::defaults(
                std::env::temp_dir().join("bedside-exports").to_string_lossy().into_owned(),
            ),
            demo: false,
        }
    }

    /// The FHIR base URL (`<base>/fhir`), which is also every access token's audience.
    pub fn fhir_base(&self) -> String {
        format!("{}/fhir", self.base_url)
    }

    /// The OAuth token endpoint (also the `aud` of client assertions).
    pub fn token_url(&self) -> String {
        format!("{}/auth/token", self.base_url)
    }
}

/// Parses a `--trusted-proxy` value: an address or a CIDR network.
pub fn parse_proxy(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map(|n| match n {
            IpNet::V6(v6) if v6.prefix_len() == 128 => IpNet::from(canonical_ip(IpAddr::V6(v6.addr()))),
            n => n.trunc(),
        })
        .map_err(|_| format!("--trusted-proxy {s:?} is not an IP address or CIDR network"))
}

/// IPv4-mapped IPv6 addresses are their IPv4 address.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}
