//! The feed anti-rollback rule: the index of the newest feed update that was fetched and
//! verified is kept in a non-volatile UEFI variable, and no later boot accepts an older update.
//!
//! The variable lives under [`VENDOR_GUID`], one per (owner, topic), named by
//! [`variable_name`], holding the index as 8 little-endian bytes. The binary stores it with
//! boot-service access only, so a running OS cannot lower it; the network never lowers it
//! either: [`raised`] only ever returns a larger value.

use alloc::string::String;
use core::fmt::Write as _;

/// DeBoot's own vendor GUID for its UEFI variables.
pub const VENDOR_GUID: &str = "4baa309a-0c4c-4a91-959c-b5aefffb1e93";
/// Length in bytes of the stored value.
pub const VALUE_LEN: usize = 8;

/// The stored value is not 8 bytes: refuse rather than forget the minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadValue {
    /// Its length in bytes.
    pub len: usize,
}

/// The variable's name for the feed of `owner` under `topic`:
/// `DeBootFeed-<40 hex owner>-<hex topic>` (64 hex digits for a topic hash).
#[must_use]
pub fn variable_name(owner: &[u8; 20], topic: &[u8]) -> String {
    let mut name = String::with_capacity(11 + 40 + 1 + 2 * topic.len());
    name.push_str("DeBootFeed-");
    for b in owner {
        let _ = write!(name, "{b:02x}"); // writing to a String cannot fail
    }
    name.push('-');
    for b in topic {
        let _ = write!(name, "{b:02x}");
    }
    name
}

/// Decodes a stored minimum.
///
/// # Errors
/// [`BadValue`] when it is not [`VALUE_LEN`] bytes.
pub fn decode(bytes: &[u8]) -> Result<u64, BadValue> {
    let arr: [u8; VALUE_LEN] = bytes
        .try_into()
        .map_err(|_| BadValue { len: bytes.len() })?;
    Ok(u64::from_le_bytes(arr))
}

/// Encodes a minimum for storage.
#[must_use]
pub fn encode(min: u64) -> [u8; VALUE_LEN] {
    min.to_le_bytes()
}

/// The value to store after a verified fetch of update `fetched`: `Some` only when it raises
/// the `stored` minimum (none stored counts as 0, never stored).
#[must_use]
pub fn raised(stored: Option<u64>, fetched: u64) -> Option<u64> {
    match stored {
        Some(min) if fetched <= min => None,
        _ => Some(fetched),
    }
}

impl core::fmt::Display for BadValue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "anti-rollback variable holds {} bytes, expected {VALUE_LEN}",
            self.len
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_lowers_the_minimum() {
        assert_eq!(raised(None, 0), Some(0));
        assert_eq!(raised(None, 7), Some(7));
        assert_eq!(raised(Some(7), 7), None);
        assert_eq!(raised(Some(7), 3), None);
        assert_eq!(raised(Some(7), 8), Some(8));
        assert_eq!(raised(Some(u64::MAX), 0), None);
    }

    #[test]
    fn value_round_trips_and_wrong_lengths_are_refused() {
        assert_eq!(
            decode(&encode(0x0102_0304_0506_0708)),
            Ok(0x0102_0304_0506_0708)
        );
        assert_eq!(decode(&[1; 7]), Err(BadValue { len: 7 }));
        assert_eq!(decode(&[1; 9]), Err(BadValue { len: 9 }));
    }

    #[test]
    fn name_spells_owner_and_topic_in_hex() {
        let name = variable_name(&[0xab; 20], &[0x01; 32]);
        assert_eq!(name.len(), 11 + 40 + 1 + 64);
        let expected = std::format!("DeBootFeed-{}-{}", "ab".repeat(20), "01".repeat(32));
        assert_eq!(name, expected);
    }
}
