//! Limits on what a device stores into a record, shared by the device (which refuses
//! the input as it is entered) and the server (which may check them again).
//!
//! Text limits count Unicode scalar values (`str::chars`), not bytes: 2000 Chinese
//! characters are 6000 bytes of UTF-8. Together with [`crate::MAX_PAYLOAD_BYTES`]
//! (checked when an inspection is finalized) they keep every record within what the
//! server accepts.

/// A note on an answer (and so on the finding it becomes), a hazard event's note.
pub const MAX_NOTE_CHARS: usize = 2000;
/// The text of a free-text answer (or the raw value typed for any answer).
pub const MAX_ANSWER_CHARS: usize = 2000;
/// A person's name: inspector, signer, hazard actor, assignee.
pub const MAX_NAME_CHARS: usize = 64;
/// A reason given for reopening a hazard or extending its deadline.
pub const MAX_REASON_CHARS: usize = 1000;
/// A short label: supervision notice number, supervising body.
pub const MAX_LABEL_CHARS: usize = 200;
/// A string of a GPS stamp (its `provider`).
pub const MAX_STAMP_TEXT_CHARS: usize = 64;

/// Signature PNG: largest file accepted.
pub const MAX_SIGNATURE_BYTES: usize = 512 * 1024;
/// Signature PNG: widest image accepted, in pixels.
pub const MAX_SIGNATURE_WIDTH: u32 = 2000;
/// Signature PNG: tallest image accepted, in pixels.
pub const MAX_SIGNATURE_HEIGHT: u32 = 1000;
/// Signatures stored on one inspection (enterprise representative, inspector, a
/// witness, and one redo).
pub const MAX_SIGNATURES_PER_INSPECTION: usize = 4;

/// `Err((chars, max))` when `text` has more than `max` characters.
pub fn check_chars(text: &str, max: usize) -> Result<(), (usize, usize)> {
    // Counting stops early: a 30 MiB string is not walked to its end.
    let n = text.chars().take(max + 1).count();
    if n > max {
        Err((text.chars().count(), max))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_characters_not_bytes() {
        let zh = "隐".repeat(MAX_NOTE_CHARS);
        assert_eq!(zh.len(), 3 * MAX_NOTE_CHARS);
        assert!(check_chars(&zh, MAX_NOTE_CHARS).is_ok());
        let over = format!("{zh}患");
        assert_eq!(
            check_chars(&over, MAX_NOTE_CHARS),
            Err((MAX_NOTE_CHARS + 1, MAX_NOTE_CHARS))
        );
    }
}
