//! The result parameters of a search (`_count`, `_sort`, `_include`, `_summary`, …) and the parsed
//! whole: a [`SearchSpec`] is everything needed to run one page of a search.

use super::query::parse_param;
use super::registry::{ParamType, Registry};
use crate::config::{Limits, Settings};
use crate::error::ApiError;
use crate::fhir::guard::restrict;
use crate::smart::access::AccessContext;
use crate::store::search::{Query, SortKey, SortSource, MAX_SORT_KEYS};

/// Parameters that shape the result rather than select resources.
pub const RESULT_PARAMS: &[&str] = &[
    "_count",
    "_cursor",
    "_format",
    "_pretty",
    "_total",
    "_sort",
    "_summary",
    "_elements",
    "_include",
    "_revinclude",
    "_type",
    "_contained",
    "_containedType",
];

pub fn is_result_param(name: &str) -> bool {
    let base = name.split(':').next().unwrap_or(name);
    RESULT_PARAMS.contains(&base)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summary {
    True,
    Text,
    Data,
    Count,
}

/// One `_include` / `_revinclude`: `source:param[:target]`, `*` for every reference parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    pub source_type: String,
    /// None = every reference parameter (`*`).
    pub param: Option<String>,
    pub target_type: Option<String>,
    pub iterate: bool,
}

#[derive(Debug, Clone)]
pub struct SearchSpec {
    pub query: Query,
    pub count: usize,
    /// `_total`: Some(true) counts every match (`accurate`, `estimate`), Some(false) gives no total
    /// (`none`). Without it the Bundle's `total` is given only when it costs nothing: the first page
    /// holds every match.
    pub want_total: Option<bool>,
    pub summary: Option<Summary>,
    pub elements: Option<Vec<String>>,
    pub includes: Vec<Include>,
    pub revincludes: Vec<Include>,
    /// Parameters ignored under `Prefer: handling=lenient`, with the reason.
    pub ignored: Vec<String>,
    /// The parameters actually used (for the `self` link and the cursor fingerprint).
    pub used: Vec<(String, String)>,
    pub cursor: Option<String>,
    /// Most resources `_include`/`_revinclude` add to one page (`--max-included`).
    pub max_included: usize,
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::BadRequest(msg.into())
}

/// How many comma-separated alternatives a value lists (`\,` is not a separator).
fn value_count(value: &str) -> usize {
    let mut n = 1;
    let mut escaped = false;
    for c in value.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => n += 1,
            _ => {}
        }
    }
    n
}

/// How deep a parameter name chains: one level per `.` (forward chain) and per `_has:` (reverse).
fn chain_depth(name: &str) -> usize {
    name.matches('.').count() + name.matches("_has:").count()
}

/// Checks a search against the configured limits before anything is parsed or run, so a search the
/// database could not run (or could run only at great cost) is a 400 that names the limit.
pub fn check_limits(params: &[(String, String)], limits: &Limits) -> Result<(), ApiError> {
    let over = |what: &str, n: usize, limit: usize, flag: &str| {
        bad(format!("{what} ({n}) is over this server's limit of {limit} ({flag})"))
    };
    let mut criteria = 0;
    let mut values = 0;
    let mut includes = 0;
    for (name, value) in params {
        let base = name.split(':').next().unwrap_or(name);
        if base == "_include" || base == "_revinclude" {
            includes += 1;
            if includes > limits.max_include_params {
                return Err(over(
                    "the number of _include and _revinclude parameters",
                    includes,
                    limits.max_include_params,
                    "--max-include-params",
                ));
            }
            continue;
        }
        if is_result_param(name) {
            continue;
        }
        criteria += 1;
        if criteria > limits.max_search_params {
            return Err(over(
                "the number of search parameters",
                criteria,
                limits.max_search_params,
                "--max-search-params",
            ));
        }
        let n = value_count(value);
        if n > limits.max_search_values {
            return Err(over(
                &format!("the number of values of {name}"),
                n,
                limits.max_search_values,
                "--max-search-values",
            ));
        }
        values += n;
        if values > limits.max_search_total_values {
            return Err(over(
                "the number of values in this search",
                values,
                limits.max_search_total_values,
                "--max-search-total-values",
            ));
        }
        let depth = chain_depth(name);
        if depth > limits.max_chain_depth {
            return Err(over(
                &format!("the chain depth of {name}"),
                depth,
                limits.max_chain_depth,
                "--max-chain-depth",
            ));
        }
    }
    Ok(())
}

fn parse_include(value: &str, iterate: bool, rev: bool) -> Result<Include, ApiError> {
    let what = if rev { "_revinclude" } else { "_include" };
    if value == "*" {
        return Err(bad(format!("{what}=* needs a source type, e.g. {what}=Observation:*")));
    }
    let mut parts = value.split(':');
    let source = parts.next().unwrap_or("");
    let param = parts.next().ok_or_else(|| bad(format!("{what}={value}: use Type:parameter[:TargetType]")))?;
    let target = parts.next();
    if !super::super::types::is_supported(source) {
        return Err(bad(format!("{what}={value}: {source} is not a supported resource type")));
    }
    if param != "*" {
        let p = Registry::global()
            .get(source, param)
            .filter(|p| p.kind == ParamType::Reference && p.is_indexed())
            .ok_or_else(|| bad(format!("{what}={value}: {param} is not a reference parameter of {source}")))?;
        if let Some(t) = target {
            if !p.targets.iter().any(|x| x == t) {
                return Err(bad(format!("{what}={value}: {source}.{param} cannot point at {t}")));
            }
        }
    }
    Ok(Include {
        source_type: source.to_string(),
        param: (param != "*").then(|| param.to_string()),
        target_type: target.map(str::to_string),
        iterate,
    })
}

