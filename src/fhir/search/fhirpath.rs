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

use serde_json::Value;

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

static TRUE: Value = Value::Bool(true);
static FALSE: Value = Value::Bool(false);

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

// ---------------------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// A backtick-delimited identifier (never a keyword).
    QuotedIdent(String),
    Str(String),
    Num(String),
    Var(String),
    Sym(&'static str),
}

#[rustfmt::skip]
const SYMBOLS: &[&str] = &[
    "!=", "!~", "<=", ">=", ".", "(", ")", "[", "]", "|", "=", "~", "<", ">", ",", "+", "-", "*", "/", "&",
];

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            out.push(Tok::Num(chars[start..i].iter().collect()));
            continue;
        }
        if c == '\'' || c == '`' {
            let quote = c;
            i += 1;
            let mut s = String::new();
            loop {
                let Some(&ch) = chars.get(i) else {
                    return Err(format!("unterminated {quote}-quoted text"));
                };
                i += 1;
                if ch == quote {
                    break;
                }
                if ch == '\\' {
                    let Some(&esc) = chars.get(i) else {
                        return Err("dangling escape".into());
                    };
                    i += 1;
                    match esc {
                        'n' => s.push('\n'),
                        't' => s.push('\t'),
                        'r' => s.push('\r'),
                        'f' => s.push('\u{c}'),
                        'u' => {
                            let hex: String = chars.get(i..i + 4).map(|h| h.iter().collect()).unwrap_or_default();
                            let code = u32::from_str_radix(&hex, 16).map_err(|_| "bad \\u escape".to_string())?;
                            s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                            i += 4;
                        }
                        other => s.push(other),
                    }
                } else {
                    s.push(ch);
                }
            }
            out.push(if quote == '`' { Tok::QuotedIdent(s) } else { Tok::Str(s) });
            continue;
        }
        if c == '$' || c == '%' {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '-') {
                i += 1;
            }
            out.push(Tok::Var(chars[start..i].iter().collect()));
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        match SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
            Some(sym) => {
                out.push(Tok::Sym(sym));
                i += sym.chars().count();
            }
            None => return Err(format!("unexpected character {c:?}")),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------------
// Parser (precedence, low to high: implies; or/xor; and; in/contains; = != ~ !~; < > <= >=; |; is/as;
// + - &; * / div mod; unary; postfix . [] ).

