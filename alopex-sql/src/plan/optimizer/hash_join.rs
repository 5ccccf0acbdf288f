//! stub
use crate::error::Result;
use crate::plan::Node;
use super::Ctx;
pub(super) fn hash_join(node: Node, _cx: &Ctx<'_>) -> Result<Node> { Ok(node) }
