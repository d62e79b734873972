//! Organisation match keys: recomputed at start-up, rule-breaking names reported.

use prost::Message;
use sqlx::Row;

use super::{Result, Store};
use crate::error::RegistryError;

/// What [`Store::refresh_match_keys`] did and found.
#[derive(Clone, Debug, Default)]
pub struct MatchKeyReport {
    /// Organisations whose match keys were recomputed.
    pub recomputed: usize,
    /// Organisations whose stored names break the write rules (reported, kept).
    pub breaking_rules: Vec<String>,
    /// Organisations with two aliases that the current key makes one (stored under an
    /// older key, e.g. a traditional and a simplified spelling): readable, found by either,
    /// and an update of their aliases must drop one.
    pub duplicate_aliases: Vec<String>,
}

impl Store {
    /// Organisations stored before the alias limit with more aliases than it allows: they
    /// stay readable, and an update must bring them within it. Start-up reports them.
    pub async fn organizations_over_alias_limit(&self) -> Result<Vec<String>> {
        // organization_names holds the English and Chinese names besides the aliases
        let limit = i64::try_from(autointel_domain::MAX_ALIASES + 2).unwrap_or(i64::MAX);
        let rows = sqlx::query(
            "SELECT organization_id FROM organization_names GROUP BY organization_id \
             HAVING COUNT(*) > $1 ORDER BY organization_id LIMIT 100",
        )
        .bind(limit)
        .fetch_all(&self.inner.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(RegistryError::from))
            .collect()
    }

    /// Recomputes every organisation's stored match keys with the current
    /// [`autointel_domain::match_key`] where they differ (rows written by an older binary,
    /// or before the key changed), and lists the organisations whose stored names break
    /// the write rules (not NFC, or with invisible or direction-override characters, or
    /// aliases the current key makes one): they
    /// stay readable, as NFC, and are reported, never rewritten behind the client's back.
    /// Idempotent; safe beside older binaries, whose lookups still find both keys.
    pub async fn refresh_match_keys(&self) -> Result<MatchKeyReport> {
        let mut report = MatchKeyReport::default();
        let rows = sqlx::query("SELECT id, body FROM organizations ORDER BY id")
            .fetch_all(&self.inner.pool)
            .await?;
        let mut stored: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        for row in sqlx::query("SELECT organization_id, name_folded FROM organization_names")
            .fetch_all(&self.inner.pool)
            .await?
        {
            stored
                .entry(row.try_get(0)?)
                .or_default()
                .push(row.try_get(1)?);
        }
        for row in &rows {
            let id: String = row.try_get(0)?;
            let body: Vec<u8> = row.try_get(1)?;
            let wire = autointel_proto::registry::Organization::decode(body.as_slice())
                .map_err(|e| RegistryError::Corrupt(format!("organizations: {e}")))?;
            let names: Vec<&str> = std::iter::once(wire.english_name.as_str())
                .chain((!wire.chinese_name.is_empty()).then_some(wire.chinese_name.as_str()))
                .chain(wire.aliases.iter().map(String::as_str))
                .collect();
            if names.iter().any(|n| {
                !autointel_domain::text::is_stored_form(n)
                    || autointel_domain::text::check_visible(n).is_err()
            }) {
                report.breaking_rules.push(id.clone());
            }
            let mut duplicates = autointel_domain::Violations::new();
            autointel_domain::check_distinct_aliases(&mut duplicates, "aliases", &wire.aliases);
            if duplicates.finish().is_err() {
                report.duplicate_aliases.push(id.clone());
            }
            let mut wanted: Vec<String> = names
                .iter()
                .map(|n| autointel_domain::match_key(n))
                .collect();
            wanted.sort();
            wanted.dedup();
            let mut have = stored.remove(&id).unwrap_or_default();
            have.sort();
            if have == wanted {
                continue;
            }
            let _guard = self.lock().await;
            let mut tx = self.inner.pool.begin().await?;
            sqlx::query("DELETE FROM organization_names WHERE organization_id = $1")
                .bind(id.clone())
                .execute(&mut *tx)
                .await?;
            for key in wanted {
                sqlx::query(
                    "INSERT INTO organization_names (organization_id, name_folded) VALUES ($1, $2)",
                )
                .bind(id.clone())
                .bind(key)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            report.recomputed += 1;
        }
        Ok(report)
    }
}