/// Parse a FHIRPath expression. Syntax errors are `Err`; functions and operators outside the subset parse
/// to [`Expr::Unsupported`].
pub fn parse(src: &str) -> Result<Expr, String> {
    let toks = lex(src)?;
    let mut p = Parser { toks, pos: 0, depth: 0 };
    let e = p.expr()?;
    if p.pos != p.toks.len() {
        return Err(format!("unexpected {:?} in {src:?}", p.toks.get(p.pos)));
    }
    Ok(finish(e))
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

const MAX_DEPTH: usize = 64;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn peek_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Sym(x)) if *x == s)
    }

    fn peek_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(x)) if x == kw)
    }

    fn expect_sym(&mut self, s: &str) -> Result<(), String> {
        if self.peek_sym(s) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected {s:?}, found {:?}", self.peek()))
        }
    }

    fn expr(&mut self) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("expression nested too deeply".into());
        }
        let r = self.implies();
        self.depth -= 1;
        r
    }

    fn implies(&mut self) -> Result<Expr, String> {
        let mut left = self.or()?;
        while self.peek_kw("implies") {
            self.pos += 1;
            let _right = self.or()?;
            left = Expr::Unsupported("operator implies".into());
        }
        Ok(left)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        loop {
            if self.peek_kw("or") {
                self.pos += 1;
                let right = self.and()?;
                left = Expr::Or(Box::new(left), Box::new(right));
            } else if self.peek_kw("xor") {
                self.pos += 1;
                let right = self.and()?;
                left = Expr::Xor(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.membership()?;
        while self.peek_kw("and") {
            self.pos += 1;
            let right = self.membership()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn membership(&mut self) -> Result<Expr, String> {
        let mut left = self.equality()?;
        while self.peek_kw("in") || self.peek_kw("contains") {
            let op = match self.peek() {
                Some(Tok::Ident(s)) => s.clone(),
                _ => String::new(),
            };
            self.pos += 1;
            let _right = self.equality()?;
            left = Expr::Unsupported(format!("operator {op}"));
        }
        Ok(left)
    }

    fn equality(&mut self) -> Result<Expr, String> {
        let mut left = self.inequality()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Sym(s @ ("=" | "!=" | "~" | "!~"))) => *s,
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.inequality()?;
            left = match op {
                "=" => Expr::Equals { left: Box::new(left), right: Box::new(right), negated: false },
                "!=" => Expr::Equals { left: Box::new(left), right: Box::new(right), negated: true },
                other => Expr::Unsupported(format!("operator {other}")),
            };
        }
    }

    fn inequality(&mut self) -> Result<Expr, String> {
        let mut left = self.union()?;
        while let Some(Tok::Sym(op @ ("<" | ">" | "<=" | ">="))) = self.peek() {
            let op = *op;
            self.pos += 1;
            let _right = self.union()?;
            left = Expr::Unsupported(format!("operator {op}"));
        }
        Ok(left)
    }

    fn union(&mut self) -> Result<Expr, String> {
        let first = self.type_expr()?;
        if !self.peek_sym("|") {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.peek_sym("|") {
            self.pos += 1;
            parts.push(self.type_expr()?);
        }
        Ok(Expr::Union(parts))
    }

    fn type_expr(&mut self) -> Result<Expr, String> {
        let mut left = self.additive()?;
        loop {
            let is_is = self.peek_kw("is");
            if !is_is && !self.peek_kw("as") {
                return Ok(left);
            }
            self.pos += 1;
            let ty = self.type_specifier()?;
            left = if is_is { make_is(left, ty) } else { Expr::As(Box::new(left), ty) };
        }
    }

    fn type_specifier(&mut self) -> Result<String, String> {
        let mut name = self.identifier()?;
        // Qualified names (`FHIR.Patient`, `System.String`): keep the last part.
        while self.peek_sym(".") {
            self.pos += 1;
            name = self.identifier()?;
        }
        Ok(name)
    }

    fn identifier(&mut self) -> Result<String, String> {
        match self.peek().cloned() {
            Some(Tok::Ident(s)) | Some(Tok::QuotedIdent(s)) => {
                self.pos += 1;
                Ok(s)
            }
            other => Err(format!("expected an identifier, found {other:?}")),
        }
    }

    fn additive(&mut self) -> Result<Expr, String> {
        let mut left = self.multiplicative()?;
        while let Some(Tok::Sym(op @ ("+" | "-" | "&"))) = self.peek() {
            let op = *op;
            self.pos += 1;
            let _right = self.multiplicative()?;
            left = Expr::Unsupported(format!("operator {op}"));
        }
        Ok(left)
    }

    fn multiplicative(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Sym(s @ ("*" | "/"))) => s.to_string(),
                Some(Tok::Ident(s)) if s == "div" || s == "mod" => s.clone(),
                _ => return Ok(left),
            };
            self.pos += 1;
            let _right = self.unary()?;
            left = Expr::Unsupported(format!("operator {op}"));
        }
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if let Some(Tok::Sym(op @ ("+" | "-"))) = self.peek() {
            let op = *op;
            self.pos += 1;
            let inner = self.unary()?;
            return Ok(match (op, inner) {
                ("-", Expr::Literal(Value::Number(n))) => {
                    let text = format!("-{n}");
                    match serde_json::from_str::<Value>(&text) {
                        Ok(v) => Expr::Literal(v),
                        Err(_) => Expr::Unsupported(format!("literal {text}")),
                    }
                }
                ("+", e) => e,
                _ => Expr::Unsupported("unary -".into()),
            });
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, String> {
        let mut e = self.term()?;
        loop {
            if self.peek_sym(".") {
                self.pos += 1;
                e = self.invocation(e)?;
            } else if self.peek_sym("[") {
                self.pos += 1;
                let idx = self.expr()?;
                self.expect_sym("]")?;
                e = match idx {
                    Expr::Literal(Value::Number(n)) => match n.to_string().parse::<usize>() {
                        Ok(i) => Expr::Index(Box::new(e), i),
                        Err(_) => Expr::Unsupported("non-integer index".into()),
                    },
                    _ => Expr::Unsupported("computed index".into()),
                };
            } else {
                return Ok(e);
            }
        }
    }

    fn term(&mut self) -> Result<Expr, String> {
        match self.peek().cloned() {
            Some(Tok::Sym("(")) => {
                self.pos += 1;
                let e = self.expr()?;
                self.expect_sym(")")?;
                Ok(e)
            }
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok(Expr::Literal(Value::String(s)))
            }
            Some(Tok::Num(n)) => {
                self.pos += 1;
                // A quantity literal (`4 'mg'`, `1 year`) is outside the subset.
                if matches!(self.peek(), Some(Tok::Str(_))) {
                    self.pos += 1;
                    return Ok(Expr::Unsupported("quantity literal".into()));
                }
                match serde_json::from_str::<Value>(&n) {
                    Ok(v) => Ok(Expr::Literal(v)),
                    Err(_) => Err(format!("bad number {n}")),
                }
            }
            Some(Tok::Ident(s)) if s == "true" || s == "false" => {
                self.pos += 1;
                Ok(Expr::Literal(Value::Bool(s == "true")))
            }
            Some(Tok::Var(v)) => {
                self.pos += 1;
                if v == "$this" {
                    Ok(Expr::This)
                } else {
                    Ok(Expr::Unsupported(format!("variable {v}")))
                }
            }
            Some(Tok::Ident(_)) | Some(Tok::QuotedIdent(_)) => self.invocation(Expr::This),
            other => Err(format!("unexpected {other:?}")),
        }
    }

    /// `name` or `name(args)` applied to `base`.
    fn invocation(&mut self, base: Expr) -> Result<Expr, String> {
        let quoted = matches!(self.peek(), Some(Tok::QuotedIdent(_)));
        let name = self.identifier()?;
        if quoted || !self.peek_sym("(") {
            return Ok(Expr::Member(Box::new(base), name));
        }
        self.pos += 1;
        let mut args = Vec::new();
        if !self.peek_sym(")") {
            loop {
                args.push(self.expr()?);
                if self.peek_sym(",") {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        self.expect_sym(")")?;
        let b = Box::new(base);
        let type_arg = |args: &[Expr]| -> Option<String> {
            match args {
                [Expr::Member(inner, t)] if **inner == Expr::This => Some(t.clone()),
                _ => None,
            }
        };
        Ok(match (name.as_str(), args.len()) {
            ("where", 1) => {
                let mut args = args;
                match args.pop() {
                    Some(c) => Expr::Where(b, Box::new(c)),
                    None => Expr::Unsupported("where()".into()),
                }
            }
            ("exists", 0) => Expr::Exists(b, None),
            ("exists", 1) => {
                let mut args = args;
                Expr::Exists(b, args.pop().map(Box::new))
            }
            ("empty", 0) => Expr::Empty(b),
            ("not", 0) => Expr::Not(b),
            ("first", 0) => Expr::First(b),
            ("last", 0) => Expr::Last(b),
            ("as" | "ofType", 1) => match type_arg(&args) {
                Some(t) => Expr::As(b, t),
                None => Expr::Unsupported(format!("function {name}() with a non-type argument")),
            },
            ("is", 1) => match type_arg(&args) {
                Some(t) => make_is(*b, t),
                None => Expr::Unsupported("function is() with a non-type argument".into()),
            },
            // A pending `resolve()`: completed by the `is T` that follows, else made Unsupported by `finish`.
            ("resolve", 0) => Expr::ResolveIs(b, String::new()),
            ("extension", 1) => match args.first() {
                Some(Expr::Literal(Value::String(url))) => Expr::Extension(b, url.clone()),
                _ => Expr::Unsupported("function extension() with a non-literal url".into()),
            },
            _ => Expr::Unsupported(format!("function {name}()")),
        })
    }
}

/// `left is T`; a pending `resolve()` on the left makes it `ResolveIs(base, T)`.
fn make_is(left: Expr, ty: String) -> Expr {
    match left {
        Expr::ResolveIs(b, pending) if pending.is_empty() => Expr::ResolveIs(b, ty),
        other => Expr::Is(Box::new(other), ty),
    }
}

/// Replace any bare `resolve()` left without an `is T` by an explicit `Unsupported` node.
fn finish(e: Expr) -> Expr {
    match e {
        Expr::ResolveIs(_, t) if t.is_empty() => Expr::Unsupported("function resolve() without `is T`".into()),
        Expr::ResolveIs(b, t) => Expr::ResolveIs(Box::new(finish(*b)), t),
        Expr::Member(b, n) => Expr::Member(Box::new(finish(*b)), n),
        Expr::Union(v) => Expr::Union(v.into_iter().map(finish).collect()),
        Expr::As(b, t) => Expr::As(Box::new(finish(*b)), t),
        Expr::Is(b, t) => Expr::Is(Box::new(finish(*b)), t),
        Expr::Where(a, c) => Expr::Where(Box::new(finish(*a)), Box::new(finish(*c))),
        Expr::Exists(b, c) => Expr::Exists(Box::new(finish(*b)), c.map(|c| Box::new(finish(*c)))),
        Expr::Empty(b) => Expr::Empty(Box::new(finish(*b))),
        Expr::Not(b) => Expr::Not(Box::new(finish(*b))),
        Expr::First(b) => Expr::First(Box::new(finish(*b))),
        Expr::Last(b) => Expr::Last(Box::new(finish(*b))),
        Expr::Index(b, i) => Expr::Index(Box::new(finish(*b)), i),
        Expr::Extension(b, u) => Expr::Extension(Box::new(finish(*b)), u),
        Expr::And(a, b) => Expr::And(Box::new(finish(*a)), Box::new(finish(*b))),
        Expr::Or(a, b) => Expr::Or(Box::new(finish(*a)), Box::new(finish(*b))),
        Expr::Xor(a, b) => Expr::Xor(Box::new(finish(*a)), Box::new(finish(*b))),
        Expr::Equals { left, right, negated } => {
            Expr::Equals { left: Box::new(finish(*left)), right: Box::new(finish(*right)), negated }
        }
        other @ (Expr::This | Expr::Literal(_) | Expr::Unsupported(_)) => other,
    }
}

// ---------------------------------------------------------------------------------------------------------
// Evaluation

/// Evaluate `expr` with `resource` as the context. Returns the matching items (empty for anything
/// unsupported or absent).
pub fn evaluate<'a>(expr: &'a Expr, resource: &'a Value) -> Vec<Item<'a>> {
    eval(expr, &[Item { value: resource, type_hint: None }])
}

/// Evaluate `expr` with an arbitrary focus (e.g. the parts of a composite search parameter, whose
/// component expressions are relative to the composite's base items).
pub fn evaluate_on<'a>(expr: &'a Expr, focus: &[Item<'a>]) -> Vec<Item<'a>> {
    eval(expr, focus)
}

/// Datatypes that may appear as the `[x]` suffix of a choice element.
#[rustfmt::skip]
const CHOICE_TYPES: &[&str] = &[
    "Address", "Age", "Annotation", "Attachment", "Base64Binary", "Boolean", "Canonical", "Code",
    "CodeableConcept", "Coding", "ContactDetail", "ContactPoint", "Contributor", "Count", "DataRequirement",
    "Date", "DateTime", "Decimal", "Distance", "Dosage", "Duration", "Expression", "HumanName", "Id",
    "Identifier", "Instant", "Integer", "Markdown", "Meta", "Money", "Oid", "ParameterDefinition", "Period",
    "PositiveInt", "Quantity", "Range", "Ratio", "Reference", "RelatedArtifact", "SampledData", "Signature",
    "String", "Time", "Timing", "TriggerDefinition", "UnsignedInt", "Uri", "Url", "UsageContext", "Uuid",
];

/// Types known from the element name alone, where the JSON shape would be ambiguous.
fn hint_for_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "telecom" => "ContactPoint",
        "identifier" | "masterIdentifier" | "accessionIdentifier" => "Identifier",
        "address" => "Address",
        "period" | "planningHorizon" => "Period",
        "coding" | "tag" | "security" | "class" => "Coding",
        _ => return None,
    })
}

/// `Quantity` specialisations: `x as Quantity` also matches these.
const QUANTITY_KINDS: &[&str] = &["Age", "Count", "Distance", "Duration", "MoneyQuantity", "SimpleQuantity"];

fn type_matches(item: &Item<'_>, ty: &str) -> bool {
    if let Some(h) = item.type_hint {
        if h.eq_ignore_ascii_case(ty) {
            return true;
        }
        if ty.eq_ignore_ascii_case("Quantity") && QUANTITY_KINDS.iter().any(|k| k.eq_ignore_ascii_case(h)) {
            return true;
        }
        return false;
    }
    // No hint: infer from the JSON shape.
    let t = ty.to_ascii_lowercase();
    match item.value {
        Value::Bool(_) => t == "boolean",
        Value::Number(_) => matches!(t.as_str(), "decimal" | "integer" | "unsignedint" | "positiveint"),
        Value::String(_) => matches!(
            t.as_str(),
            "string"
                | "code"
                | "uri"
                | "url"
                | "canonical"
                | "id"
                | "oid"
                | "uuid"
                | "markdown"
                | "date"
                | "datetime"
                | "instant"
                | "time"
                | "base64binary"
        ),
        Value::Object(m) => {
            if let Some(Value::String(rt)) = m.get("resourceType") {
                return rt == ty || ty == "Resource" || ty == "DomainResource";
            }
            match t.as_str() {
                "codeableconcept" => m.contains_key("coding") || (m.contains_key("text") && m.len() == 1),
                "coding" => m.contains_key("code") && !m.contains_key("value"),
                "quantity" | "age" | "duration" | "distance" | "count" | "simplequantity" => {
                    matches!(m.get("value"), Some(Value::Number(_)))
                }
                "reference" => m.contains_key("reference") || m.contains_key("identifier") || m.contains_key("display"),
                "period" => m.contains_key("start") || m.contains_key("end"),
                "range" => m.contains_key("low") || m.contains_key("high"),
                "identifier" => matches!(m.get("value"), Some(Value::String(_))),
                _ => false,
            }
        }
        _ => false,
    }
}

fn push_child<'a>(out: &mut Vec<Item<'a>>, v: &'a Value, hint: Option<&'a str>) {
    match v {
        Value::Array(a) => {
            for x in a {
                if !x.is_null() {
                    out.push(Item { value: x, type_hint: hint });
                }
            }
        }
        Value::Null => {}
        x => out.push(Item { value: x, type_hint: hint }),
    }
}

fn member<'a>(focus: &[Item<'a>], name: &str) -> Vec<Item<'a>> {
    let mut out = Vec::new();
    for item in focus {
        let Value::Object(m) = item.value else { continue };
        // A leading type name selects the resource itself.
        if name.starts_with(|c: char| c.is_ascii_uppercase()) {
            if let Some(Value::String(rt)) = m.get("resourceType") {
                if rt == name || name == "Resource" || name == "DomainResource" {
                    out.push(*item);
                }
            }
            continue;
        }
        if let Some(v) = m.get(name) {
            push_child(&mut out, v, hint_for_name(name));
            continue;
        }
        // Choice element: `value` → `valueQuantity`, `valueString`, …
        for (k, v) in m.iter() {
            if let Some(suffix) = k.strip_prefix(name) {
                if CHOICE_TYPES.contains(&suffix) {
                    push_child(&mut out, v, Some(suffix));
                }
            }
        }
    }
    out
}

