//! The vector index registry: which key spans hold vectors.
//!
//! The SQL layer registers an index with [`Engine::create_vector_index`]
//! before (or after) writing its entries. Registration is a manifest edit,
//! fsynced before it takes effect, so it survives a crash and reopen; the
//! in-memory list the flush and compaction threads read is replaced under
//! the manifest lock right after the edit is durable.
//!
//! A table written before registration has no segment for the index, and
//! a search scores that table's entries exactly instead (correct, slower);
//! the next compaction that rewrites the table gives it a segment. Dropping
//! an index stops segments being built for it; segments already written
//! stay in their tables, unused, until compaction rewrites them.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::manifest::Edit;
use crate::vector::VectorIndexSpec;

use super::{Engine, Shared};

impl Shared {
    /// The registered vector indexes.
    pub(crate) fn vector_specs(&self) -> Arc<Vec<VectorIndexSpec>> {
        Arc::clone(&self.vector_indexes.read())
    }

    /// The registered index `id`.
    pub(crate) fn vector_spec(&self, id: u64) -> Result<VectorIndexSpec> {
        self.vector_indexes
            .read()
            .iter()
            .find(|s| s.id == id)
            .cloned()
            .ok_or_else(|| Error::InvalidArgument(format!("no vector index with id {id}")))
    }
}

impl Engine {
    /// Registers a vector index (durably). Creating an index that is
    /// already registered with the same spec does nothing; with a different
    /// spec it is [`Error::InvalidArgument`], as is a spec outside the
    /// limits of [`VectorIndexSpec::validate`].
    pub fn create_vector_index(&self, spec: VectorIndexSpec) -> Result<()> {
        spec.validate()?;
        let shared = &self.shared;
        shared.check_poisoned()?;
        let mut manifest = shared.manifest.lock();
        match manifest.state().vector_indexes.get(&spec.id) {
            Some(existing) if *existing == spec => return Ok(()),
            Some(existing) => {
                return Err(Error::InvalidArgument(format!(
                    "vector index {} is already registered as {existing:?}",
                    spec.id
                )));
            }
            None => {}
        }
        shared.apply_edits(&mut manifest, &[Edit::CreateVectorIndex(spec)])?;
        *shared.vector_indexes.write() = Arc::new(manifest.state().vector_indexes.values().cloned().collect());
        Ok(())
    }

    /// Unregisters vector index `id` (durably); returns whether it was
    /// registered.
    pub fn drop_vector_index(&self, id: u64) -> Result<bool> {
        let shared = &self.shared;
        shared.check_poisoned()?;
        let mut manifest = shared.manifest.lock();
        if !manifest.state().vector_indexes.contains_key(&id) {
            return Ok(false);
        }
        shared.apply_edits(&mut manifest, &[Edit::DropVectorIndex(id)])?;
        *shared.vector_indexes.write() = Arc::new(manifest.state().vector_indexes.values().cloned().collect());
        Ok(true)
    }

    /// The registered vector indexes, by id.
    pub fn vector_indexes(&self) -> Vec<VectorIndexSpec> {
        self.shared.vector_specs().as_ref().clone()
    }
}

#[cfg(test)]
mod tests {
    use crate::vector::{Metric, VectorIndexSpec};
    use crate::{Engine, Error, Options};

    #[test]
    fn registry_is_durable_and_idempotent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = VectorIndexSpec::new(9, &b"v/"[..], &b"v0"[..], 3, Metric::L2);
        {
            let engine = Engine::open(dir.path(), Options::default()).expect("open");
            engine.create_vector_index(spec.clone()).expect("create");
            engine.create_vector_index(spec.clone()).expect("idempotent");
            let other = VectorIndexSpec { metric: Metric::Cosine, ..spec.clone() };
            assert!(matches!(engine.create_vector_index(other), Err(Error::InvalidArgument(_))));
            let bad = VectorIndexSpec { id: 10, dim: 0, ..spec.clone() };
            assert!(matches!(engine.create_vector_index(bad), Err(Error::InvalidArgument(_))));
            engine.create_vector_index(VectorIndexSpec { id: 11, ..spec.clone() }).expect("second");
            assert!(engine.drop_vector_index(11).expect("drop"));
            assert!(!engine.drop_vector_index(11).expect("drop again"));
        }
        let engine = Engine::open(dir.path(), Options::default()).expect("reopen");
        assert_eq!(engine.vector_indexes(), vec![spec]);
    }
}
