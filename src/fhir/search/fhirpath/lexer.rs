//! The FHIRPath lexer: expression text → tokens. Comments (`//`) and whitespace are dropped; quoted
//! text (`'…'`, `` `…` ``) is unescaped here.

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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

/// The tokens of `src`; an error for an unterminated quote, a bad escape or a character outside the
/// grammar.
pub(super) fn lex(src: &str) -> Result<Vec<Tok>, String> {
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
            out.push(Tok::Num(number(&chars, &mut i)));
            continue;
        }
        if c == '\'' || c == '`' {
            i += 1;
            let s = quoted(&chars, &mut i, c)?;
            out.push(if c == '`' { Tok::QuotedIdent(s) } else { Tok::Str(s) });
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

/// The digits from `chars[*i]` on, with a fraction when a `.` is followed by a digit; `*i` moves past
/// them.
fn number(chars: &[char], i: &mut usize) -> String {
    let start = *i;
    while *i < chars.len() && chars[*i].is_ascii_digit() {
        *i += 1;
    }
    if chars.get(*i) == Some(&'.') && chars.get(*i + 1).is_some_and(|d| d.is_ascii_digit()) {
        *i += 1;
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
    }
    chars[start..*i].iter().collect()
}

/// The text from `chars[*i]` (just after the opening `quote`) up to the closing one, unescaped
/// (`\n`, `\t`, `\r`, `\f`, `\uXXXX`, else the escaped character itself); `*i` moves past the closing
/// quote.
fn quoted(chars: &[char], i: &mut usize, quote: char) -> Result<String, String> {
    let mut s = String::new();
    loop {
        let Some(&ch) = chars.get(*i) else {
            return Err(format!("unterminated {quote}-quoted text"));
        };
        *i += 1;
        if ch == quote {
            return Ok(s);
        }
        if ch != '\\' {
            s.push(ch);
            continue;
        }
        let Some(&esc) = chars.get(*i) else {
            return Err("dangling escape".into());
        };
        *i += 1;
        match esc {
            'n' => s.push('\n'),
            't' => s.push('\t'),
            'r' => s.push('\r'),
            'f' => s.push('\u{c}'),
            'u' => {
                let hex: String = chars.get(*i..*i + 4).map(|h| h.iter().collect()).unwrap_or_default();
                let code = u32::from_str_radix(&hex, 16).map_err(|_| "bad \\u escape".to_string())?;
                s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                *i += 4;
            }
            other => s.push(other),
        }
    }
}
