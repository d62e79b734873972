//! Engine snapshots: the whole engine as flat little-endian arrays, so that a starting
//! server reads its figures back at close to the speed of a sequential read instead of
//! decoding and placing every row again.
//!
//! # Format (version [`SNAPSHOT_FORMAT`])
//!
//! `AIENGSNP`, the format (`u32`), a digest of the code tables the rows use (`u64`: the
//! order of stages, bases, flows, scopes, powertrains and natures, so a build that
//! reorders one refuses an older snapshot even if the format number was not raised), the
//! store sequence number applied (`i64`), the id of the stored figure with that sequence
//! number (the *anchor*: a restored or replaced database is recognised by it), the number of
//! figures (`u64`) and the writing time (`i64`, µs since the Unix epoch); then the body,
//! every array as its length (`u64`) and its elements (format 2 added every row's store
//! sequence number, as runs after the import times; format 3 dropped the id index, which
//! is rebuilt from the numbers in one pass); then `AIENGEND` and the CRC-32 of
//! every byte before it. Everything derived from the series keys alone (the key → series
//! map, the by-organisation and by-dimension lists) is rebuilt on load, which is linear in
//! the number of series, not of figures.
//!
//! Reading never trusts a length further than the size of the snapshot it was given, and
//! a snapshot is used only when its checksum matches: a truncated, bit-flipped or foreign
//! snapshot gives an error, never a different engine.

use std::io::{self, Read, Write};

use autointel_domain::{
    FigureNature, Flow, Market, MeasureBasis, OrganizationId, Powertrain, ReleaseStage, SourceId,
    VehicleScope,
};

use super::layout::{
    CompactKey, Entry, IdIndex, Interner, Numbers, Row, period_code, period_from_code,
};
use super::{Engine, FastMap};

/// The snapshot format this build writes and reads; raised whenever the layout changes.
pub const SNAPSHOT_FORMAT: u32 = 3;

const MAGIC: [u8; 8] = *b"AIENGSNP";
const END: [u8; 8] = *b"AIENGEND";

/// Elements converted per step between bytes and arrays: bounds the scratch buffer.
const STEP: usize = 1 << 16;

/// What a snapshot says about itself, readable before its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotHeader {
    /// The format it was written in.
    pub format: u32,
    /// Store sequence number applied: every stored figure up to it is in the snapshot.
    pub last_seq: i64,
    /// The id of the stored figure whose sequence number is `last_seq` (none when 0).
    pub anchor: Option<String>,
    /// Figures held.
    pub figures: u64,
    /// When it was written, µs since the Unix epoch.
    pub written_at_micros: i64,
}

/// Why a snapshot cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Reading or writing failed.
    #[error("snapshot I/O: {0}")]
    Io(#[from] io::Error),
    /// It ends early.
    #[error("snapshot is truncated")]
    Truncated,
    /// It does not start like a snapshot.
    #[error("not an engine snapshot")]
    NotASnapshot,
    /// Another format.
    #[error("snapshot format {0}; this server reads format {SNAPSHOT_FORMAT}")]
    Format(u32),
    /// Written with other code tables.
    #[error("snapshot was written with other code tables")]
    Codes,
    /// The checksum does not match its bytes.
    #[error("snapshot checksum does not match")]
    Checksum,
    /// The bytes are well formed but do not make an engine.
    #[error("snapshot is inconsistent: {0}")]
    Inconsistent(&'static str),
}

/// A digest of the code tables rows and keys store as small integers.
fn codes_digest() -> u64 {
    let tables = format!(
        "{:?}{:?}{:?}{:?}{:?}{:?}",
        ReleaseStage::ALL,
        MeasureBasis::ALL,
        Flow::ALL,
        VehicleScope::ALL,
        Powertrain::ALL,
        FigureNature::ALL
    );
    // FNV-1a: stable across builds and platforms.
    tables.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A fixed-size little-endian element of an array.
trait Element: Copy {
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! element {
    ($($t:ty),*) => {$(
        impl Element for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                let mut b = [0; std::mem::size_of::<$t>()];
                b.copy_from_slice(bytes);
                <$t>::from_le_bytes(b)
            }
        }
    )*};
}
element!(u8, u32, u64, i64);

/// A writer that counts and checksums what passes through it.
struct Checked<W> {
    inner: W,
    crc: crc32fast::Hasher,
    bytes: u64,
    scratch: Vec<u8>,
}

impl<W: Write> Checked<W> {
    fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.crc.update(b);
        self.bytes += b.len() as u64;
        self.inner.write_all(b)
    }

    fn value<T: Element>(&mut self, v: T) -> io::Result<()> {
        let mut out = Vec::with_capacity(T::SIZE);
        v.put(&mut out);
        self.bytes(&out)
    }

    fn array<T: Element>(&mut self, values: &[T]) -> io::Result<()> {
        self.value(values.len() as u64)?;
        let mut scratch = std::mem::take(&mut self.scratch);
        for step in values.chunks(STEP) {
            scratch.clear();
            for &v in step {
                v.put(&mut scratch);
            }
            self.bytes(&scratch)?;
        }
        self.scratch = scratch;
        Ok(())
    }

    fn strings<'a>(&mut self, values: impl Iterator<Item = &'a str> + Clone) -> io::Result<()> {
        let lengths: Vec<u32> = values
            .clone()
            .map(|s| u32::try_from(s.len()).unwrap_or(u32::MAX))
            .collect();
        self.array(&lengths)?;
        let text: Vec<u8> = values.flat_map(str::bytes).collect();
        self.array(&text)
    }
}

