//! The SQL builder: fixed fragments with `?` markers, values bound as parameters.

use sqlx::AssertSqlSafe;

/// A value bound to a query parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bind {
    /// A BIGINT.
    I64(i64),
    /// A nullable BIGINT.
    OptI64(Option<i64>),
    /// A TEXT.
    Text(String),
    /// A BLOB / BYTEA.
    Bytes(Vec<u8>),
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

fn bind_all(mut q: AnyQuery<'_>, binds: Vec<Bind>) -> AnyQuery<'_> {
    for b in binds {
        q = match b {
            Bind::I64(v) => q.bind(v),
            Bind::OptI64(v) => q.bind(v),
            Bind::Text(v) => q.bind(v),
            Bind::Bytes(v) => q.bind(v),
        };
    }
    q
}

/// Builds SQL from fixed fragments whose `?` markers become numbered placeholders.
#[derive(Debug, Default)]
pub struct Sql {
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    /// Starts with a fixed fragment.
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            binds: Vec::new(),
        }
    }

    /// Appends a fragment; each `?` takes the next value of `binds`.
    pub fn push(&mut self, fragment: &str, binds: impl IntoIterator<Item = Bind>) -> &mut Self {
        let mut binds = binds.into_iter();
        for ch in fragment.chars() {
            if ch == '?' {
                self.binds.push(binds.next().unwrap_or(Bind::OptI64(None)));
                self.text.push_str(&format!("${}", self.binds.len()));
            } else {
                self.text.push(ch);
            }
        }
        self
    }

    /// The text and binds so far (for tests of what filters write).
    #[cfg(test)]
    pub(super) fn parts(&self) -> (&str, &[Bind]) {
        (&self.text, &self.binds)
    }

    pub(super) fn query(self) -> AnyQuery<'static> {
        // The text is assembled from fixed fragments only; values travel as parameters.
        bind_all(sqlx::query(AssertSqlSafe(self.text)), self.binds)
    }
}

/// True for a unique-key violation.
pub(super) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}
