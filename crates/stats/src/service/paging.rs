//! Paging of `ListSalesFigures`, `GetRevisionHistory`, `ListReleases` and `DiffVintages` (AIP-158): page sizes and page
//! tokens. A token is the [`ListKey`] of the last figure served under a fingerprint of the
//! request that issued it, so a token used with other filters, or edited, is refused.
//!
//! A `ListSalesFigures` listing reads one state: its first page takes the engine's
//! sequence mark (every figure stored up to it is applied) and every token carries that
//! mark, bound into the fingerprint with the cursor, so later pages list what the first
//! page's state held even while imports land (`Engine::list_page` at a mark).

use autointel_domain::{ListFilter, RevisionHistoryQuery, Violations};
use autointel_proto::stats as wire;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use prost::Message;

use super::{digest, finish, present};
use crate::engine::{Engine, FigureRef, ListKey, RevisionPage};
use crate::error::StatsError;

/// Default page size of `ListSalesFigures`.
const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest page; larger requests are coerced to it.
const MAX_PAGE_SIZE: usize = 1000;
/// Default page size of `GetRevisionHistory` (its largest is [`MAX_PAGE_SIZE`]).
const DEFAULT_HISTORY_PAGE_SIZE: usize = 100;

/// An opaque page token: the query's fingerprint and the last key served.
pub fn encode_token(fingerprint: &str, key: &ListKey) -> String {
    encode_cursor_token(fingerprint, &key.encode())
}

/// The (fingerprint, last key) of a page token, if it is one of ours.
pub fn decode_token(token: &str) -> Option<(String, ListKey)> {
    let (fingerprint, cursor) = decode_cursor_token(token)?;
    Some((fingerprint, ListKey::decode(&cursor)?))
}

/// An opaque page token: the query's fingerprint and the text of the last item served.
fn encode_cursor_token(fingerprint: &str, cursor: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1\n{fingerprint}\n{cursor}"))
}

/// The (fingerprint, cursor text) of [`encode_cursor_token`]'s token, if it is one of ours.
fn decode_cursor_token(token: &str) -> Option<(String, String)> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(3, '\n');
    if parts.next()? != "v1" {
        return None;
    }
    Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
}

/// One page of a request that continues after the text of the last item served (a vintage
/// diff's [`ListKey`], a release's date and source): its size, that text, and the request
/// without its paging fields, which its tokens are bound to.
pub(super) struct CursorPage {
    /// Most items on the page.
    pub(super) size: usize,
    /// The text of the item the page continues after.
    pub(super) after: Option<String>,
    query: Vec<u8>,
}

/// The fingerprint of a [`CursorPage`] token: a digest of the request without its paging
/// fields and of the cursor, so that editing either is noticed.
fn cursor_fingerprint(query: &[u8], cursor: &str) -> String {
    let mut bytes = query.to_vec();
    bytes.extend_from_slice(b"\nafter\n");
    bytes.extend_from_slice(cursor.as_bytes());
    digest(&bytes)
}

/// Reads the page of a request paged by [`CursorPage`] into `v`; a token is accepted only
/// exactly as this service wrote it for the same request.
fn cursor_page(v: &mut Violations, r: &impl Paged) -> Option<CursorPage> {
    let size = page_size(v, r, DEFAULT_PAGE_SIZE);
    let query = r.query();
    let after = match r.page_token() {
        "" => None,
        token => match decode_cursor_token(token) {
            Some((fingerprint, cursor))
                if fingerprint == cursor_fingerprint(&query, &cursor)
                    && encode_cursor_token(&fingerprint, &cursor) == token =>
            {
                Some(cursor)
            }
            Some(_) => {
                v.push(
                    "page_token",
                    "was issued for a different request, or was altered",
                );
                None
            }
            None => {
                v.push("page_token", "is malformed");
                None
            }
        },
    };
    Some(CursorPage {
        size: size?,
        after,
        query,
    })
}

impl CursorPage {
    /// The token of the page after the one ending with `last`; empty unless `more` follow.
    pub(super) fn next_token(&self, last: Option<String>, more: bool) -> String {
        match last {
            Some(last) if more => {
                encode_cursor_token(&cursor_fingerprint(&self.query, &last), &last)
            }
            _ => String::new(),
        }
    }
}

/// Converts a paged request: its query (proto's `TryFrom`) and its [`CursorPage`], every
/// violation in field order.
pub(super) fn cursor_request<'a, R, Q>(r: &'a R) -> Result<(Q, CursorPage), StatsError>
where
    R: Paged,
    Q: TryFrom<&'a R, Error = autointel_domain::ValidationError>,
{
    let mut v = Violations::new();
    let page = cursor_page(&mut v, r);
    let query = v.check_nested("", Q::try_from(r));
    finish(v)?;
    Ok((present(query)?, present(page)?))
}