/// A reader that checksums what it reads and refuses lengths past the snapshot's size.
struct Verified<R> {
    inner: R,
    crc: crc32fast::Hasher,
    /// Bytes the snapshot can still hold (its size less what was read).
    left: u64,
    scratch: Vec<u8>,
}

impl<R: Read> Verified<R> {
    fn bytes(&mut self, out: &mut [u8]) -> Result<(), SnapshotError> {
        if out.len() as u64 > self.left {
            return Err(SnapshotError::Truncated);
        }
        self.inner.read_exact(out).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => SnapshotError::Truncated,
            _ => SnapshotError::Io(e),
        })?;
        self.crc.update(out);
        self.left -= out.len() as u64;
        Ok(())
    }

    fn value<T: Element>(&mut self) -> Result<T, SnapshotError> {
        let mut b = [0u8; 8];
        let b = &mut b[..T::SIZE];
        self.bytes(b)?;
        Ok(T::get(b))
    }

    fn array<T: Element>(&mut self) -> Result<Vec<T>, SnapshotError> {
        let len = self.value::<u64>()?;
        if len.saturating_mul(T::SIZE as u64) > self.left {
            return Err(SnapshotError::Truncated);
        }
        let len = usize::try_from(len).map_err(|_| SnapshotError::Truncated)?;
        let mut out = Vec::with_capacity(len);
        let mut scratch = std::mem::take(&mut self.scratch);
        while out.len() < len {
            let n = (len - out.len()).min(STEP);
            scratch.resize(n * T::SIZE, 0);
            self.bytes(&mut scratch)?;
            out.extend(scratch.chunks_exact(T::SIZE).map(T::get));
        }
        self.scratch = scratch;
        Ok(out)
    }

    fn strings(&mut self) -> Result<Vec<String>, SnapshotError> {
        let lengths: Vec<u32> = self.array()?;
        let text: Vec<u8> = self.array()?;
        let mut out = Vec::with_capacity(lengths.len());
        let mut at = 0usize;
        for len in lengths {
            let end = at
                .checked_add(len as usize)
                .filter(|&e| e <= text.len())
                .ok_or(SnapshotError::Inconsistent("string lengths"))?;
            let s = std::str::from_utf8(&text[at..end])
                .map_err(|_| SnapshotError::Inconsistent("text is not UTF-8"))?;
            out.push(s.to_owned());
            at = end;
        }
        Ok(out)
    }

    fn parsed<T>(
        &mut self,
        parse: impl Fn(&str) -> Option<T>,
        what: &'static str,
    ) -> Result<Vec<T>, SnapshotError> {
        self.strings()?
            .iter()
            .map(|s| parse(s).ok_or(SnapshotError::Inconsistent(what)))
            .collect()
    }
}

/// Sorted (key, value) columns of a map, for a deterministic snapshot.
fn columns<V: Copy>(map: &FastMap<u32, V>) -> (Vec<u32>, Vec<V>) {
    let mut pairs: Vec<(u32, V)> = map.iter().map(|(&k, &v)| (k, v)).collect();
    pairs.sort_unstable_by_key(|&(k, _)| k);
    pairs.into_iter().unzip()
}

fn zip_map<V>(keys: Vec<u32>, values: Vec<V>) -> Result<FastMap<u32, V>, SnapshotError> {
    if keys.len() != values.len() {
        return Err(SnapshotError::Inconsistent("map columns differ in length"));
    }
    Ok(keys.into_iter().zip(values).collect())
}