fn truthy(items: &[Item<'_>]) -> Option<bool> {
    match items {
        [] => None,
        [one] => match one.value {
            Value::Bool(b) => Some(*b),
            _ => Some(true),
        },
        _ => None,
    }
}

fn boolean<'a>(b: bool) -> Vec<Item<'a>> {
    vec![Item { value: if b { &TRUE } else { &FALSE }, type_hint: Some("boolean") }]
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (xs, ys) = (x.to_string(), y.to_string());
            xs == ys || matches!((xs.parse::<f64>(), ys.parse::<f64>()), (Ok(p), Ok(q)) if p == q)
        }
        _ => a == b,
    }
}

fn dedup<'a>(items: Vec<Item<'a>>) -> Vec<Item<'a>> {
    let mut out: Vec<Item<'a>> = Vec::with_capacity(items.len());
    for it in items {
        if !out.iter().any(|o| std::ptr::eq(o.value, it.value) || (is_scalar(o.value) && o.value == it.value)) {
            out.push(it);
        }
    }
    out
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Object(_) | Value::Array(_))
}

/// The resource type a Reference points to, from its `reference` text or its `type` element.
fn reference_type(v: &Value) -> Option<String> {
    let m = v.as_object()?;
    if let Some(Value::String(r)) = m.get("reference") {
        if let Some((t, _)) = crate::fhir::search::extract::split_reference(r) {
            return Some(t.to_string());
        }
    }
    match m.get("type") {
        Some(Value::String(t)) => Some(t.rsplit('/').next().unwrap_or(t).to_string()),
        _ => None,
    }
}

