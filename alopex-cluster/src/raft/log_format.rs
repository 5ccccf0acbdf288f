//! # The on-disk format of the shared Raft log
//!
//! One node keeps **one** log for all of its range groups: a directory of
//! segment files, each a header followed by records. Every record is tagged
//! with the range it belongs to, so one `write` + one `fsync` can make the
//! appends of many groups durable together (group commit, see
//! [`super::log_file`]).
//!
//! ```text
//! segment file  <dir>/<segment number, 20 digits>.rlog
//!   header      magic "ALXRLOG1" (8 bytes) | segment number u64 LE
//!   record*     magic u16 LE = 0xA17E | len u32 LE | checksum u64 LE | payload (len bytes)
//!                 checksum = xxh3-64 over the 4 length bytes and the payload
//!   payload     kind u8 | range id u64 LE | body (postcard)
//!     kind 1  ENTRY      body = Entry (its log id carries the index)
//!     kind 2  VOTE       body = Vote
//!     kind 3  COMMITTED  body = Option<LogId>
//!     kind 4  TRUNCATE   body = Option<u64>: keep entries with index <= it (None: none)
//!     kind 5  PURGE      body = LogId: entries up to it are gone
//!     kind 6  RESET      body = (): the group is forgotten (replica removed)
//! ```
//!
//! Replaying every segment in order, applying each record to the range it
//! names, rebuilds every group's log, vote, committed id and purge point.
//! A new segment starts with a VOTE, COMMITTED and PURGE record of every
//! group (a checkpoint), so that older segments are needed only for the
//! entries they hold and can be deleted once those are purged.
//!
//! A record whose checksum fails, or whose length runs past the end of the
//! file, is a **torn tail** only if it is in the last segment and no valid
//! record follows it: a crash during a write that was never acknowledged.
//! It is then cut off. Anywhere else it is **corruption**, and opening the
//! log fails: an acknowledged record is never silently skipped.

/// The first 8 bytes of every segment.
pub const SEGMENT_MAGIC: &[u8; 8] = b"ALXRLOG1";
/// Bytes of a segment header.
pub const SEGMENT_HEADER_LEN: usize = 16;
/// The first 2 bytes of every record.
pub const RECORD_MAGIC: u16 = 0xA17E;
/// Bytes of a record header (magic, length, checksum).
pub const RECORD_HEADER_LEN: usize = 14;
/// The largest payload a record may have; larger lengths are corruption.
pub const MAX_RECORD_LEN: usize = 256 << 20;

/// What a record says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// A log entry.
    Entry = 1,
    /// The group's vote.
    Vote = 2,
    /// The group's committed log id.
    Committed = 3,
    /// Deletes entries after an index.
    Truncate = 4,
    /// Deletes entries up to a log id.
    Purge = 5,
    /// Forgets the group entirely (its replica was removed from this node).
    Reset = 6,
}

impl RecordKind {
    fn from_u8(b: u8) -> Option<RecordKind> {
        Some(match b {
            1 => RecordKind::Entry,
            2 => RecordKind::Vote,
            3 => RecordKind::Committed,
            4 => RecordKind::Truncate,
            5 => RecordKind::Purge,
            6 => RecordKind::Reset,
            _ => return None,
        })
    }
}

/// The file name of segment `n`.
pub fn segment_file_name(n: u64) -> String {
    format!("{n:020}.rlog")
}

/// The segment number of a file name, if it names a segment.
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".rlog")?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// The header of segment `n`.
pub fn segment_header(n: u64) -> [u8; SEGMENT_HEADER_LEN] {
    let mut h = [0u8; SEGMENT_HEADER_LEN];
    h[..8].copy_from_slice(SEGMENT_MAGIC);
    h[8..].copy_from_slice(&n.to_le_bytes());
    h
}

/// Appends one framed record to `buf`; `body` writes the postcard body.
pub fn put_record(
    buf: &mut Vec<u8>,
    kind: RecordKind,
    range: u64,
    body: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let start = buf.len();
    buf.extend_from_slice(&RECORD_MAGIC.to_le_bytes());
    buf.extend_from_slice(&[0u8; 12]); // length + checksum, filled below
    let payload_start = buf.len();
    buf.push(kind as u8);
    buf.extend_from_slice(&range.to_le_bytes());
    if let Err(e) = body(buf) {
        buf.truncate(start);
        return Err(e);
    }
    let len = buf.len() - payload_start;
    if len > MAX_RECORD_LEN {
        buf.truncate(start);
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("log record of {len} bytes")));
    }
    let len_bytes = (len as u32).to_le_bytes();
    buf[start + 2..start + 6].copy_from_slice(&len_bytes);
    let sum = checksum(&len_bytes, &buf[payload_start..]);
    buf[start + 6..start + 14].copy_from_slice(&sum.to_le_bytes());
    Ok(())
}

