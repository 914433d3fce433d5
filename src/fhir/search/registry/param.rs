//! A search parameter as it applies to one resource type, and the R4 search parameter types.

use crate::fhir::search::fhirpath::Expr;

/// The R4 search parameter types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamType {
    Number,
    Date,
    String,
    Token,
    Reference,
    Composite,
    Quantity,
    Uri,
    Special,
}

impl ParamType {
    /// From the FHIR code (`"token"`, `"date"`, …).
    pub fn from_code(code: &str) -> Option<ParamType> {
        Some(match code {
            "number" => ParamType::Number,
            "date" => ParamType::Date,
            "string" => ParamType::String,
            "token" => ParamType::Token,
            "reference" => ParamType::Reference,
            "composite" => ParamType::Composite,
            "quantity" => ParamType::Quantity,
            "uri" => ParamType::Uri,
            "special" => ParamType::Special,
            _ => return None,
        })
    }

    /// The FHIR code (`"token"`, `"date"`, …), as used in the CapabilityStatement.
    pub fn as_code(self) -> &'static str {
        match self {
            ParamType::Number => "number",
            ParamType::Date => "date",
            ParamType::String => "string",
            ParamType::Token => "token",
            ParamType::Reference => "reference",
            ParamType::Composite => "composite",
            ParamType::Quantity => "quantity",
            ParamType::Uri => "uri",
            ParamType::Special => "special",
        }
    }
}

/// One part of a composite search parameter, resolved against the registry.
#[derive(Debug, Clone)]
pub struct CompositePart {
    /// The code of the search parameter the part refers to (e.g. `code`, `value-quantity`).
    pub code: String,
    /// That parameter's type: how the part's value is indexed and how its query value is parsed.
    pub kind: ParamType,
    /// The part's expression, relative to each item the composite's own expression selects.
    pub expression: Expr,
}

/// A search parameter as it applies to one resource type.
#[derive(Debug, Clone)]
pub struct SearchParam {
    pub code: String,
    pub url: String,
    pub kind: ParamType,
    /// One sentence (the one for this resource type where the official text covers several types).
    pub description: String,
    /// The parsed FHIRPath for this resource type only: the official expressions list several types joined
    /// by `|`; only the branches that start with this type or `Resource`/`DomainResource` are kept.
    /// `None` when the definition has no expression for this type (not indexable).
    pub expression: Option<Expr>,
    /// The text of those branches, joined by ` | `.
    pub expression_text: String,
    /// Target resource types of a reference parameter (served types only; every served type when
    /// `targets_any_type`).
    pub targets: Vec<String>,
    /// The official definition lets this reference point at any resource type (`Provenance.target`,
    /// `List.item`, …, marked `targetAnyType` in `search-parameters.json`). Such a parameter never makes a
    /// type part of the Patient compartment by itself (see
    /// [`super::Registry::patient_compartment_params`]).
    pub targets_any_type: bool,
    /// Composite parts as in the definition: (definition url, expression).
    pub components: Vec<(String, String)>,
    /// Composite parts resolved: same order as `components`; empty if any part could not be resolved.
    pub composite_parts: Vec<CompositePart>,
    /// Comparators allowed by the definition (`eq`, `ne`, `gt`, …); empty when not stated.
    pub comparators: Vec<String>,
    /// Modifiers listed by the definition; empty when not stated.
    pub modifiers: Vec<String>,
    /// Chain names listed by the definition; empty when not stated.
    pub chains: Vec<String>,
    pub multiple_or: Option<bool>,
    pub multiple_and: Option<bool>,
    /// Why write-time extraction cannot index this parameter correctly for this type (an expression
    /// outside the FHIRPath subset, or one that reaches an element type the parameter's type cannot be
    /// indexed from, checked against `conformance/element-types.json` by
    /// [`crate::fhir::search::registry::typecheck`]). Such a parameter is not indexed, not advertised and refused in
    /// searches, rather than silently wrong.
    pub problem: Option<String>,
    /// Choice alternatives the expression reaches that carry no value of this parameter's type (e.g. a
    /// date parameter over `performedString`): not indexed, so never matched; listed in the docs.
    pub never_matched: Vec<String>,
}

impl SearchParam {
    /// Does write-time extraction produce index rows for this parameter? False for `special` parameters,
    /// parameters without an expression, composites whose parts did not resolve, and parameters with a
    /// [`SearchParam::problem`] (an expression outside the FHIRPath subset, or of the wrong element type).
    pub fn is_indexed(&self) -> bool {
        if self.expression.is_none() || self.problem.is_some() {
            return false;
        }
        match self.kind {
            ParamType::Special => false,
            ParamType::Composite => !self.composite_parts.is_empty(),
            _ => true,
        }
    }

    /// Can clients search with it (and is it advertised)? Indexed, and not composite or special.
    pub fn is_searchable(&self) -> bool {
        self.is_indexed() && !matches!(self.kind, ParamType::Composite | ParamType::Special)
    }
}
