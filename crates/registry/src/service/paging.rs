//! Paging of List requests (AIP-158): page sizes, page tokens bound to the query that
//! issued them, and the watch cursors of the event change log.

use autointel_domain::Violations;
use autointel_proto::registry as wire;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use prost::Message;

use super::Result;
use super::request::finish;
use super::resource::wires;
use crate::error::RegistryError;
use crate::store::{Filter, Page, PageRequest, Record, Store};

/// Page size when the request leaves it at 0 (AIP-158).
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest page; larger requests are coerced to it.
pub const MAX_PAGE_SIZE: usize = 1000;

/// A List request: its paging fields, and the rest of it that a page token is bound to.
pub(super) trait ListRequest: Message + Clone {
    /// The method name, part of the query's fingerprint.
    const METHOD: &'static str;
    /// Requested page size.
    fn page_size(&self) -> i32;
    /// The token of the page to continue after.
    fn page_token(&self) -> &str;
    /// The request with its paging fields cleared.
    fn without_paging(&self) -> Self;
}

macro_rules! list_requests {
    ($($request:ty => $method:literal),* $(,)?) => {
        $(impl ListRequest for $request {
            const METHOD: &'static str = $method;
            fn page_size(&self) -> i32 {
                self.page_size
            }
            fn page_token(&self) -> &str {
                &self.page_token
            }
            fn without_paging(&self) -> Self {
                Self {
                    page_size: 0,
                    page_token: String::new(),
                    ..self.clone()
                }
            }
        })*
    };
}

list_requests! {
    wire::ListOrganizationsRequest => "ListOrganizations",
    wire::ListRelationshipsRequest => "ListRelationships",
    wire::ListPartnershipsRequest => "ListPartnerships",
    wire::ListEventsRequest => "ListEvents",
    wire::ListTargetsRequest => "ListTargets",
    wire::ListPeopleRequest => "ListPeople",
    wire::ListSourcesRequest => "ListSources",
}

/// One page of a List request: the paging fields are checked together with the filters'
/// violations (`v`), and the next page token is bound to the request's other fields.
/// Returns the page's records and the next page token (empty after the last page).
pub(super) async fn list_page<R: ListRequest, F: Filter>(
    store: &Store,
    request: &R,
    mut v: Violations,
    filter: &F,
) -> Result<(Vec<<F::Record as Record>::Wire>, String)> {
    let fp = fingerprint(R::METHOD, &request.without_paging().encode_to_vec());
    let page = page_request(&mut v, fp, request.page_size(), request.page_token());
    finish(v)?;
    let Some(page) = page else {
        return Err(RegistryError::invalid("page_token", "is invalid"));
    };
    let result = store.list(filter, &page).await?;
    Ok((wires(&result.items), next_token(fp, &result)))
}

/// FNV-1a: a stable fingerprint of a request's filters for page tokens.
fn fingerprint(method: &str, filters: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in method.as_bytes().iter().chain([0u8].iter()).chain(filters) {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Page size and position from a list request; the token must come from the same query.
fn page_request(
    v: &mut Violations,
    fp: u64,
    page_size: i32,
    page_token: &str,
) -> Option<PageRequest> {
    let size = match page_size {
        n if n < 0 => {
            v.push("page_size", "must not be negative");
            return None;
        }
        0 => DEFAULT_PAGE_SIZE,
        n => usize::try_from(n)
            .unwrap_or(MAX_PAGE_SIZE)
            .min(MAX_PAGE_SIZE),
    };
    if page_token.is_empty() {
        return Some(PageRequest { size, after: None });
    }
    match decode_page_token(page_token) {
        None => {
            v.push("page_token", "is malformed");
            None
        }
        Some((token_fp, _, _)) if token_fp != fp => {
            v.push(
                "page_token",
                "was issued for a different query; repeat the same filters or start over",
            );
            None
        }
        Some((_, rank, id)) => Some(PageRequest {
            size,
            after: Some((rank, id)),
        }),
    }
}

fn next_token<T>(fp: u64, page: &Page<T>) -> String {
    match &page.next {
        None => String::new(),
        Some((rank, id)) => encode_page_token(fp, *rank, id),
    }
}

/// An opaque page token: the query's fingerprint and the (rank, id) of the last item served.
pub fn encode_page_token(fp: u64, rank: i64, id: &str) -> String {
    let payload = format!("v2:{fp:016x}:{rank}:{id}");
    let check = fingerprint("page_token", payload.as_bytes());
    URL_SAFE_NO_PAD.encode(format!("{payload}:{check:016x}"))
}

/// Base64 that is exactly what we would have written: a token whose last character was
/// edited in its unused bits decodes to the same bytes but is not canonical, and is refused.
fn canonical_base64(text: &str) -> Option<Vec<u8>> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    (URL_SAFE_NO_PAD.encode(&bytes) == text).then_some(bytes)
}

/// The (fingerprint, rank, id) of a page token, if it is one of ours.
/// Any edit of a token (its checksum covers the payload, its base64 must be canonical)
/// makes it not ours.
pub fn decode_page_token(page_token: &str) -> Option<(u64, i64, String)> {
    let text = String::from_utf8(canonical_base64(page_token)?).ok()?;
    let (payload, check) = text.rsplit_once(':')?;
    if check != format!("{:016x}", fingerprint("page_token", payload.as_bytes())) {
        return None;
    }
    let mut parts = payload.splitn(4, ':');
    let (Some("v2"), Some(token_fp), Some(rank), Some(id)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    Some((
        u64::from_str_radix(token_fp, 16).ok()?,
        rank.parse::<i64>().ok()?,
        id.to_owned(),
    ))
}

pub use autointel_server::fanout::{decode_cursor, encode_cursor};

#[cfg(test)]
mod token_tests {
    // The public paths fuzz/ and the tests use.
    use crate::service::{decode_cursor, decode_page_token, encode_cursor, encode_page_token};

    /// Every one-character edit of a page token is refused (none reads as another
    /// position), and so is every edit of a watch cursor's last character.
    #[test]
    fn edited_tokens_are_refused() {
        const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let token = encode_page_token(0x1234_5678_9abc_def0, 7, "dongfeng-nissan");
        assert_eq!(
            decode_page_token(&token),
            Some((0x1234_5678_9abc_def0, 7, "dongfeng-nissan".to_owned()))
        );
        let mut accepted = 0;
        for (i, original) in token.char_indices() {
            for c in ALPHABET.chars().filter(|&c| c != original) {
                let mut edited = token.clone();
                edited.replace_range(i..=i, &c.to_string());
                if decode_page_token(&edited).is_some() {
                    accepted += 1;
                }
            }
        }
        assert_eq!(accepted, 0, "edited page tokens accepted");
        let cursor = encode_cursor(42);
        let last = cursor.len() - 1;
        for c in ALPHABET.chars() {
            let mut edited = cursor.clone();
            edited.replace_range(last.., &c.to_string());
            if edited != cursor {
                assert_ne!(decode_cursor(&edited), Some(42), "{edited}");
            }
        }
    }
}
