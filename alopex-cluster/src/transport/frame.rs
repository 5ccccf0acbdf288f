//! # The wire format of node-to-node streams
//!
//! Every RPC is one bidirectional QUIC stream: the caller writes one
//! request frame and finishes its side, the callee writes one response
//! frame and finishes its side. QUIC already delimits, orders, checksums and
//! flow-controls the stream, so the frames only need to say what the bytes
//! are and how many there are. The length is explicit (rather than "read to
//! the end") so that a frame over the size limit is refused from its header,
//! before any of its body is buffered.
//!
//! ## Format
//!
//! All integers are big-endian.
//!
//! ```text
//! hello     (first stream of every connection, each way)
//!   magic   4 bytes  "ALPX"
//!   version u8       1
//!   boot    u64      random per process start (see `peers.rs`)
//!
//! request   (caller -> callee)          response (callee -> caller)
//!   version u8   1                        status u8   0 ok | 1 handler error
//!   range   u64  RangeId                              | 2 too large | 3 bad request
//!   method  u16  caller-defined           length u32  body bytes
//!   length  u32  body bytes               body   [length]
//!   body    [length]
//! ```
//!
//! A status-0 body is the handler's answer; status 1 and 3 carry a UTF-8
//! message; status 2 carries the callee's limit as a `u32`.
//!
//! Datagrams carry a one-byte kind before their payload; kind 1 is a SWIM
//! membership packet (see `membership/`). Unknown kinds are dropped.

use crate::ids::RangeId;

/// The version byte of request frames.
pub const VERSION: u8 = 1;
/// The size of a request header.
pub const REQUEST_HEADER_LEN: usize = 1 + 8 + 2 + 4;
/// The size of a response header.
pub const RESPONSE_HEADER_LEN: usize = 1 + 4;
/// The size of a hello.
pub const HELLO_LEN: usize = 4 + 1 + 8;
const HELLO_MAGIC: &[u8; 4] = b"ALPX";
/// The datagram kind of SWIM membership packets.
pub const DATAGRAM_MEMBERSHIP: u8 = 1;
/// The datagram kind of a suspicion hint: "I suspect you", sent to a
/// suspected member that is heard from (`membership::swim`), so that it
/// refutes even when the gossip about its suspicion has died out. Payload:
/// postcard `(MemberId, u16 SWIM incarnation)`.
pub const DATAGRAM_SUSPICION: u8 = 2;

/// What a response says about the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The handler answered; the body is its answer.
    Ok = 0,
    /// The handler refused; the body is its message.
    HandlerError = 1,
    /// The request was over the callee's maximum frame size.
    TooLarge = 2,
    /// The request was malformed (unknown version).
    BadRequest = 3,
}

impl Status {
    fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            0 => Self::Ok,
            1 => Self::HandlerError,
            2 => Self::TooLarge,
            3 => Self::BadRequest,
            _ => return None,
        })
    }
}

/// A decoded request header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHeader {
    /// The range the call is for.
    pub range: RangeId,
    /// The caller's method number.
    pub method: u16,
    /// The body length.
    pub len: u32,
}

/// Encodes a request header.
pub fn encode_request(range: RangeId, method: u16, len: u32) -> [u8; REQUEST_HEADER_LEN] {
    let mut out = [0u8; REQUEST_HEADER_LEN];
    out[0] = VERSION;
    out[1..9].copy_from_slice(&range.0.to_be_bytes());
    out[9..11].copy_from_slice(&method.to_be_bytes());
    out[11..15].copy_from_slice(&len.to_be_bytes());
    out
}

/// Decodes a request header; `None` when the version is unknown.
pub fn decode_request(buf: &[u8; REQUEST_HEADER_LEN]) -> Option<RequestHeader> {
    if buf[0] != VERSION {
        return None;
    }
    let mut range = [0u8; 8];
    range.copy_from_slice(&buf[1..9]);
    Some(RequestHeader {
        range: RangeId(u64::from_be_bytes(range)),
        method: u16::from_be_bytes([buf[9], buf[10]]),
        len: u32::from_be_bytes([buf[11], buf[12], buf[13], buf[14]]),
    })
}

/// Encodes a response header.
pub fn encode_response(status: Status, len: u32) -> [u8; RESPONSE_HEADER_LEN] {
    let l = len.to_be_bytes();
    [status as u8, l[0], l[1], l[2], l[3]]
}

/// Decodes a response header; `None` when the status is unknown.
pub fn decode_response(buf: &[u8; RESPONSE_HEADER_LEN]) -> Option<(Status, u32)> {
    Some((Status::from_byte(buf[0])?, u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]])))
}

/// Encodes a hello carrying this process's boot id.
pub fn encode_hello(boot: u64) -> [u8; HELLO_LEN] {
    let mut out = [0u8; HELLO_LEN];
    out[..4].copy_from_slice(HELLO_MAGIC);
    out[4] = VERSION;
    out[5..].copy_from_slice(&boot.to_be_bytes());
    out
}

/// Decodes a hello; `None` when it is not one.
pub fn decode_hello(buf: &[u8; HELLO_LEN]) -> Option<u64> {
    if &buf[..4] != HELLO_MAGIC || buf[4] != VERSION {
        return None;
    }
    let mut boot = [0u8; 8];
    boot.copy_from_slice(&buf[5..]);
    Some(u64::from_be_bytes(boot))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        let h = encode_request(RangeId(0x0102_0304_0506_0708), 0xBEEF, 77);
        assert_eq!(h[..3], [1, 1, 2]);
        assert_eq!(
            decode_request(&h),
            Some(RequestHeader { range: RangeId(0x0102_0304_0506_0708), method: 0xBEEF, len: 77 })
        );
        let r = encode_response(Status::TooLarge, 9);
        assert_eq!(decode_response(&r), Some((Status::TooLarge, 9)));
        assert_eq!(decode_hello(&encode_hello(42)), Some(42));
    }

    #[test]
    fn unknown_versions_and_statuses_are_refused() {
        let mut h = encode_request(RangeId(1), 1, 1);
        h[0] = 9;
        assert_eq!(decode_request(&h), None);
        assert_eq!(decode_response(&[7, 0, 0, 0, 0]), None);
        let mut hello = encode_hello(1);
        hello[0] = b'H';
        assert_eq!(decode_hello(&hello), None);
    }
}
