//! The walk over a resource: each element checked against its declared type (resources, datatypes and
//! backbone elements recursively, up to [`MAX_DEPTH`] levels; primitives against their R4 format and,
//! for `code`, a required code set), every problem collected as an [`Issue`].

use serde_json::{Map, Value};

use super::codes;
use super::patterns::{calendar_problem, is_base64, is_primitive, Patterns};
use super::{Issue, Table};

/// Deepest JSON object nesting that is validated; anything deeper is reported as an issue.
const MAX_DEPTH: usize = 64;

const OMIT: &str = "is not allowed (omit the element instead)";

pub(super) struct Validator {
    t: &'static Table,
    p: &'static Patterns,
    issues: Vec<Issue>,
}

impl Validator {
    pub(super) fn new(t: &'static Table, p: &'static Patterns) -> Validator {
        Validator { t, p, issues: Vec::new() }
    }

    /// The issues found so far.
    pub(super) fn into_issues(self) -> Vec<Issue> {
        self.issues
    }

    fn issue(&mut self, path: &str, msg: impl std::fmt::Display) {
        let diagnostics = format!("{path}: {msg}");
        self.issues.push(Issue { expression: path.to_string(), diagnostics });
    }

    /// A resource (top level, contained, or in a Bundle entry) at `path`.
    pub(super) fn resource(&mut self, v: &Value, path: &str, depth: usize) {
        let Some(obj) = v.as_object() else {
            return self.issue(path, "a resource must be a JSON object");
        };
        let Some(rt) = obj.get("resourceType").and_then(Value::as_str) else {
            return self.issue(path, "a resource must have a \"resourceType\" string");
        };
        // Every resource type has Resource.implicitRules; datatypes and backbone elements don't.
        match self.t.get(rt) {
            Some(def) if def.contains_key("implicitRules") => self.object(obj, rt, path, depth, true),
            _ => self.issue(path, format!("{} is not a FHIR R4 resource type", show(rt))),
        }
    }

    /// A complex value (resource, datatype or backbone element) of structure `type_key`.
    fn object(&mut self, obj: &Map<String, Value>, type_key: &str, path: &str, depth: usize, is_resource: bool) {
        if depth >= MAX_DEPTH {
            return self.issue(path, format!("content is nested deeper than {MAX_DEPTH} levels"));
        }
        if obj.is_empty() {
            return self.issue(path, format!("empty object {{}} {OMIT}"));
        }
        let Some(def) = self.t.get(type_key) else {
            return self.issue(path, format!("no type information for {type_key}"));
        };
        for (key, val) in obj {
            if is_resource && key == "resourceType" {
                continue;
            }
            let child = format!("{path}.{key}");
            let base = key.strip_prefix('_');
            let Some(decl) = def.get(base.unwrap_or(key)) else {
                self.issue(&child, format!("unknown element {} in {type_key}", show(key)));
                continue;
            };
            let (ty, array) = match decl.strip_suffix("[]") {
                Some(ty) => (ty, true),
                None => (decl.as_str(), false),
            };
            if let Some(base) = base {
                if is_primitive(ty) {
                    self.primitive_element(obj, base, array, &child, depth);
                } else {
                    self.issue(&child, format!("unknown element {} in {type_key}", show(key)));
                }
                continue;
            }
            let codes = match ty {
                "code" => codes::required_codes(&format!("{type_key}.{key}")),
                _ => None,
            };
            match (val, array) {
                (Value::Array(items), true) => {
                    if items.is_empty() {
                        self.issue(&child, format!("empty array [] {OMIT}"));
                    }
                    let ext = obj.get(&format!("_{key}")).and_then(Value::as_array);
                    for (i, item) in items.iter().enumerate() {
                        let has_ext = ext.and_then(|e| e.get(i)).is_some_and(|x| !x.is_null());
                        if item.is_null() && is_primitive(ty) && has_ext {
                            continue; // no value, only extensions in the paired `_key` array
                        }
                        self.value(item, ty, codes, &format!("{child}[{i}]"), depth + 1);
                    }
                }
                (Value::Array(_), false) => self.issue(&child, "must be a single value, not an array"),
                (_, true) => self.issue(&child, "must be an array"),
                (_, false) => self.value(val, ty, codes, &child, depth + 1),
            }
        }
    }