/// The highest sequence number of the rows of `rows` rows' sequence runs (see
/// `Engine::seq_runs`), refusing runs that start past the last row.
fn max_run_seq(firsts: &[u32], seqs: &[i64], rows: usize) -> Result<i64, SnapshotError> {
    let mut max = 0;
    for (i, (&first, &seq)) in firsts.iter().zip(seqs).enumerate() {
        let end = firsts.get(i + 1).map_or(rows, |&next| next as usize);
        let len = end
            .checked_sub(first as usize)
            .filter(|&len| len > 0)
            .ok_or(SnapshotError::Inconsistent("sequence numbers"))?;
        if seq > 0 {
            let last = i64::try_from(len - 1)
                .ok()
                .and_then(|l| seq.checked_add(l))
                .ok_or(SnapshotError::Inconsistent("sequence numbers"))?;
            max = max.max(last);
        }
    }
    Ok(max)
}

fn interner<T: std::hash::Hash + Eq + Clone>(
    values: Vec<T>,
    what: &'static str,
) -> Result<Interner<T>, SnapshotError> {
    Interner::from_values(values).ok_or(SnapshotError::Inconsistent(what))
}

/// Reads a snapshot's header; an error for anything that is not a snapshot this build
/// reads.
fn read_header<R: Read>(r: &mut Verified<R>) -> Result<SnapshotHeader, SnapshotError> {
    let mut magic = [0u8; 8];
    r.bytes(&mut magic)
        .map_err(|_| SnapshotError::NotASnapshot)?;
    if magic != MAGIC {
        return Err(SnapshotError::NotASnapshot);
    }
    let format = r.value::<u32>()?;
    if format != SNAPSHOT_FORMAT {
        return Err(SnapshotError::Format(format));
    }
    if r.value::<u64>()? != codes_digest() {
        return Err(SnapshotError::Codes);
    }
    let last_seq = r.value::<i64>()?;
    let anchor = r.strings()?.pop();
    let figures = r.value::<u64>()?;
    let written_at_micros = r.value::<i64>()?;
    Ok(SnapshotHeader {
        format,
        last_seq,
        anchor,
        figures,
        written_at_micros,
    })
}

