//! Segment files on disk: their names, listing them, and creating one durably.
//!
//! The log is a directory of numbered files, `{segment:020}.wal`. Numbers
//! grow by one at each rotation, and the zero padding makes the directory
//! listing sort in log order for a human with `ls`. A file only counts as a
//! segment if its name is exactly twenty digits and `.wal`; anything else in
//! the directory (an editor's backup, a stray temp file) is ignored rather
//! than guessed at.
//!
//! Creating a segment is durable in two steps, because a new file is two
//! facts on disk: its contents (the header) and its directory entry. We
//! fsync the file, then fsync the directory. Without the second fsync a crash
//! can forget the file ever existed, and with it every record acknowledged
//! into it. Deleting segments fsyncs the directory for the same reason in
//! reverse: a deleted segment that comes back after a crash would be replayed
//! a second time.
//!
//! The byte layout of the header lives in `format.rs`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::format::encode_segment_header;
use crate::Result;

/// File name suffix of a segment.
const SUFFIX: &str = ".wal";
/// Number of digits in a segment file name.
const DIGITS: usize = 20;

/// The path of segment `segment` inside `dir`.
pub(crate) fn segment_path(dir: &Path, segment: u64) -> PathBuf {
    dir.join(format!("{segment:020}{SUFFIX}"))
}

/// Parses a segment file name; `None` for anything that is not one.
fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SUFFIX)?;
    if digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Lists the segment numbers present in `dir`, sorted ascending. A missing
/// directory holds no segments.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<u64>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut segments = Vec::new();
    for entry in entries {
        let entry = entry?;
        if let Some(n) = entry.file_name().to_str().and_then(parse_segment_name) {
            segments.push(n);
        }
    }
    segments.sort_unstable();
    Ok(segments)
}

/// Creates segment `segment` in `dir` (which must exist), writes its header,
/// and fsyncs both the file and the directory. Fails if the file exists.
///
/// Returns the file positioned just after the header, ready for frames. On
/// failure the half-made file is removed (best effort): recovery would treat
/// it as a torn tail anyway, but leaving it would make a retry fail.
pub(crate) fn create_segment(dir: &Path, segment: u64) -> Result<File> {
    let path = segment_path(dir, segment);
    let mut file = OpenOptions::new().write(true).create_new(true).open(&path)?;
    let written =
        file.write_all(&encode_segment_header(segment)).and_then(|()| file.sync_all()).and_then(|()| sync_dir(dir));
    if let Err(e) = written {
        drop(file);
        let _ = fs::remove_file(&path);
        return Err(e.into());
    }
    Ok(file)
}

/// Fsyncs the directory `dir`, making creations, deletions and renames of
/// its entries durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        // Windows cannot open a directory as a file; NTFS journals metadata.
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_roundtrip_and_strangers_are_ignored() -> Result<()> {
        let dir = tempfile::tempdir()?;
        for n in [7u64, 0, 12, u64::MAX] {
            File::create(segment_path(dir.path(), n))?;
        }
        for stray in ["7.wal", "00000000000000000007.wal.tmp", "notes.txt"] {
            File::create(dir.path().join(stray))?;
        }
        assert_eq!(list_segments(dir.path())?, vec![0, 7, 12, u64::MAX]);
        assert_eq!(parse_segment_name("0000000000000000007a.wal"), None);
        Ok(())
    }

    #[test]
    fn missing_directory_lists_nothing() -> Result<()> {
        let dir = tempfile::tempdir()?;
        assert!(list_segments(&dir.path().join("absent"))?.is_empty());
        Ok(())
    }

    #[test]
    fn create_refuses_an_existing_segment() -> Result<()> {
        let dir = tempfile::tempdir()?;
        create_segment(dir.path(), 3)?;
        assert_eq!(fs::metadata(segment_path(dir.path(), 3))?.len(), 24);
        assert!(create_segment(dir.path(), 3).is_err());
        Ok(())
    }
}
