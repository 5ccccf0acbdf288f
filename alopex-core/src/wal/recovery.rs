//! Replaying the log after a restart, and telling a torn tail from corruption.
//!
//! A crash can interrupt the last write to the log at any byte. The bytes of
//! that write may be missing, half there, or (on some filesystems) replaced
//! by zeros or stale garbage. None of those records was acknowledged as
//! durable, because a commit is acknowledged only after its fsync returns, so
//! recovery may drop them. That is the *torn tail*, and we repair it by
//! truncating the last segment back to the end of its last valid frame.
//!
//! Damage anywhere else means the disk lost or changed bytes that *were*
//! acknowledged. Dropping them would silently lose committed data, so it is
//! [`Error::Corruption`], with the segment and offset, and the operator must
//! act. The rules:
//!
//! 1. Segments `>= min_segment` are replayed in order; lower ones are ignored.
//!    Two present segments with a number missing between them is corruption:
//!    a whole file of acknowledged records is gone. The first segment may
//!    lie above `min_segment`: segments are deleted from the bottom, and the
//!    caller's `min_segment` may predate the latest deletion.
//! 2. A segment other than the last must be perfect. Rotation fsyncs a
//!    segment before it creates the next one, so a crash cannot tear it.
//! 3. In the last segment, a bad frame is a torn tail only when no valid frame
//!    exists anywhere after it. We scan forward byte by byte for a frame whose
//!    magic, header checksum and payload checksum all verify. If the bad
//!    frame's own header verified (only its payload is bad or cut short) the
//!    scan starts where its payload ends, since its length is trustworthy and
//!    a payload may legitimately contain bytes that look like a frame.
//! 4. A last segment whose *segment header* is torn (a crash while the segment
//!    was being created) holds no records; the file is removed.
//!
//! Repairs are made durable (fsync) before recovery returns, reported in
//! [`RecoveryReport::truncated`], and logged with `tracing::warn!`, so that a
//! second recovery sees a clean log and the same records.
//!
//! Each segment is read whole into memory. Segments are bounded by the
//! memtable size the engine rotates at, and the forward scan needs random
//! access anyway.

use std::fs::{self, OpenOptions};
use std::path::Path;

use super::format::{
    FrameError, HeaderError, SEGMENT_HEADER_LEN, decode_frame, decode_segment_header, find_valid_frame,
};
use super::segment::{list_segments, segment_path, sync_dir};
use crate::{Error, Result};

/// What recovery found and repaired.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecoveryReport {
    /// Records delivered to the callback.
    pub records: u64,
    /// The highest segment still present after recovery, if any. The writer
    /// should open `last_segment + 1` (or `min_segment` when `None`).
    pub last_segment: Option<u64>,
    /// The torn tail that was cut off, if there was one.
    pub truncated: Option<TruncatedTail>,
}

/// A torn tail that recovery removed from the last segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TruncatedTail {
    /// The segment that was repaired.
    pub segment: u64,
    /// The new length of the segment file: the end of its last valid frame.
    /// Zero when the segment's own header was torn and the file was removed.
    pub offset: u64,
    /// How many bytes were dropped.
    pub dropped_bytes: u64,
}

/// How replaying one segment ended.
enum SegmentEnd {
    /// Every byte belonged to a valid frame.
    Clean,
    /// The last segment has a torn tail starting at this offset.
    TornAt(usize),
    /// The last segment's own header is torn; it holds no records.
    TornHeader,
}

