//! The segments of one table being written: one builder per registered
//! index, fed every version the table receives.
//!
//! Flush and compaction both write a table in one sorted pass through
//! [`crate::sstable::TableBuilder`]. They hand each version to
//! [`TableSegments::add`] as well, and call [`TableSegments::write_to`]
//! before finishing the table, which builds each non-empty segment and
//! stores it as the section `vector.<id>`. A table holding no vector of an
//! index gets no segment for it.
//!
//! A compaction that rewrites a table's versions unchanged (one input, no
//! overlap, nothing collected: common when `compact_all` pushes a table
//! down through empty levels, or when a table's span does not change)
//! reuses the input's segment bytes instead of building the same graph
//! again: [`TableSegments::write_to`] compares the versions it collected
//! with each input segment's nodes and copies a segment that matches
//! exactly. An input segment that fails to parse is not reused (the graph
//! is rebuilt from the data, which repairs it) and a warning is logged.
//!
//! Building the graphs is the expensive part (see `docs/vector.md` for the
//! measured cost at flush and compaction); it runs on the thread that
//! writes the table, with `hnsw_rs`'s parallel insert using the rayon pool.

use std::sync::Arc;
use std::time::Instant;

use super::segment::{Segment, SegmentBuilder, section_name};
use super::spec::VectorIndexSpec;
use crate::error::Result;
use crate::key::Timestamp;
use crate::sstable::{Table, TableBuilder};

/// The segment builders of one table. See the module documentation.
#[derive(Debug)]
pub struct TableSegments {
    builders: Vec<SegmentBuilder>,
}

impl TableSegments {
    /// One builder per spec.
    pub fn new(specs: &[VectorIndexSpec]) -> Self {
        TableSegments { builders: specs.iter().cloned().map(SegmentBuilder::new).collect() }
    }

    /// Offers one version written to the table (internal key order).
    #[inline]
    pub fn add(&mut self, key: &[u8], ts: Timestamp, value: Option<&[u8]>) {
        for builder in &mut self.builders {
            builder.add(key, ts, value);
        }
    }

    /// Builds every non-empty segment (or reuses a matching one of
    /// `inputs`, the tables being compacted) and adds it to `table` as a
    /// section.
    pub fn write_to(self, table: &mut TableBuilder, inputs: &[Arc<Table>]) -> Result<()> {
        'builders: for builder in self.builders {
            if builder.is_empty() {
                continue;
            }
            let (id, nodes) = (builder.spec().id, builder.len());
            let name = section_name(id);
            for input in inputs {
                match input.parsed_section(&name, Segment::parse) {
                    Ok(Some(segment)) if builder.same_nodes(&segment) => {
                        if let Ok(Some(bytes)) = input.section(&name) {
                            tracing::debug!(index = id, nodes, from = input.id(), "vector segment reused");
                            table.add_section(&name, &bytes)?;
                            continue 'builders;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(index = id, table = input.id(), error = %e, "input segment unusable; rebuilding")
                    }
                }
            }
            let start = Instant::now();
            let bytes = builder.finish();
            tracing::debug!(index = id, nodes, bytes = bytes.len(), elapsed = ?start.elapsed(), "vector segment built");
            table.add_section(&name, &bytes)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sstable::{BlockCache, TableOptions};
    use crate::vector::{Metric, value};

    fn write_table(
        dir: &std::path::Path,
        id: u64,
        spec: &VectorIndexSpec,
        rows: usize,
        inputs: &[Arc<Table>],
    ) -> Arc<Table> {
        let path = dir.join(format!("{id:06}.sst"));
        let mut builder = TableBuilder::create(&path, TableOptions::default()).expect("create");
        let mut segments = TableSegments::new(std::slice::from_ref(spec));
        let vectors = crate::vector::segment::tests::random_vectors(rows, 8, 11);
        for (i, v) in vectors.iter().enumerate() {
            let key = format!("v/{i:05}");
            let val = value::encode(v).expect("finite");
            builder.add(key.as_bytes(), 5, Some(&val)).expect("add");
            segments.add(key.as_bytes(), 5, Some(&val));
        }
        segments.write_to(&mut builder, inputs).expect("segments");
        builder.finish().expect("finish");
        Table::open(&path, id, Arc::new(BlockCache::new(1 << 20))).expect("open")
    }

    #[test]
    fn unchanged_versions_reuse_the_input_segment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = VectorIndexSpec::new(4, &b"v/"[..], &b"v0"[..], 8, Metric::L2);
        let name = section_name(4);
        let first = write_table(dir.path(), 1, &spec, 600, &[]);
        let original = first.section(&name).expect("read").expect("a segment");
        // Same versions: the bytes are copied (a rebuild would differ, as
        // parallel insertion is not deterministic, and take far longer).
        let copied = write_table(dir.path(), 2, &spec, 600, std::slice::from_ref(&first));
        assert_eq!(copied.section(&name).expect("read").expect("a segment"), original);
        // Different versions: rebuilt.
        let rebuilt = write_table(dir.path(), 3, &spec, 599, std::slice::from_ref(&first));
        let bytes = rebuilt.section(&name).expect("read").expect("a segment");
        let segment = Segment::parse(&bytes, rebuilt.path()).expect("parse");
        assert_eq!(segment.len(), 599);
    }
}