impl Engine {
    /// Writes the engine as a snapshot whose header records `anchor` (the id of the stored
    /// figure with sequence number [`Engine::last_seq`]) and `written_at_micros`; returns
    /// the header and the bytes written. Source details are not part of it (the store holds
    /// them).
    pub fn write_snapshot<W: Write>(
        &self,
        w: W,
        anchor: Option<&str>,
        written_at_micros: i64,
    ) -> Result<(SnapshotHeader, u64), SnapshotError> {
        let mut w = Checked {
            inner: w,
            crc: crc32fast::Hasher::new(),
            bytes: 0,
            scratch: Vec::new(),
        };
        let header = SnapshotHeader {
            format: SNAPSHOT_FORMAT,
            last_seq: self.last_seq,
            anchor: anchor.map(str::to_owned),
            figures: self.rows.len() as u64,
            written_at_micros,
        };
        w.bytes(&MAGIC)?;
        w.value(header.format)?;
        w.value(codes_digest())?;
        w.value(header.last_seq)?;
        w.strings(header.anchor.iter().map(String::as_str))?;
        w.value(header.figures)?;
        w.value(header.written_at_micros)?;

        w.strings(
            self.organizations
                .values()
                .iter()
                .map(OrganizationId::as_str),
        )?;
        w.strings(self.markets.values().iter().map(Market::as_str))?;
        w.strings(self.sources.values().iter().map(SourceId::as_str))?;

        let words: Vec<u32> = self.rows.iter().flat_map(Row::words).collect();
        w.array(&words)?;
        drop(words);
        let (low, run_starts, run_highs) = self.numbers.parts();
        w.array(low)?;
        w.array(run_starts)?;
        w.array(run_highs)?;
        let (firsts, times): (Vec<u32>, Vec<i64>) = self.create_runs.iter().copied().unzip();
        w.array(&firsts)?;
        w.array(&times)?;
        let (firsts, seqs): (Vec<u32>, Vec<i64>) = self.seq_runs.iter().copied().unzip();
        w.array(&firsts)?;
        w.array(&seqs)?;

        let mut notes: Vec<(u32, &str)> = self.notes.iter().map(|(&r, n)| (r, &**n)).collect();
        notes.sort_unstable_by_key(|&(r, _)| r);
        let note_rows: Vec<u32> = notes.iter().map(|&(r, _)| r).collect();
        w.array(&note_rows)?;
        w.strings(notes.iter().map(|&(_, n)| n))?;
        let (keys, values) = columns(&self.comparable_priors);
        w.array(&keys)?;
        w.array(&values)?;
        let (keys, values) = columns(&self.supersedes);
        w.array(&keys)?;
        w.array(&values)?;

        let k = &self.series_keys;
        w.array(&k.iter().map(|k| k.organization).collect::<Vec<_>>())?;
        w.array(&k.iter().map(|k| k.market).collect::<Vec<_>>())?;
        w.array(&k.iter().map(|k| k.destination).collect::<Vec<_>>())?;
        let dims: Vec<u8> = k
            .iter()
            .flat_map(|k| [k.basis, k.flow, k.scope, k.powertrain, k.nature])
            .collect();
        w.array(&dims)?;

        let lengths: Vec<u32> = self
            .entries
            .iter()
            .map(|l| u32::try_from(l.len()).unwrap_or(u32::MAX))
            .collect();
        w.array(&lengths)?;
        let periods: Vec<u32> = self
            .entries
            .iter()
            .flatten()
            .map(|e| period_code(e.period()))
            .collect();
        w.array(&periods)?;
        drop(periods);
        let rows: Vec<u32> = self.entries.iter().flatten().map(|e| e.row).collect();
        w.array(&rows)?;
        drop(rows);

        let mut long: Vec<(&u32, &Vec<(u32, u32)>)> = self.long_series.iter().collect();
        long.sort_unstable_by_key(|&(s, _)| *s);
        w.array(&long.iter().map(|&(&s, _)| s).collect::<Vec<_>>())?;
        w.array(
            &long
                .iter()
                .map(|(_, i)| u32::try_from(i.len()).unwrap_or(u32::MAX))
                .collect::<Vec<_>>(),
        )?;
        w.array(
            &long
                .iter()
                .flat_map(|(_, i)| i.iter().map(|p| p.0))
                .collect::<Vec<_>>(),
        )?;
        w.array(
            &long
                .iter()
                .flat_map(|(_, i)| i.iter().map(|p| p.1))
                .collect::<Vec<_>>(),
        )?;
        let mut irregular: Vec<u32> = self.irregular.iter().copied().collect();
        irregular.sort_unstable();
        w.array(&irregular)?;

        let crc = w.crc.clone().finalize();
        w.inner.write_all(&END)?;
        w.inner.write_all(&crc.to_le_bytes())?;
        w.inner.flush()?;
        Ok((header, w.bytes + 12))
    }

