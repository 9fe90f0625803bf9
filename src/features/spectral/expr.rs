//! Band-math expressions of `kind = "spectral"`: band names of the sensor (`B4`, `B8A`,
//! `B3N`; `B04` is `B4`), numbers, `+ - * /`, unary minus and parentheses, parsed safely
//! into a tree with errors naming the token and its position.

/// A parsed band-math expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number.
    Num(f64),
    /// A band, by its position in the sensor's band list.
    Band(usize),
    /// Negation.
    Neg(Box<Expr>),
    /// A binary operation: `+ - * /`.
    Bin(char, Box<Expr>, Box<Expr>),
}

/// The canonical form of a band token: upper case, no leading zero (`b04` -> `B4`,
/// `B08A` -> `B8A`); `None` when it is not a band name.
pub fn band_key(token: &str) -> Option<String> {
    let up = token.to_ascii_uppercase();
    let rest = up.strip_prefix('B')?;
    if !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let trimmed = rest.trim_start_matches('0');
    let trimmed = if trimmed.is_empty() || !trimmed.starts_with(|c: char| c.is_ascii_digit()) {
        &rest[rest.len() - trimmed.len() - 1..]
    } else {
        trimmed
    };
    Some(format!("B{trimmed}"))
}

/// The position of band `token` in `bands` (canonical names), if it is one.
pub fn band_position(token: &str, bands: &[&str]) -> Option<usize> {
    let key = band_key(token)?;
    bands.iter().position(|b| *b == key)
}

impl Expr {
    /// Parses `text`; bands must be among `bands` (the sensor's canonical band names).
    /// Errors name the bad token and its position, or the unknown band.
    pub fn parse(text: &str, bands: &[&str]) -> std::result::Result<Expr, String> {
        let tokens = tokenize(text)?;
        let mut p = Parser { tokens, pos: 0, text, bands };
        let e = p.sum()?;
        if let Some((at, t)) = p.tokens.get(p.pos) {
            return Err(format!("unexpected `{t}` at character {} of `{text}`", at + 1));
        }
        Ok(e)
    }

    /// Bands the expression reads (positions), in order of first use.
    pub fn bands(&self, out: &mut Vec<usize>) {
        match self {
            Expr::Num(_) => {}
            Expr::Band(b) => {
                if !out.contains(b) {
                    out.push(*b)
                }
            }
            Expr::Neg(e) => e.bands(out),
            Expr::Bin(_, a, b) => {
                a.bands(out);
                b.bands(out);
            }
        }
    }

    /// Evaluates with `band(position)`; `None` on a zero divisor or a non-finite result.
    pub fn eval(&self, band: &dyn Fn(usize) -> f64) -> Option<f64> {
        let v = match self {
            Expr::Num(v) => *v,
            Expr::Band(b) => band(*b),
            Expr::Neg(e) => -e.eval(band)?,
            Expr::Bin(op, a, b) => {
                let (x, y) = (a.eval(band)?, b.eval(band)?);
                match op {
                    '+' => x + y,
                    '-' => x - y,
                    '*' => x * y,
                    _ if y == 0.0 => return None,
                    _ => x / y,
                }
            }
        };
        v.is_finite().then_some(v)
    }
}