/// A `ListSalesFigures` page token: the fingerprint of the query, mark and cursor, the
/// sequence mark of the listing and the last key served.
fn encode_list_token(fingerprint: &str, mark: i64, key: &ListKey) -> String {
    URL_SAFE_NO_PAD.encode(format!("v2\n{fingerprint}\n{mark}\n{}", key.encode()))
}

/// What a `ListSalesFigures` page token holds.
enum ListToken {
    /// A token of this release: (fingerprint, mark, last key).
    Marked(String, i64, ListKey),
    /// A token of an earlier release, without a mark: (fingerprint, last key).
    Unmarked(String, ListKey),
}

/// Reads a `ListSalesFigures` page token, if it is one of ours.
fn decode_list_token(token: &str) -> Option<ListToken> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    if text.starts_with("v1\n") {
        let (fingerprint, key) = decode_token(token)?;
        return Some(ListToken::Unmarked(fingerprint, key));
    }
    let mut parts = text.splitn(4, '\n');
    if parts.next()? != "v2" {
        return None;
    }
    let fingerprint = parts.next()?.to_owned();
    let mark = parts.next()?.parse().ok().filter(|&m: &i64| m >= 0)?;
    let key = ListKey::decode(parts.next()?)?;
    Some(ListToken::Marked(fingerprint, mark, key))
}

/// The fingerprint of a `ListSalesFigures` page token: a digest of the request (without its
/// paging fields), the mark and the cursor, so that editing any of them is noticed.
fn list_fingerprint(query: &[u8], mark: i64, key: &ListKey) -> String {
    let mut bytes = query.to_vec();
    bytes.extend_from_slice(format!("\nat sequence {mark}\nafter\n").as_bytes());
    bytes.extend_from_slice(key.encode().as_bytes());
    digest(&bytes)
}

/// A paged request: its paging fields, and the rest of it, which its tokens are bound to.
pub(super) trait Paged: Message + Clone {
    fn page_size(&self) -> i32;
    fn page_token(&self) -> &str;
    fn clear_paging(&mut self);

    /// The request without its paging fields, encoded.
    fn query(&self) -> Vec<u8> {
        let mut query = self.clone();
        query.clear_paging();
        query.encode_to_vec()
    }
}

macro_rules! paged {
    ($($request:ty),*) => {$(
        impl Paged for $request {
            fn page_size(&self) -> i32 {
                self.page_size
            }
            fn page_token(&self) -> &str {
                &self.page_token
            }
            fn clear_paging(&mut self) {
                self.page_size = 0;
                self.page_token.clear();
            }
        }
    )*};
}

paged!(
    wire::ListSalesFiguresRequest,
    wire::GetRevisionHistoryRequest,
    wire::ListReleasesRequest,
    wire::DiffVintagesRequest
);

/// The page size asked for: `default` for 0, at most [`MAX_PAGE_SIZE`], never negative.
fn page_size(v: &mut Violations, request: &impl Paged, default: usize) -> Option<usize> {
    match request.page_size() {
        0 => Some(default),
        n if n < 0 => {
            v.push("page_size", "must not be negative");
            None
        }
        n => Some(
            usize::try_from(n)
                .unwrap_or(MAX_PAGE_SIZE)
                .min(MAX_PAGE_SIZE),
        ),
    }
}

/// The key a request's page token continues after (`None` for the first page); a token
/// that is not ours is malformed, one `accepts` refuses is recorded as `refused`.
fn token_key(
    v: &mut Violations,
    request: &impl Paged,
    refused: &str,
    accepts: impl FnOnce(&str, &ListKey) -> bool,
) -> Option<ListKey> {
    let token = request.page_token();
    if token.is_empty() {
        return None;
    }
    match decode_token(token) {
        Some((fingerprint, key)) if accepts(&fingerprint, &key) => Some(key),
        Some(_) => {
            v.push("page_token", refused);
            None
        }
        None => {
            v.push("page_token", "is malformed");
            None
        }
    }
}

/// One page of `ListSalesFigures`: its size, the key it continues after, the sequence mark
/// its token carries (none on a first page, which reads at the engine's mark) and the
/// request without its paging fields, which its tokens are bound to.
pub(super) struct ListPage {
    size: usize,
    after: Option<ListKey>,
    mark: Option<i64>,
    query: Vec<u8>,
}

