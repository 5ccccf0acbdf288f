//! # Membership: SWIM (`foca`) over QUIC datagrams
//!
//! - [`identity`]: a member is (node id, QUIC address, incarnation);
//! - [`config`]: the SWIM timings (configurable so tests run in seconds)
//!   and the 1100-byte packet limit;
//! - [`view`]: the alive / suspect / down snapshot other code reads;
//! - [`link`]: the datagram seam the task runs over (QUIC in production,
//!   the simulated network in `crate::sim`);
//! - [`swim`]: the task that runs foca on tokio timers and the transport's
//!   datagrams, joins through seeds, and leaves gracefully.

pub mod config;
pub mod identity;
pub mod link;
pub mod swim;
pub mod view;

pub use config::MembershipConfig;
pub use identity::MemberId;
pub use link::DatagramLink;
pub use swim::{Membership, MembershipError};
pub use view::{MemberInfo, MemberState, MembershipView};