/// Replays segments `>= min_segment` of `dir`; see the module docs.
pub(crate) fn recover(
    dir: &Path,
    min_segment: u64,
    mut apply: impl FnMut(u64, &[u8]) -> Result<()>,
) -> Result<RecoveryReport> {
    let mut segments = list_segments(dir)?;
    segments.retain(|&s| s >= min_segment);
    if let Some(pair) = segments.windows(2).find(|w| w[1] != w[0] + 1) {
        let missing = pair[0] + 1;
        return Err(Error::corruption(
            segment_path(dir, missing),
            format!("segment {missing} is missing: segments {} and {} are present", pair[0], pair[1]),
        ));
    }

    let mut report = RecoveryReport::default();
    for (i, &segment) in segments.iter().enumerate() {
        let is_last = i + 1 == segments.len();
        let path = segment_path(dir, segment);
        let data = fs::read(&path)?;
        let torn_at = match replay_segment(&path, segment, &data, is_last, &mut apply, &mut report)? {
            SegmentEnd::Clean => {
                report.last_segment = Some(segment);
                continue;
            }
            SegmentEnd::TornAt(offset) => {
                let file = OpenOptions::new().write(true).open(&path)?;
                file.set_len(offset as u64)?;
                file.sync_all()?;
                report.last_segment = Some(segment);
                offset
            }
            SegmentEnd::TornHeader => {
                fs::remove_file(&path)?;
                sync_dir(dir)?;
                0
            }
        };
        let tail = TruncatedTail { segment, offset: torn_at as u64, dropped_bytes: (data.len() - torn_at) as u64 };
        tracing::warn!(
            segment,
            offset = tail.offset,
            dropped_bytes = tail.dropped_bytes,
            path = %path.display(),
            "WAL recovery truncated a torn tail"
        );
        report.truncated = Some(tail);
    }
    Ok(report)
}

/// Replays the frames of one segment, whose bytes are `data`.
fn replay_segment(
    path: &Path,
    segment: u64,
    data: &[u8],
    is_last: bool,
    apply: &mut impl FnMut(u64, &[u8]) -> Result<()>,
    report: &mut RecoveryReport,
) -> Result<SegmentEnd> {
    match decode_segment_header(data, segment) {
        Ok(()) => {}
        Err(HeaderError::Mismatch(detail)) => {
            return Err(Error::corruption(path, format!("segment {segment}, offset 0: bad segment header: {detail}")));
        }
        Err(torn) => {
            let what = match torn {
                HeaderError::Incomplete { len } => {
                    format!("incomplete segment header ({len} bytes)")
                }
                _ => "segment header checksum mismatch".to_string(),
            };
            if !is_last {
                return Err(Error::corruption(
                    path,
                    format!("segment {segment}, offset 0: {what} in a segment that is not the last"),
                ));
            }
            if let Some(at) = find_valid_frame(data, 0) {
                return Err(Error::corruption(
                    path,
                    format!("segment {segment}, offset 0: {what}, yet a valid frame follows at offset {at}"),
                ));
            }
            return Ok(SegmentEnd::TornHeader);
        }
    }

    let mut pos = SEGMENT_HEADER_LEN;
    while pos < data.len() {
        let rest = &data[pos..];
        match decode_frame(rest) {
            Ok(frame) => {
                apply(segment, &rest[frame.payload])?;
                report.records += 1;
                pos += frame.len;
            }
            Err(bad) => return classify_bad_frame(path, segment, data, pos, &bad, is_last),
        }
    }
    Ok(SegmentEnd::Clean)
}