/// Converts a `ListSalesFigures` request: its filter and its page, every violation in field
/// order. A token is accepted only as this service wrote it: with the same filters, and
/// with its mark and cursor unaltered.
pub(super) fn list_request(
    r: &wire::ListSalesFiguresRequest,
) -> Result<(ListFilter, ListPage), StatsError> {
    let mut v = Violations::new();
    let size = page_size(&mut v, r, DEFAULT_PAGE_SIZE);
    let filter = v.check_nested("", ListFilter::try_from(r));
    let query = r.query();
    let (after, mark) = match r.page_token.as_str() {
        "" => (None, None),
        token => match decode_list_token(token) {
            Some(ListToken::Marked(fingerprint, mark, key))
                if fingerprint == list_fingerprint(&query, mark, &key)
                    && encode_list_token(&fingerprint, mark, &key) == token =>
            {
                (Some(key), Some(mark))
            }
            // A token of an earlier release lists at the mark of the page it continues.
            Some(ListToken::Unmarked(fingerprint, key)) if fingerprint == digest(&query) => {
                (Some(key), None)
            }
            Some(_) => {
                v.push(
                    "page_token",
                    "was issued for different filters, or was altered",
                );
                (None, None)
            }
            None => {
                v.push("page_token", "is malformed");
                (None, None)
            }
        },
    };
    finish(v)?;
    let page = ListPage {
        size: present(size)?,
        after,
        mark,
        query,
    };
    Ok((present(filter)?, page))
}

impl ListPage {
    /// The cursor this page continues after and its size.
    pub(super) fn window(&self) -> (Option<&ListKey>, usize) {
        (self.after.as_ref(), self.size)
    }

    /// The sequence mark the token carries; `None` for a first page.
    pub(super) fn mark(&self) -> Option<i64> {
        self.mark
    }

    /// The token of the page after `page`, read at `mark`; empty unless `more` follow.
    pub(super) fn next_token<T>(&self, page: &[(ListKey, T)], more: bool, mark: i64) -> String {
        match page.last() {
            Some((last, _)) if more => {
                encode_list_token(&list_fingerprint(&self.query, mark, last), mark, last)
            }
            _ => String::new(),
        }
    }
}

/// One page of `GetRevisionHistory`: its size, the revision it continues after and the
/// request without its paging fields, which its tokens are bound to.
pub(super) struct HistoryPage {
    /// Most revisions on the page.
    pub(super) size: usize,
    after: Option<ListKey>,
    query: Vec<u8>,
}

/// The fingerprint of a `GetRevisionHistory` page token: a digest of the request (without
/// its paging fields) and of the cursor, so that editing either is noticed.
fn history_fingerprint(query: &[u8], key: &ListKey) -> String {
    let mut bytes = query.to_vec();
    bytes.extend_from_slice(b"\nrevisions after\n");
    bytes.extend_from_slice(key.encode().as_bytes());
    digest(&bytes)
}

/// Converts a `GetRevisionHistory` request: its series and period and its page, every
/// violation in field order. Only the exact token text this service issues is accepted: a
/// token that decodes to the same cursor in another spelling (hex case, say) is an edited
/// one too.
pub(super) fn history_request(
    r: &wire::GetRevisionHistoryRequest,
) -> Result<(RevisionHistoryQuery, HistoryPage), StatsError> {
    let mut v = Violations::new();
    let query = v.check_nested("", RevisionHistoryQuery::try_from(r));
    let size = page_size(&mut v, r, DEFAULT_HISTORY_PAGE_SIZE);
    let bytes = r.query();
    let after = token_key(
        &mut v,
        r,
        "was issued for a different series or period, or was altered",
        |fingerprint, key| {
            fingerprint == history_fingerprint(&bytes, key)
                && encode_token(fingerprint, key) == r.page_token
        },
    );
    finish(v)?;
    let page = HistoryPage {
        size: present(size)?,
        after,
        query: bytes,
    };
    Ok((present(query)?, page))
}

/// The refusal of a token that names no revision of the request's series and period.
pub(super) fn not_a_revision() -> StatsError {
    StatsError::invalid("page_token", "names no revision of this series and period")
}

impl HistoryPage {
    /// The revision the page continues after, if any.
    pub(super) fn after(&self, engine: &Engine) -> Result<Option<FigureRef>, StatsError> {
        match &self.after {
            Some(key) => Ok(Some(
                engine.figure_of_list_key(key).ok_or_else(not_a_revision)?,
            )),
            None => Ok(None),
        }
    }

    /// The token of the page after `page`, empty when it is the last.
    pub(super) fn next_token(
        &self,
        engine: &Engine,
        page: &RevisionPage,
    ) -> Result<String, StatsError> {
        match page.revisions.last() {
            Some(&last) if page.more => {
                let key = engine
                    .list_key(last)
                    .ok_or_else(|| StatsError::Internal("revision missing".to_owned()))?;
                Ok(encode_token(&history_fingerprint(&self.query, &key), &key))
            }
            _ => Ok(String::new()),
        }
    }
}