    /// Reads a snapshot of at most `size` bytes (its file's or chunks' total size) into an
    /// engine without source details; any defect is an error (see the module docs).
    pub fn read_snapshot<R: Read>(
        r: R,
        size: u64,
    ) -> Result<(Self, SnapshotHeader), SnapshotError> {
        let mut r = Verified {
            inner: r,
            crc: crc32fast::Hasher::new(),
            left: size,
            scratch: Vec::new(),
        };
        let header = read_header(&mut r)?;
        let inconsistent = SnapshotError::Inconsistent;
        let organizations = r.parsed(|s| OrganizationId::parse(s).ok(), "organisation id")?;
        let markets = r.parsed(|s| Market::parse(s).ok(), "market")?;
        let sources = r.parsed(|s| SourceId::parse(s).ok(), "source id")?;

        let words: Vec<u32> = r.array()?;
        let rows: Vec<Row> = words
            .chunks_exact(4)
            .map(|w| Row::from_words([w[0], w[1], w[2], w[3]]))
            .collect();
        drop(words);
        let numbers = Numbers::from_parts(r.array()?, r.array()?, r.array()?)
            .ok_or(inconsistent("figure numbers"))?;
        let firsts: Vec<u32> = r.array()?;
        let times: Vec<i64> = r.array()?;
        if firsts.len() != times.len() {
            return Err(inconsistent("import times"));
        }
        let seq_firsts: Vec<u32> = r.array()?;
        let seqs: Vec<i64> = r.array()?;
        if seq_firsts.len() != seqs.len()
            || seq_firsts.windows(2).any(|w| w[0] >= w[1])
            || seqs.iter().any(|&s| s < 0)
        {
            return Err(inconsistent("sequence numbers"));
        }
        let note_rows: Vec<u32> = r.array()?;
        let note_texts = r.strings()?;
        let notes = zip_map(
            note_rows,
            note_texts.into_iter().map(String::into_boxed_str).collect(),
        )?;
        let comparable_priors = zip_map(r.array()?, r.array()?)?;
        let supersedes = zip_map(r.array()?, r.array::<u32>()?)?;

        let organization: Vec<u32> = r.array()?;
        let market: Vec<u32> = r.array()?;
        let destination: Vec<u32> = r.array()?;
        let dims: Vec<u8> = r.array()?;
        let series_count = organization.len();
        if market.len() != series_count
            || destination.len() != series_count
            || dims.len() != series_count * 5
        {
            return Err(inconsistent("series keys"));
        }
        let series_keys: Vec<CompactKey> = (0..series_count)
            .map(|i| CompactKey {
                organization: organization[i],
                market: market[i],
                destination: destination[i],
                basis: dims[i * 5],
                flow: dims[i * 5 + 1],
                scope: dims[i * 5 + 2],
                powertrain: dims[i * 5 + 3],
                nature: dims[i * 5 + 4],
            })
            .collect();
        drop((organization, market, destination, dims));

        let lengths: Vec<u32> = r.array()?;
        let periods: Vec<u32> = r.array()?;
        let entry_rows: Vec<u32> = r.array()?;
        if lengths.len() != series_count
            || periods.len() != entry_rows.len()
            || entry_rows.len() != rows.len()
            || lengths.iter().map(|&l| l as usize).sum::<usize>() != rows.len()
        {
            return Err(inconsistent("series entries"));
        }
        let mut entries = Vec::with_capacity(series_count);
        let mut at = 0usize;
        for len in lengths {
            let end = at + len as usize;
            let list: Vec<Entry> = periods[at..end]
                .iter()
                .zip(&entry_rows[at..end])
                .map(|(&p, &row)| {
                    let (start, end) = period_from_code(p);
                    Entry { start, end, row }
                })
                .collect();
            entries.push(list);
            at = end;
        }
        drop((periods, entry_rows));

        let long_ids: Vec<u32> = r.array()?;
        let long_lengths: Vec<u32> = r.array()?;
        let long_rows: Vec<u32> = r.array()?;
        let long_codes: Vec<u32> = r.array()?;
        if long_ids.len() != long_lengths.len()
            || long_rows.len() != long_codes.len()
            || long_lengths.iter().map(|&l| l as usize).sum::<usize>() != long_rows.len()
        {
            return Err(inconsistent("long-series index"));
        }
        let mut long_series = FastMap::default();
        let mut at = 0usize;
        for (series, len) in long_ids.into_iter().zip(long_lengths) {
            let end = at + len as usize;
            let index: Vec<(u32, u32)> = long_rows[at..end]
                .iter()
                .copied()
                .zip(long_codes[at..end].iter().copied())
                .collect();
            long_series.insert(series, index);
            at = end;
        }
        let irregular = r.array::<u32>()?.into_iter().collect();

        let crc = r.crc.clone().finalize();
        let mut end = [0u8; 12];
        r.bytes(&mut end)?;
        if end[..8] != END || end[8..] != crc.to_le_bytes() {
            return Err(SnapshotError::Checksum);
        }
        if r.left != 0 {
            return Err(inconsistent("bytes after the end"));
        }
        if rows.len() != numbers.parts().0.len() || header.figures != rows.len() as u64 {
            return Err(inconsistent("figure counts"));
        }
        let rows_len = rows.len();
        let ids = IdIndex::rebuild(&numbers);
        let as_of_zones = super::zones::AsOfZones::of_rows(&rows);
        let mut engine = Engine {
            organizations: interner(organizations, "organisations repeat")?,
            markets: interner(markets, "markets repeat")?,
            sources: interner(sources, "sources repeat")?,
            rows,
            numbers,
            ids,
            create_runs: firsts.into_iter().zip(times).collect(),
            max_row_seq: max_run_seq(&seq_firsts, &seqs, rows_len)?,
            seq_runs: seq_firsts.into_iter().zip(seqs).collect(),
            notes,
            comparable_priors,
            supersedes,
            entries,
            long_series,
            irregular,
            last_seq: header.last_seq,
            as_of_zones,
            ..Engine::default()
        };
        for (s, key) in series_keys.iter().enumerate() {
            let s = u32::try_from(s).map_err(|_| inconsistent("series count"))?;
            engine.series.insert(*key, s);
            engine.index_series(*key, s);
        }
        engine.series_keys = series_keys;
        Ok((engine, header))
    }
}
