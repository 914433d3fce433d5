//! A FHIRPath subset: what the R4 search-parameter expressions of the served types use, evaluated over
//! `serde_json::Value` (FHIR JSON).
//!
//! Supported: paths with child navigation that flattens arrays, choice elements (`Observation.value` finds
//! `valueQuantity`, `valueCodeableConcept`, …, and remembers the type suffix as a type hint), a leading type
//! name (`Observation.code`, `Resource.id`), `as`/`is` operators and `as()`/`ofType()`/`is()` functions
//! (FHIR type names compare case-insensitively, and `Quantity` also matches `Age`, `Duration`, …),
//! `where(...)`, `resolve() is T` (from the reference text or `Reference.type`), `exists()`, `empty()`,
//! `not()`, `first()`, `last()`, `extension('url')`, `[n]`, `|`, `and`/`or`/`xor`, `=`/`!=`, string,
//! boolean and number literals, `$this` and parentheses.
//!
//! Everything else parses (so every official expression can be loaded) into [`Expr::Unsupported`], which
//! evaluates to the empty collection. Evaluation never panics.
//!
//! | module     | concept                                                                      |
//! |------------|------------------------------------------------------------------------------|
//! | this file  | the syntax tree ([`Expr`]) and the result items ([`Item`])                   |
//! | `lexer`    | text → tokens                                                                |
//! | `parser`   | tokens → [`Expr`] ([`parse`]), with a nesting limit                          |
//! | `eval`     | [`Expr`] over a resource → items ([`evaluate`], [`evaluate_on`])             |
//! | `navigate` | child navigation (arrays, choice elements) and the FHIR type of an item      |

mod eval;
mod lexer;
mod navigate;
mod parser;

use serde_json::Value;

pub use eval::{evaluate, evaluate_on};
pub use parser::parse;

/// A parsed FHIRPath expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// The focus: the input collection (`$this`, or the implicit start of a path).
    This,
    /// `base.name`: a child element (array elements are flattened; choice elements `name[x]` match too).
    /// At the start of a path a capitalised name that equals the focus' `resourceType` (or `Resource` /
    /// `DomainResource`) selects the focus itself.
    Member(Box<Expr>, String),
    /// A literal (string, boolean or number).
    Literal(Value),
    /// `a | b | …`: union (duplicates removed).
    Union(Vec<Expr>),
    /// `base as T`, `base.as(T)`, `base.ofType(T)`: the items of type `T`.
    As(Box<Expr>, String),
    /// `base is T`, `base.is(T)`.
    Is(Box<Expr>, String),
    /// `base.where(criteria)`.
    Where(Box<Expr>, Box<Expr>),
    /// `base.exists()` / `base.exists(criteria)`.
    Exists(Box<Expr>, Option<Box<Expr>>),
    /// `base.empty()`.
    Empty(Box<Expr>),
    /// `base.not()`.
    Not(Box<Expr>),
    /// `base.first()`.
    First(Box<Expr>),
    /// `base.last()`.
    Last(Box<Expr>),
    /// `base[n]`.
    Index(Box<Expr>, usize),
    /// `base.resolve() is T` (as in `.where(resolve() is Patient)`): is each reference to a `T`?
    ResolveIs(Box<Expr>, String),
    /// `base.extension('url')`.
    Extension(Box<Expr>, String),
    /// `a and b`.
    And(Box<Expr>, Box<Expr>),
    /// `a or b`.
    Or(Box<Expr>, Box<Expr>),
    /// `a xor b`.
    Xor(Box<Expr>, Box<Expr>),
    /// `a = b` (`negated`: `a != b`).
    Equals { left: Box<Expr>, right: Box<Expr>, negated: bool },
    /// Parsed but not evaluated (evaluates to empty): the text says what.
    Unsupported(String),
}

/// One result item: a JSON value inside the resource (or a literal / computed boolean) with, when known,
/// its FHIR type (`"Quantity"`, `"Period"`, `"dateTime"`, `"ContactPoint"`…; from the choice suffix such as
/// `valuePeriod` → `"Period"`, or from a few well-known element names).
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    pub value: &'a Value,
    pub type_hint: Option<&'a str>,
}

impl Expr {
    /// Does this expression (or any part of it) contain an [`Expr::Unsupported`] node?
    pub fn has_unsupported(&self) -> bool {
        !self.unsupported_parts().is_empty()
    }

    /// The texts of all [`Expr::Unsupported`] nodes.
    pub fn unsupported_parts(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let Expr::Unsupported(s) = e {
                out.push(s.as_str());
            }
        });
        out
    }

    fn walk<'s>(&'s self, f: &mut dyn FnMut(&'s Expr)) {
        f(self);
        match self {
            Expr::This | Expr::Literal(_) | Expr::Unsupported(_) => {}
            Expr::Member(b, _)
            | Expr::As(b, _)
            | Expr::Is(b, _)
            | Expr::Empty(b)
            | Expr::Not(b)
            | Expr::First(b)
            | Expr::Last(b)
            | Expr::Index(b, _)
            | Expr::ResolveIs(b, _)
            | Expr::Extension(b, _) => b.walk(f),
            Expr::Exists(b, c) => {
                b.walk(f);
                if let Some(c) = c {
                    c.walk(f);
                }
            }
            Expr::Union(v) => v.iter().for_each(|e| e.walk(f)),
            Expr::Where(a, b)
            | Expr::And(a, b)
            | Expr::Or(a, b)
            | Expr::Xor(a, b)
            | Expr::Equals { left: a, right: b, .. } => {
                a.walk(f);
                b.walk(f);
            }
        }
    }
}

#[cfg(test)]
mod tests;