fn tokenize(text: &str) -> std::result::Result<Vec<(usize, String)>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if "+-*/()".contains(c) {
            out.push((i, c.to_string()));
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            out.push((start, chars[start..i].iter().collect()));
        } else {
            return Err(format!("unexpected character `{c}` at character {} of `{text}`", i + 1));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<(usize, String)>,
    pos: usize,
    text: &'a str,
    bands: &'a [&'a str],
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(|t| t.1.as_str())
    }

    fn sum(&mut self) -> std::result::Result<Expr, String> {
        let mut e = self.product()?;
        while let Some(op @ ("+" | "-")) = self.peek() {
            let op = op.chars().next().unwrap_or('+');
            self.pos += 1;
            e = Expr::Bin(op, Box::new(e), Box::new(self.product()?));
        }
        Ok(e)
    }

    fn product(&mut self) -> std::result::Result<Expr, String> {
        let mut e = self.unary()?;
        while let Some(op @ ("*" | "/")) = self.peek() {
            let op = op.chars().next().unwrap_or('*');
            self.pos += 1;
            e = Expr::Bin(op, Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn unary(&mut self) -> std::result::Result<Expr, String> {
        if self.peek() == Some("-") {
            self.pos += 1;
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> std::result::Result<Expr, String> {
        let Some((at, t)) = self.tokens.get(self.pos).cloned() else {
            return Err(format!("`{}` ends where a band, number or `(` was expected", self.text));
        };
        self.pos += 1;
        if t == "(" {
            let e = self.sum()?;
            if self.peek() != Some(")") {
                return Err(format!("missing `)` for the `(` at character {} of `{}`", at + 1, self.text));
            }
            self.pos += 1;
            return Ok(e);
        }
        if let Ok(v) = t.parse::<f64>() {
            return Ok(Expr::Num(v));
        }
        if band_key(&t).is_some() {
            if let Some(b) = band_position(&t, self.bands) {
                return Ok(Expr::Band(b));
            }
            return Err(format!("unknown band `{t}` in `{}`; this sensor has {}", self.text, self.bands.join(", ")));
        }
        Err(format!("unexpected `{t}` at character {} of `{}`", at + 1, self.text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L8: &[&str] = &["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "B10", "B11"];
    const S2: &[&str] = &["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12"];

    #[test]
    fn expressions_parse_with_precedence_and_name_their_errors() {
        let e = Expr::parse("(B6 - B7) / (B6 + B7)", L8).unwrap();
        let v = e.eval(&|b| if L8[b] == "B6" { 3.0 } else { 1.0 }).unwrap();
        assert_eq!(v, 0.5);
        let e = Expr::parse("-B2 * 2 + 10 / B4", L8).unwrap();
        // Band value = its number: B2 = 2, B4 = 4.
        assert_eq!(e.eval(&|b| (b + 1) as f64), Some(-4.0 + 2.5));
        assert_eq!(Expr::parse("B1 / (B2 - B2)", L8).unwrap().eval(&|_| 1.0), None);
        let err = Expr::parse("B13 / B4", L8).unwrap_err();
        assert!(err.contains("unknown band `B13`") && err.contains("B11"), "{err}");
        let err = Expr::parse("B4 % B3", L8).unwrap_err();
        assert!(err.contains("`%`") && err.contains("character 4"), "{err}");
        let err = Expr::parse("(B4 + B3", L8).unwrap_err();
        assert!(err.contains("missing `)`"), "{err}");
        let err = Expr::parse("B4 +", L8).unwrap_err();
        assert!(err.contains("ends"), "{err}");
        let err = Expr::parse("B4 B3", L8).unwrap_err();
        assert!(err.contains("unexpected `B3`"), "{err}");
    }

    #[test]
    fn band_names_with_letters_and_leading_zeros() {
        assert_eq!(band_key("b04").as_deref(), Some("B4"));
        assert_eq!(band_key("B08A").as_deref(), Some("B8A"));
        assert_eq!(band_key("B8a").as_deref(), Some("B8A"));
        assert_eq!(band_key("B3N").as_deref(), Some("B3N"));
        assert_eq!(band_key("B10").as_deref(), Some("B10"));
        assert_eq!(band_key("Bx"), None);
        let e = Expr::parse("(B8A - B04) / B8a", S2).unwrap();
        assert_eq!(e, Expr::parse("(B8A - B4) / B8A", S2).unwrap());
        let mut used = Vec::new();
        e.bands(&mut used);
        assert_eq!(used, vec![8, 3]);
        let err = Expr::parse("B8A / B4", L8).unwrap_err();
        assert!(err.contains("unknown band `B8A`"), "{err}");
    }
}
