//! Whole collections stats reads from the registry, page by page: every source (to take the
//! registry's changes to the sources figures cite) and every relationship (the ownership
//! graph that rankings of groups roll up over, kept for `registry.cache_ttl_ms`).

use std::sync::Arc;
use std::time::Instant;

use autointel_domain::{OwnershipHistory, Relationship, Source};
use autointel_proto::registry as wire;
use tonic::Request;

use super::RegistryClient;
use crate::error::StatsError;

impl RegistryClient {
    /// Every source the registry holds, page by page.
    pub async fn sources(&self) -> Result<Vec<Source>, StatsError> {
        let what = "the sources";
        let mut all = Vec::new();
        let mut page_token = String::new();
        loop {
            let token = page_token.clone();
            let answer = self
                .call("ListSources", what, |mut c, timeout| {
                    let mut request = Request::new(wire::ListSourcesRequest {
                        page_size: 1000,
                        page_token: token.clone(),
                        ..Default::default()
                    });
                    request.set_timeout(timeout);
                    async move { c.list_sources(request).await }
                })
                .await?;
            let page = answer.map_err(|status| Self::unexpected(what, &status))?;
            for w in &page.sources {
                let source = Source::try_from(w)
                    .map_err(|e| StatsError::Registry(format!("invalid source {}: {e}", w.name)))?;
                all.push(source);
            }
            if page.next_page_token.is_empty() {
                return Ok(all);
            }
            page_token = page.next_page_token;
        }
    }

    /// Every ownership relationship with its validity: the hierarchy on any date, which
    /// rankings of groups and rollups split at its changes read. The registry's
    /// relationships are read at most once per `registry.cache_ttl_ms` (the registry does
    /// not announce relationship changes, so an answer sees a change within that time).
    pub async fn ownership_history(&self) -> Result<Arc<OwnershipHistory>, StatsError> {
        let cached = self.relationships.lock().ok().and_then(|cached| {
            cached
                .as_ref()
                .filter(|(read, _)| read.elapsed() < self.organization_ttl)
                .map(|(_, history)| history.clone())
        });
        if let Some(history) = cached {
            return Ok(history);
        }
        let history = Arc::new(OwnershipHistory::new(self.all_relationships().await?));
        if let Ok(mut cache) = self.relationships.lock() {
            *cache = Some((Instant::now(), history.clone()));
        }
        Ok(history)
    }

    /// Every relationship the registry holds, page by page.
    async fn all_relationships(&self) -> Result<Vec<Relationship>, StatsError> {
        let what = "the relationships";
        let mut all = Vec::new();
        let mut page_token = String::new();
        loop {
            let token = page_token.clone();
            let answer = self
                .call("ListRelationships", what, |mut c, timeout| {
                    let mut request = Request::new(wire::ListRelationshipsRequest {
                        page_size: 1000,
                        page_token: token.clone(),
                        ..Default::default()
                    });
                    request.set_timeout(timeout);
                    async move { c.list_relationships(request).await }
                })
                .await?;
            let page = answer.map_err(|status| Self::unexpected(what, &status))?;
            for w in &page.relationships {
                let relationship = Relationship::try_from(w).map_err(|e| {
                    StatsError::Registry(format!("invalid relationship {}: {e}", w.name))
                })?;
                all.push(relationship);
            }
            if page.next_page_token.is_empty() {
                return Ok(all);
            }
            page_token = page.next_page_token;
        }
    }
}