fn sort_key(res_types: &[String], item: &str) -> Result<SortKey, ApiError> {
    let (desc, code) = match item.strip_prefix('-') {
        Some(c) => (true, c),
        None => (false, item),
    };
    let source = match code {
        "_lastUpdated" => SortSource::LastUpdated,
        "_id" => SortSource::Id,
        _ => {
            let mut kind = None;
            for t in res_types {
                let p = Registry::global()
                    .get(t, code)
                    .ok_or_else(|| bad(format!("_sort: {code} is not a search parameter of {t}")))?;
                kind = Some(p.kind);
            }
            match kind {
                Some(ParamType::Date) => SortSource::Date,
                Some(ParamType::String) => SortSource::String,
                Some(ParamType::Token) => SortSource::Token,
                Some(ParamType::Number) => SortSource::Number,
                Some(ParamType::Quantity) => SortSource::Quantity,
                _ => {
                    return Err(bad(format!(
                        "_sort: {code} cannot be sorted on (use date, string, token, number or quantity parameters)"
                    )))
                }
            }
        }
    };
    Ok(SortKey { source, param: code.to_string(), desc })
}

impl SearchSpec {
    /// Parses a search over `res_types` (one type, or several for `_type`).
    pub fn parse(
        res_types: Vec<String>,
        params: &[(String, String)],
        access: &AccessContext,
        settings: &Settings,
        lenient: bool,
    ) -> Result<SearchSpec, ApiError> {
        check_limits(params, &settings.limits)?;
        let mut spec = SearchSpec {
            query: Query { res_types: res_types.clone(), ..Default::default() },
            count: settings.default_count,
            want_total: None,
            summary: None,
            elements: None,
            includes: Vec::new(),
            revincludes: Vec::new(),
            ignored: Vec::new(),
            used: Vec::new(),
            cursor: None,
            max_included: settings.limits.max_included,
        };
        for (name, value) in params {
            let base = name.split(':').next().unwrap_or(name);
            let result: Result<(), ApiError> = (|| {
                match base {
                    "_count" => {
                        spec.count = value
                            .parse::<usize>()
                            .map_err(|_| bad(format!("_count={value} is not a non-negative whole number")))?
                            .min(settings.max_count);
                    }
                    "_cursor" => {
                        spec.cursor = Some(value.clone());
                        return Ok(());
                    }
                    "_format" | "_pretty" | "_type" => {}
                    "_total" => match value.as_str() {
                        "none" => spec.want_total = Some(false),
                        "estimate" | "accurate" => spec.want_total = Some(true),
                        _ => return Err(bad(format!("_total={value}: use none, estimate or accurate"))),
                    },
                    "_summary" => {
                        spec.summary = match value.as_str() {
                            "true" => Some(Summary::True),
                            "text" => Some(Summary::Text),
                            "data" => Some(Summary::Data),
                            "count" => Some(Summary::Count),
                            "false" => None,
                            _ => return Err(bad(format!("_summary={value}: use true, text, data, count or false"))),
                        }
                    }
                    "_elements" => {
                        let list: Vec<String> =
                            value.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
                        if list.is_empty() {
                            return Err(bad("_elements needs at least one element name"));
                        }
                        spec.elements = Some(list);
                    }
                    "_sort" => {
                        for item in value.split(',').filter(|s| !s.is_empty()) {
                            spec.query.sort.push(sort_key(&res_types, item)?);
                        }
                        if spec.query.sort.len() > MAX_SORT_KEYS {
                            return Err(bad(format!("_sort takes at most {MAX_SORT_KEYS} keys")));
                        }
                    }
                    "_include" | "_revinclude" => {
                        let iterate = match name.split_once(':').map(|(_, m)| m) {
                            None => false,
                            Some("iterate") | Some("recurse") => true,
                            Some(m) => return Err(bad(format!("{base}:{m}: the only modifier is :iterate"))),
                        };
                        let inc = parse_include(value, iterate, base == "_revinclude")?;
                        if base == "_include" {
                            spec.includes.push(inc);
                        } else {
                            spec.revincludes.push(inc);
                        }
                    }
                    "_contained" | "_containedType" => {
                        if value != "false" && value != "container" {
                            return Err(bad(format!(
                                "{name}={value} is not supported (contained resources are not searched)"
                            )));
                        }
                    }
                    _ => {
                        let mut alternatives = Vec::new();
                        for t in &res_types {
                            alternatives.push(parse_param(t, name, value)?);
                        }
                        // With several types a common parameter gives the same conditions for each.
                        if let Some(first) = alternatives.into_iter().next() {
                            spec.query.all_of.push(first);
                        }
                    }
                }
                spec.used.push((name.clone(), value.clone()));
                Ok(())
            })();
            if let Err(e) = result {
                match (&e, lenient) {
                    (ApiError::BadRequest(msg), true) => spec.ignored.push(msg.clone()),
                    _ => return Err(e),
                }
            }
        }
        restrict(&mut spec.query, access, crate::smart::scopes::Interaction::Search)?;
        Ok(spec)
    }
}
