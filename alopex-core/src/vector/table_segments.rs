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
//! Building the graphs is the expensive part (see `docs/vector.md` for the
//! measured cost at flush and compaction); it runs on the thread that
//! writes the table, with `hnsw_rs`'s parallel insert using the rayon pool.

use std::time::Instant;

use super::segment::{SegmentBuilder, section_name};
use super::spec::VectorIndexSpec;
use crate::error::Result;
use crate::key::Timestamp;
use crate::sstable::TableBuilder;

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

    /// Builds every non-empty segment and adds it to `table` as a section.
    pub fn write_to(self, table: &mut TableBuilder) -> Result<()> {
        for builder in self.builders {
            if builder.is_empty() {
                continue;
            }
            let (id, nodes) = (builder.spec().id, builder.len());
            let start = Instant::now();
            let bytes = builder.finish();
            tracing::debug!(index = id, nodes, bytes = bytes.len(), elapsed = ?start.elapsed(), "vector segment built");
            table.add_section(&section_name(id), &bytes)?;
        }
        Ok(())
    }
}