    /// `_key` sibling of primitive element `key` (at `path`): an Element object, or for repeating
    /// elements an array of Element objects / nulls lined up with the `key` array.
    fn primitive_element(&mut self, obj: &Map<String, Value>, key: &str, array: bool, path: &str, depth: usize) {
        let ext = obj.get(&format!("_{key}")).unwrap_or(&Value::Null);
        const ELEMENT: &str = "an object (the primitive's id and extensions)";
        if !array {
            return match ext.as_object() {
                Some(o) => self.object(o, "Element", path, depth + 1, false),
                None => self.issue(path, format!("must be {ELEMENT}")),
            };
        }
        let Some(items) = ext.as_array() else {
            return self.issue(path, "must be an array (lined up with the values array)");
        };
        if items.is_empty() {
            self.issue(path, format!("empty array [] {OMIT}"));
        }
        let values = obj.get(key).and_then(Value::as_array);
        if let Some(values) = values.filter(|v| v.len() != items.len()) {
            let (n, m) = (items.len(), values.len());
            self.issue(path, format!("has {n} entries but {key} has {m}; the arrays must line up"));
        }
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let has_value = values.and_then(|v| v.get(i)).is_some_and(|x| !x.is_null());
            match item {
                Value::Object(o) => self.object(o, "Element", &item_path, depth + 1, false),
                Value::Null if has_value => {}
                Value::Null => self.issue(&item_path, "null is only allowed where the matching value is present"),
                _ => self.issue(&item_path, format!("must be {ELEMENT} or null")),
            }
        }
    }

    fn value(&mut self, v: &Value, ty: &str, codes: Option<&codes::CodeSet>, path: &str, depth: usize) {
        if v.is_null() {
            self.issue(path, format!("null {OMIT}"));
        } else if ty == "Resource" {
            self.resource(v, path, depth);
        } else if is_primitive(ty) {
            self.primitive(v, ty, codes, path);
        } else if let Some(o) = v.as_object() {
            self.object(o, ty, path, depth, false);
        } else {
            self.issue(path, format!("must be a JSON object ({ty})"));
        }
    }

    /// A primitive value of type `ty`: boolean, number or text.
    fn primitive(&mut self, v: &Value, ty: &str, codes: Option<&codes::CodeSet>, path: &str) {
        if ty == "boolean" {
            if !v.is_boolean() {
                let msg = format!("{} is not a valid boolean (expected true or false)", describe(v));
                self.issue(path, msg);
            }
            return;
        }
        if matches!(ty, "integer" | "unsignedInt" | "positiveInt" | "decimal") {
            return self.number(v, ty, path);
        }
        self.text(v, ty, codes, path)
    }

    /// An `integer`, `unsignedInt`, `positiveInt` or `decimal`: a JSON number of that format and range.
    fn number(&mut self, v: &Value, ty: &str, path: &str) {
        let p = self.p;
        let Value::Number(n) = v else {
            return self.issue(path, format!("{} is not a valid {ty} (expected a JSON number)", describe(v)));
        };
        let text = n.to_string(); // as written, with serde_json's arbitrary_precision
        let (min, expected) = match ty {
            "decimal" => (None, "a decimal number"),
            "integer" => (Some(i32::MIN), "a whole number from -2147483648 to 2147483647"),
            "unsignedInt" => (Some(0), "a whole number from 0 to 2147483647"),
            _ => (Some(1), "a whole number from 1 to 2147483647"),
        };
        let ok = match min {
            None => p.decimal.is_match(&text),
            Some(min) => p.integer.is_match(&text) && text.parse::<i32>().is_ok_and(|i| i >= min),
        };
        if !ok {
            self.issue(path, format!("{text} is not a valid {ty} (expected {expected})"));
        }
    }

    /// A string-valued primitive: non-empty, in the format of `ty` (a valid calendar date for the date
    /// types, well-formed XHTML for `xhtml`), and in the required code set `codes` if there is one.
    fn text(&mut self, v: &Value, ty: &str, codes: Option<&codes::CodeSet>, path: &str) {
        let p = self.p;
        let Some(s) = v.as_str() else {
            return self.issue(path, format!("{} is not a valid {ty} (expected a JSON string)", describe(v)));
        };
        if s.is_empty() {
            return self.issue(path, format!("empty string \"\" is not a valid {ty} (omit the element instead)"));
        }
        if ty == "xhtml" {
            if let Err(e) = bedside_model::check_narrative_div(s) {
                return self.issue(path, e.0);
            }
            return;
        }
        const ZONE: &str = "with a timezone Z or +hh:mm/-hh:mm";
        let no_ws = || !s.chars().any(char::is_whitespace);
        #[rustfmt::skip]
        let (ok, expected): (bool, &str) = match ty {
            "date" => (p.date.is_match(s), "YYYY, YYYY-MM or YYYY-MM-DD"),
            "dateTime" => (p.date_time.is_match(s), &format!("YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff] {ZONE}")),
            "instant" => (p.instant.is_match(s), &format!("YYYY-MM-DDThh:mm:ss[.fff] {ZONE}")),
            "time" => (p.time.is_match(s), "hh:mm:ss or hh:mm:ss.fff"),
            "id" => (p.id.is_match(s), "1 to 64 characters from A-Z, a-z, 0-9, '-' and '.'"),
            "code" => (p.code.is_match(s), "no leading or trailing whitespace and only single spaces inside"),
            "uri" | "url" | "canonical" => (no_ws(), "no whitespace"),
            "oid" => (p.oid.is_match(s), "urn:oid: followed by a dotted number such as urn:oid:1.2.3"),
            "uuid" => (p.uuid.is_match(s), "urn:uuid: followed by a lowercase UUID"),
            "base64Binary" => (is_base64(s), "base64 text: A-Z, a-z, 0-9, '+', '/' in groups of 4, '=' padding"),
            _ => (true, ""), // string, markdown, xhtml: any non-empty text
        };
        if !ok {
            return self.issue(path, format!("{} is not a valid {ty} (expected {expected})", show(s)));
        }
        if matches!(ty, "date" | "dateTime" | "instant") {
            if let Some(problem) = calendar_problem(s) {
                return self.issue(path, format!("{} is not a valid {ty} ({problem})", show(s)));
            }
        }
        if let Some(set) = codes.filter(|set| !set.codes.contains(&s)) {
            let list = set.codes.join(", ");
            let msg = format!("{} is not one of {list} (required value set {})", show(s), set.name);
            self.issue(path, msg);
        }
    }
}

/// Shows a string value in a diagnostic: JSON-quoted, long values shortened.
fn show(s: &str) -> String {
    const MAX: usize = 80;
    let quoted = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""));
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => {
            let q = quoted(s.get(..cut).unwrap_or_default());
            let q = q.strip_suffix('"').unwrap_or(&q);
            format!("{q}...\" ({} characters)", s.chars().count())
        }
        None => quoted(s),
    }
}

/// A JSON value in a diagnostic: scalars as written, containers by kind.
fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => show(s),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
        other => other.to_string(),
    }
}