fn eval<'a>(expr: &'a Expr, focus: &[Item<'a>]) -> Vec<Item<'a>> {
    match expr {
        Expr::This => focus.to_vec(),
        Expr::Member(base, name) => member(&eval(base, focus), name),
        Expr::Literal(v) => vec![Item { value: v, type_hint: None }],
        Expr::Union(parts) => dedup(parts.iter().flat_map(|p| eval(p, focus)).collect()),
        Expr::As(base, ty) => eval(base, focus).into_iter().filter(|i| type_matches(i, ty)).collect(),
        Expr::Is(base, ty) => match eval(base, focus).as_slice() {
            [one] => boolean(type_matches(one, ty)),
            _ => Vec::new(),
        },
        Expr::Where(base, crit) => eval(base, focus)
            .into_iter()
            .filter(|i| truthy(&eval(crit, std::slice::from_ref(i))) == Some(true))
            .collect(),
        Expr::Exists(base, crit) => {
            let items = eval(base, focus);
            let any = match crit {
                None => !items.is_empty(),
                Some(c) => items.iter().any(|i| truthy(&eval(c, std::slice::from_ref(i))) == Some(true)),
            };
            boolean(any)
        }
        Expr::Empty(base) => boolean(eval(base, focus).is_empty()),
        Expr::Not(base) => match truthy(&eval(base, focus)) {
            Some(b) => boolean(!b),
            None => Vec::new(),
        },
        Expr::First(base) => eval(base, focus).into_iter().take(1).collect(),
        Expr::Last(base) => eval(base, focus).into_iter().last().into_iter().collect(),
        Expr::Index(base, i) => eval(base, focus).into_iter().nth(*i).into_iter().collect(),
        Expr::ResolveIs(base, ty) => {
            if ty.is_empty() {
                return Vec::new();
            }
            match eval(base, focus).as_slice() {
                [one] => boolean(reference_type(one.value).as_deref() == Some(ty.as_str())),
                _ => Vec::new(),
            }
        }
        Expr::Extension(base, url) => member(&eval(base, focus), "extension")
            .into_iter()
            .filter(|i| i.value.get("url").and_then(Value::as_str) == Some(url.as_str()))
            .map(|i| Item { value: i.value, type_hint: Some("Extension") })
            .collect(),
        Expr::And(a, b) => {
            let (x, y) = (truthy(&eval(a, focus)), truthy(&eval(b, focus)));
            match (x, y) {
                (Some(false), _) | (_, Some(false)) => boolean(false),
                (Some(true), Some(true)) => boolean(true),
                _ => Vec::new(),
            }
        }
        Expr::Or(a, b) => {
            let (x, y) = (truthy(&eval(a, focus)), truthy(&eval(b, focus)));
            match (x, y) {
                (Some(true), _) | (_, Some(true)) => boolean(true),
                (Some(false), Some(false)) => boolean(false),
                _ => Vec::new(),
            }
        }
        Expr::Xor(a, b) => match (truthy(&eval(a, focus)), truthy(&eval(b, focus))) {
            (Some(x), Some(y)) => boolean(x != y),
            _ => Vec::new(),
        },
        Expr::Equals { left, right, negated } => {
            let (l, r) = (eval(left, focus), eval(right, focus));
            if l.is_empty() || r.is_empty() {
                return Vec::new();
            }
            let eq = l.len() == r.len() && l.iter().zip(r.iter()).all(|(a, b)| values_equal(a.value, b.value));
            boolean(eq != *negated)
        }
        Expr::Unsupported(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> Expr {
        match parse(s) {
            Ok(e) => e,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    fn texts(e: &Expr, r: &Value) -> Vec<String> {
        evaluate(e, r).iter().map(|i| i.value.to_string()).collect()
    }

    fn hints<'a>(e: &'a Expr, r: &'a Value) -> Vec<Option<&'a str>> {
        evaluate(e, r).iter().map(|i| i.type_hint).collect()
    }

    #[test]
    fn paths_flatten_arrays_and_check_the_type() {
        let r = json!({"resourceType": "Observation", "code": {"coding": [{"code": "a"}, {"code": "b"}]},
            "category": [{"coding": [{"code": "c1"}]}, {"coding": [{"code": "c2"}, {"code": "c3"}]}]});
        assert_eq!(texts(&p("Observation.code.coding.code"), &r), vec!["\"a\"", "\"b\""]);
        assert_eq!(texts(&p("Observation.category.coding.code"), &r).len(), 3);
        assert!(texts(&p("Patient.code"), &r).is_empty());
        assert_eq!(texts(&p("Resource.resourceType"), &r), vec!["\"Observation\""]);
        assert_eq!(texts(&p("DomainResource.code.coding[1].code"), &r), vec!["\"b\""]);
        assert_eq!(texts(&p("Observation.code.coding.code.first()"), &r), vec!["\"a\""]);
    }

    #[test]
    fn choice_types_and_as() {
        let mut r = json!({"resourceType": "Observation", "valueQuantity": {"value": 0, "unit": "mg"},
            "effectivePeriod": {"start": "2020"}, "component": [
                {"valueCodeableConcept": {"text": "x"}}, {"valueQuantity": {"value": 2}}, {"valueAge": {"value": 3}}]});
        if let (Some(v), Ok(n)) = (r.pointer_mut("/valueQuantity/value"), serde_json::from_str::<Value>("1.50")) {
            *v = n;
        }
        assert_eq!(hints(&p("Observation.value"), &r), vec![Some("Quantity")]);
        assert_eq!(hints(&p("Observation.effective"), &r), vec![Some("Period")]);
        assert_eq!(evaluate(&p("(Observation.value as Quantity)"), &r).len(), 1);
        assert_eq!(evaluate(&p("Observation.value.as(Quantity)"), &r).len(), 1);
        assert_eq!(evaluate(&p("Observation.value.ofType(Quantity)"), &r).len(), 1);
        assert!(evaluate(&p("(Observation.value as CodeableConcept)"), &r).is_empty());
        assert_eq!(texts(&p("(Observation.component.value as CodeableConcept).text"), &r), vec!["\"x\""]);
        // Quantity matches its specialisations (Age here).
        assert_eq!(evaluate(&p("(Observation.component.value as Quantity)"), &r).len(), 2);
        assert_eq!(
            evaluate(&p("Observation.component.value as Quantity | Observation.value as Quantity"), &r).len(),
            3
        );
        // The number keeps its text.
        assert_eq!(texts(&p("Observation.value.value"), &r), vec!["1.50"]);
        let g = json!({"resourceType": "Goal", "startDate": "2020-01-01", "target": [{"dueDate": "2021"}, {"dueDuration": {"value": 1}}]});
        assert_eq!(texts(&p("(Goal.start as date)"), &g), vec!["\"2020-01-01\""]);
        assert_eq!(texts(&p("(Goal.target.due as date)"), &g), vec!["\"2021\""]);
        let c = json!({"resourceType": "Condition", "onsetDateTime": "2020"});
        assert_eq!(evaluate(&p("Condition.onset.as(dateTime)"), &c).len(), 1);
        assert_eq!(evaluate(&p("Condition.onset.as(DateTime)"), &c).len(), 1);
        assert!(evaluate(&p("Condition.onset.as(Period)"), &c).is_empty());
    }

    #[test]
    fn periods_do_not_match_period_unit() {
        let r = json!({"resourceType": "CarePlan", "periodUnit": "d"});
        assert!(evaluate(&p("CarePlan.period"), &r).is_empty());
    }

    #[test]
    fn resolve_is() {
        let e = p("Observation.subject.where(resolve() is Patient)");
        assert!(matches!(&e, Expr::Where(_, c) if matches!(**c, Expr::ResolveIs(_, ref t) if t == "Patient")));
        for (subject, hit) in [
            (json!({"reference": "Patient/123"}), true),
            (json!({"reference": "Patient/123/_history/2"}), true),
            (json!({"reference": "http://x/fhir/Patient/123"}), true),
            (json!({"reference": "Group/1"}), false),
            (json!({"reference": "urn:uuid:0b5d1c5c-7a8e-4f6b-9d7e-2f0c6a1b3c4d"}), false),
            (json!({"reference": "urn:uuid:0b5d1c5c-7a8e-4f6b-9d7e-2f0c6a1b3c4d", "type": "Patient"}), true),
            (json!({"reference": "#p1"}), false),
            (json!({"display": "someone"}), false),
        ] {
            let r = json!({"resourceType": "Observation", "subject": subject});
            assert_eq!(evaluate(&e, &r).len(), usize::from(hit), "{r}");
        }
        assert!(!p("Observation.subject.resolve()").unsupported_parts().is_empty());
        assert!(p("Observation.subject.resolve().is(Patient)").unsupported_parts().is_empty());
    }

    #[test]
    fn where_equality_and_booleans() {
        let r = json!({"resourceType": "Patient", "telecom": [
            {"system": "phone", "value": "555"}, {"system": "email", "value": "a@b"}], "deceasedDateTime": "2020"});
        assert_eq!(texts(&p("Patient.telecom.where(system='email').value"), &r), vec!["\"a@b\""]);
        assert_eq!(hints(&p("Patient.telecom.where(system='phone')"), &r), vec![Some("ContactPoint")]);
        let deceased = p("Patient.deceased.exists() and Patient.deceased != false");
        assert_eq!(texts(&deceased, &r), vec!["true"]);
        assert_eq!(texts(&deceased, &json!({"resourceType": "Patient", "deceasedBoolean": false})), vec!["false"]);
        assert_eq!(texts(&deceased, &json!({"resourceType": "Patient", "deceasedBoolean": true})), vec!["true"]);
        assert_eq!(texts(&deceased, &json!({"resourceType": "Patient"})), vec!["false"]);
        assert_eq!(texts(&p("Patient.telecom.exists(system = 'fax')"), &r), vec!["false"]);
        assert_eq!(texts(&p("Patient.name.empty()"), &r), vec!["true"]);
        assert_eq!(texts(&p("Patient.name.empty().not()"), &r), vec!["false"]);
        assert_eq!(texts(&p("true or Patient.name"), &r), vec!["true"]);
        assert_eq!(texts(&p("1.0 = 1"), &r), vec!["true"]);
    }

    #[test]
    fn extensions() {
        let r = json!({"resourceType": "Patient", "extension": [
            {"url": "http://a", "valueString": "x"}, {"url": "http://b", "valueCode": "y"}]});
        assert_eq!(texts(&p("Patient.extension('http://b').value"), &r), vec!["\"y\""]);
        assert_eq!(texts(&p("Patient.extension.where(url = 'http://a').value"), &r), vec!["\"x\""]);
    }

    #[test]
    fn relative_expressions() {
        let r = json!({"code": {"text": "c"}, "valueQuantity": {"value": 1}});
        let q = p("value.as(Quantity) | value.as(Range)");
        assert_eq!(evaluate(&q, &r).len(), 1);
        assert_eq!(texts(&p("code.text"), &r), vec!["\"c\""]);
        assert_eq!(texts(&p("$this.code.text"), &r), vec!["\"c\""]);
    }

    #[test]
    fn unsupported_and_errors() {
        for s in
            ["Patient.name.count() > 1", "%resource.id", "Observation.value + 1", "a.b.c.frobnicate()", "x implies y"]
        {
            let e = p(s);
            assert!(e.has_unsupported(), "{s}");
            assert!(evaluate(&e, &json!({})).is_empty() || s.contains("implies"));
        }
        for s in ["", "Patient.", "(Patient.name", "Patient.name)", "'open", "Patient..name", "a #", "where("] {
            assert!(parse(s).is_err(), "{s}");
        }
        let deep = "(".repeat(500) + "a" + &")".repeat(500);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn odd_input_never_panics() {
        let e = p("Observation.value.as(Quantity).value | Observation.subject.where(resolve() is Patient)");
        for v in [
            json!(null),
            json!([]),
            json!("x"),
            json!({"resourceType": 5}),
            json!({"resourceType": "Observation",
            "valueQuantity": [null, 1, "x"], "subject": [{"reference": 5}, null]}),
        ] {
            let _ = evaluate(&e, &v);
        }
    }
}