fn checksum(len_bytes: &[u8; 4], payload: &[u8]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(len_bytes);
    h.update(payload);
    h.digest()
}

/// A decoded record frame.
#[derive(Debug)]
pub struct Record<'a> {
    /// What it says.
    pub kind: RecordKind,
    /// The range it belongs to.
    pub range: u64,
    /// The postcard body.
    pub body: &'a [u8],
}

/// Why a frame could not be read at some offset.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The frame runs past the end of the data.
    Short,
    /// Bad magic, impossible length, checksum mismatch or unknown kind.
    Bad(&'static str),
}

/// Reads the record at the start of `data`; returns it and its total size.
pub fn read_record(data: &[u8]) -> Result<(Record<'_>, usize), FrameError> {
    if data.len() < RECORD_HEADER_LEN {
        return Err(FrameError::Short);
    }
    if u16::from_le_bytes([data[0], data[1]]) != RECORD_MAGIC {
        return Err(FrameError::Bad("bad record magic"));
    }
    let len_bytes: [u8; 4] = [data[2], data[3], data[4], data[5]];
    let len = u32::from_le_bytes(len_bytes) as usize;
    if !(9..=MAX_RECORD_LEN).contains(&len) {
        return Err(FrameError::Bad("impossible record length"));
    }
    let total = RECORD_HEADER_LEN + len;
    if data.len() < total {
        return Err(FrameError::Short);
    }
    let mut sum_bytes = [0u8; 8];
    sum_bytes.copy_from_slice(&data[6..14]);
    let payload = &data[RECORD_HEADER_LEN..total];
    if u64::from_le_bytes(sum_bytes) != checksum(&len_bytes, payload) {
        return Err(FrameError::Bad("record checksum mismatch"));
    }
    let kind = RecordKind::from_u8(payload[0]).ok_or(FrameError::Bad("unknown record kind"))?;
    let mut range_bytes = [0u8; 8];
    range_bytes.copy_from_slice(&payload[1..9]);
    Ok((Record { kind, range: u64::from_le_bytes(range_bytes), body: &payload[9..] }, total))
}

/// Whether any valid record starts anywhere in `data` (used to tell a torn
/// tail from corruption in the middle of the log).
pub fn any_valid_record(data: &[u8]) -> bool {
    let magic = RECORD_MAGIC.to_le_bytes();
    let mut at = 0;
    while at + RECORD_HEADER_LEN <= data.len() {
        match data[at..].windows(2).position(|w| w == magic) {
            None => return false,
            Some(p) => {
                at += p;
                if read_record(&data[at..]).is_ok() {
                    return true;
                }
                at += 1;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(kind: RecordKind, range: u64, body: &[u8]) -> Vec<u8> {
        let mut buf = Vec::new();
        put_record(&mut buf, kind, range, |b| {
            b.extend_from_slice(body);
            Ok(())
        })
        .unwrap();
        buf
    }

    #[test]
    fn frames_round_trip_and_detect_damage() {
        let mut data = rec(RecordKind::Vote, 7, b"hello");
        data.extend(rec(RecordKind::Entry, 8, b"x"));
        let (r, n) = read_record(&data).unwrap();
        assert_eq!((r.kind, r.range, r.body), (RecordKind::Vote, 7, &b"hello"[..]));
        let (r2, _) = read_record(&data[n..]).unwrap();
        assert_eq!((r2.kind, r2.range), (RecordKind::Entry, 8));

        assert_eq!(read_record(&data[..n - 1]).unwrap_err(), FrameError::Short);
        let mut bad = data.clone();
        bad[RECORD_HEADER_LEN + 10] ^= 1;
        assert!(matches!(read_record(&bad), Err(FrameError::Bad(_))));
        // The second record is still findable after the damaged first.
        assert!(any_valid_record(&bad[1..]));
        assert!(!any_valid_record(&[0u8; 64]));
    }

    #[test]
    fn segment_names() {
        assert_eq!(parse_segment_file_name(&segment_file_name(42)), Some(42));
        assert_eq!(parse_segment_file_name("42.rlog"), None);
        assert_eq!(parse_segment_file_name("00000000000000000042.tmp"), None);
    }
}