/// Decides whether the bad frame at `pos` is a torn tail or corruption.
fn classify_bad_frame(
    path: &Path,
    segment: u64,
    data: &[u8],
    pos: usize,
    bad: &FrameError,
    is_last: bool,
) -> Result<SegmentEnd> {
    if !is_last {
        return Err(Error::corruption(
            path,
            format!(
                "segment {segment}, offset {pos}: {bad}; the segment is not the last, \
                 so this cannot be a torn write"
            ),
        ));
    }
    let scan_from = bad.verified_frame_len().map_or(pos + 1, |len| pos.saturating_add(len));
    if let Some(at) = find_valid_frame(data, scan_from) {
        return Err(Error::corruption(
            path,
            format!(
                "segment {segment}, offset {pos}: {bad}; a valid frame follows at offset {at}, \
                 so this is corruption before the tail, not a torn write"
            ),
        ));
    }
    Ok(SegmentEnd::TornAt(pos))
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::io::Write;

    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;
    use crate::wal::format::{FRAME_HEADER_LEN, encode_frame, encode_segment_header};

    type Records = Vec<(u64, Vec<u8>)>;

    /// Writes segment `segment` holding `payloads`; returns each frame's offset.
    fn write_segment(dir: &Path, segment: u64, payloads: &[&[u8]]) -> Result<Vec<usize>> {
        let mut buf = encode_segment_header(segment).to_vec();
        let mut offsets = Vec::new();
        for p in payloads {
            offsets.push(buf.len());
            encode_frame(&mut buf, p);
        }
        fs::write(segment_path(dir, segment), &buf)?;
        Ok(offsets)
    }

    fn replay(dir: &Path, min_segment: u64) -> Result<(Records, RecoveryReport)> {
        let mut seen = Vec::new();
        let report = recover(dir, min_segment, |segment, payload| {
            seen.push((segment, payload.to_vec()));
            Ok(())
        })?;
        Ok((seen, report))
    }

    fn records(list: &[(u64, &[u8])]) -> Records {
        list.iter().map(|&(s, p)| (s, p.to_vec())).collect()
    }

    /// A log of two segments: 1 = [a, bb], 2 = [ccc, dddd, eeeee]. Returns
    /// the frame offsets in segment 2.
    fn two_segments(dir: &Path) -> Result<Vec<usize>> {
        write_segment(dir, 1, &[b"a", b"bb"])?;
        write_segment(dir, 2, &[b"ccc", b"dddd", b"eeeee"])
    }

    fn all_records() -> Records {
        records(&[(1, b"a"), (1, b"bb"), (2, b"ccc"), (2, b"dddd"), (2, b"eeeee")])
    }

    fn flip(path: &Path, at: usize) -> Result<()> {
        let mut data = fs::read(path)?;
        data[at] ^= 0x40;
        fs::write(path, data)?;
        Ok(())
    }

    fn append_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
        File::options().append(true).open(path)?.write_all(bytes)?;
        Ok(())
    }

    fn expect_corruption(result: Result<(Records, RecoveryReport)>, file: &Path, needle: &str) {
        match result {
            Err(Error::Corruption { path, detail }) => {
                assert_eq!(path, file, "{detail}");
                assert!(detail.contains(needle), "{detail:?} should mention {needle:?}");
            }
            other => panic!("expected corruption mentioning {needle:?}, got {other:?}"),
        }
    }

    /// Recovers a log whose last segment (2) has a torn tail after `kept`
    /// whole records starting at `offset`; checks the report, the file
    /// length, and that a second recovery is clean and identical.
    fn assert_torn(dir: &Path, kept: usize, offset: usize) -> Result<()> {
        let path = segment_path(dir, 2);
        let len_before = fs::metadata(&path)?.len();
        let (seen, report) = replay(dir, 0)?;
        assert_eq!(seen, all_records()[..2 + kept].to_vec());
        assert_eq!(report.records, (2 + kept) as u64);
        assert_eq!(report.last_segment, Some(2));
        assert_eq!(
            report.truncated,
            Some(TruncatedTail { segment: 2, offset: offset as u64, dropped_bytes: len_before - offset as u64 })
        );
        assert_eq!(fs::metadata(&path)?.len(), offset as u64);
        let (again, report) = replay(dir, 0)?;
        assert_eq!(again, seen);
        assert_eq!(report.truncated, None);
        Ok(())
    }

    #[test]
    fn replays_in_order_and_ignores_segments_below_min() -> Result<()> {
        let dir = tempfile::tempdir()?;
        write_segment(dir.path(), 0, &[b"old"])?;
        two_segments(dir.path())?;
        let (seen, report) = replay(dir.path(), 1)?;
        assert_eq!(seen, all_records());
        assert_eq!(report, RecoveryReport { records: 5, last_segment: Some(2), truncated: None });
        // A gap below `min_segment` does not matter either.
        fs::remove_file(segment_path(dir.path(), 1))?;
        assert_eq!(replay(dir.path(), 2)?.0, all_records()[2..].to_vec());
        Ok(())
    }

    #[test]
    fn empty_directory_and_empty_segment() -> Result<()> {
        let dir = tempfile::tempdir()?;
        assert_eq!(replay(dir.path(), 0)?.1, RecoveryReport::default());
        write_segment(dir.path(), 4, &[])?;
        let (seen, report) = replay(dir.path(), 0)?;
        assert!(seen.is_empty());
        assert_eq!(report.last_segment, Some(4));
        assert_eq!(report.truncated, None);
        Ok(())
    }

    #[test]
    fn torn_mid_header_is_truncated() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let offsets = two_segments(dir.path())?;
        let path = segment_path(dir.path(), 2);
        File::options().write(true).open(&path)?.set_len((offsets[2] + FRAME_HEADER_LEN / 2) as u64)?;
        assert_torn(dir.path(), 2, offsets[2])
    }

    #[test]
    fn torn_mid_payload_is_truncated() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let offsets = two_segments(dir.path())?;
        let path = segment_path(dir.path(), 2);
        File::options().write(true).open(&path)?.set_len((offsets[2] + FRAME_HEADER_LEN + 2) as u64)?;
        assert_torn(dir.path(), 2, offsets[2])
    }

    #[test]
    fn appended_zeros_are_truncated() -> Result<()> {
        for zeros in [3usize, FRAME_HEADER_LEN, 4096] {
            let dir = tempfile::tempdir()?;
            two_segments(dir.path())?;
            let path = segment_path(dir.path(), 2);
            let end = fs::metadata(&path)?.len() as usize;
            append_bytes(&path, &vec![0u8; zeros])?;
            assert_torn(dir.path(), 3, end)?;
        }
        Ok(())
    }

    #[test]
    fn appended_garbage_is_truncated() -> Result<()> {
        let mut rng = StdRng::seed_from_u64(0x5eed);
        for len in [1usize, 23, 100, 10_000] {
            let dir = tempfile::tempdir()?;
            two_segments(dir.path())?;
            let path = segment_path(dir.path(), 2);
            let end = fs::metadata(&path)?.len() as usize;
            let mut garbage = vec![0u8; len];
            rng.fill(&mut garbage[..]);
            append_bytes(&path, &garbage)?;
            assert_torn(dir.path(), 3, end)?;
        }
        Ok(())
    }

    #[test]
    fn damaged_last_record_is_a_torn_tail() -> Result<()> {
        // A flipped byte in the payload, then in the length field.
        for delta in [FRAME_HEADER_LEN + 1, 5] {
            let dir = tempfile::tempdir()?;
            let offsets = two_segments(dir.path())?;
            flip(&segment_path(dir.path(), 2), offsets[2] + delta)?;
            assert_torn(dir.path(), 2, offsets[2])?;
        }
        Ok(())
    }

    #[test]
    fn damaged_middle_payload_is_corruption() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let offsets = two_segments(dir.path())?;
        let path = segment_path(dir.path(), 2);
        flip(&path, offsets[1] + FRAME_HEADER_LEN + 1)?;
        let needle = format!("segment 2, offset {}: payload checksum", offsets[1]);
        expect_corruption(replay(dir.path(), 0), &path, &needle);
        // Never repaired: the file is untouched and the error repeats.
        expect_corruption(replay(dir.path(), 0), &path, &needle);
        Ok(())
    }

    #[test]
    fn damaged_middle_header_is_corruption() -> Result<()> {
        // The magic, the length, and the header checksum itself.
        for delta in [0, 4, 9] {
            let dir = tempfile::tempdir()?;
            let offsets = two_segments(dir.path())?;
            let path = segment_path(dir.path(), 2);
            flip(&path, offsets[1] + delta)?;
            let needle = format!("segment 2, offset {}", offsets[1]);
            expect_corruption(replay(dir.path(), 0), &path, &needle);
            let detail = format!("{:?}", replay(dir.path(), 0));
            assert!(detail.contains(&format!("valid frame follows at offset {}", offsets[2])));
        }
        Ok(())
    }

    #[test]
    fn any_damage_in_an_earlier_segment_is_corruption() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let offsets = write_segment(dir.path(), 1, &[b"a", b"bb"])?;
        write_segment(dir.path(), 2, &[b"ccc"])?;
        let path = segment_path(dir.path(), 1);
        // The *last* record of segment 1: in the last segment it would be a
        // torn tail, here it is corruption.
        flip(&path, offsets[1] + FRAME_HEADER_LEN + 1)?;
        let needle = format!("segment 1, offset {}", offsets[1]);
        expect_corruption(replay(dir.path(), 0), &path, &needle);

        let dir = tempfile::tempdir()?;
        two_segments(dir.path())?;
        let path = segment_path(dir.path(), 1);
        append_bytes(&path, &[0u8; 7])?;
        expect_corruption(replay(dir.path(), 0), &path, "not the last");
        Ok(())
    }

    #[test]
    fn gap_in_segments_is_corruption() -> Result<()> {
        let dir = tempfile::tempdir()?;
        two_segments(dir.path())?;
        write_segment(dir.path(), 4, &[b"x"])?;
        let missing = segment_path(dir.path(), 3);
        expect_corruption(replay(dir.path(), 0), &missing, "segment 3 is missing");
        Ok(())
    }

    #[test]
    fn torn_segment_header_removes_the_last_segment() -> Result<()> {
        let dir = tempfile::tempdir()?;
        two_segments(dir.path())?;
        let path = segment_path(dir.path(), 3);
        fs::write(&path, &encode_segment_header(3)[..10])?;
        let (seen, report) = replay(dir.path(), 0)?;
        assert_eq!(seen, all_records());
        assert_eq!(report.last_segment, Some(2));
        assert_eq!(report.truncated, Some(TruncatedTail { segment: 3, offset: 0, dropped_bytes: 10 }));
        assert!(!path.exists());
        assert_eq!(replay(dir.path(), 0)?.1.truncated, None);

        // The same damage in an earlier segment is corruption.
        fs::write(segment_path(dir.path(), 1), [0u8; 24])?;
        expect_corruption(
            replay(dir.path(), 0),
            &segment_path(dir.path(), 1),
            "checksum mismatch in a segment that is not the last",
        );
        Ok(())
    }

    #[test]
    fn foreign_segment_header_is_corruption() -> Result<()> {
        let dir = tempfile::tempdir()?;
        two_segments(dir.path())?;
        // Segment 2's file holds segment 7's header: renamed or misplaced.
        let path = segment_path(dir.path(), 2);
        let mut data = fs::read(&path)?;
        data[..SEGMENT_HEADER_LEN].copy_from_slice(&encode_segment_header(7));
        fs::write(&path, data)?;
        expect_corruption(replay(dir.path(), 0), &path, "header names segment 7");
        Ok(())
    }

    #[test]
    fn apply_errors_stop_recovery() -> Result<()> {
        let dir = tempfile::tempdir()?;
        two_segments(dir.path())?;
        let mut calls = 0;
        let result = recover(dir.path(), 0, |_, _| {
            calls += 1;
            if calls == 3 {
                return Err(Error::InvalidArgument("bad batch".to_string()));
            }
            Ok(())
        });
        assert!(matches!(result, Err(Error::InvalidArgument(_))));
        assert_eq!(calls, 3);
        Ok(())
    }
}
