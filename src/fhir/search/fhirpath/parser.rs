//! The FHIRPath parser: tokens → [`Expr`], by recursive descent over the FHIRPath precedence levels
//! (low to high: implies; or/xor; and; in/contains; = != ~ !~; < > <= >=; |; is/as; + - &; * / div mod;
//! unary; postfix . [] ). Operators and functions outside the subset parse to [`Expr::Unsupported`];
//! nesting deeper than [`MAX_DEPTH`] is an error, so no input can exhaust the stack.

use serde_json::Value;

use super::lexer::{lex, Tok};
use super::Expr;

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
        let args = self.arguments()?;
        Ok(function(&name, base, args))
    }

    /// The comma-separated arguments of a call, after its `(`, and the closing `)`.
    fn arguments(&mut self) -> Result<Vec<Expr>, String> {
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
        Ok(args)
    }
}

/// The function `name(args)` applied to `base`: a node of the subset, else [`Expr::Unsupported`].
fn function(name: &str, base: Expr, args: Vec<Expr>) -> Expr {
    let b = Box::new(base);
    let type_arg = |args: &[Expr]| -> Option<String> {
        match args {
            [Expr::Member(inner, t)] if **inner == Expr::This => Some(t.clone()),
            _ => None,
        }
    };
    match (name, args.len()) {
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
