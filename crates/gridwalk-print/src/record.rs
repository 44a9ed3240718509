//! What a printed record shows: plain strings and bytes, formatted by the caller (times
//! in China time, results in words).

/// One inspection to print.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// The heading, e.g. 粉尘涉爆企业检查记录.
    pub title: String,
    /// Lines under the heading (the template, the campaign).
    pub subtitle: Vec<String>,
    /// 基本信息: label and value pairs (enterprise, USCC, division, template, inspector,
    /// times, the server's receipt), in order.
    pub fields: Vec<(String, String)>,
    /// 检查结论: the result in words (score, findings, review).
    pub result: Vec<String>,
    pub findings: Vec<Finding>,
    pub answers: Vec<Answer>,
    pub photos: Vec<Photo>,
    pub signatures: Vec<Signature>,
    /// Lower-case hex SHA-256 of the signed payload.
    pub record_sha256: String,
    /// Where the QR code points: the server's answer for this hash.
    pub verify_url: String,
    /// A line at the foot of the last section (who printed it, when).
    pub printed: String,
}

/// A finding (发现问题).
#[derive(Debug, Clone, Default)]
pub struct Finding {
    /// 重大 / 一般 …
    pub severity: String,
    /// The checklist item's text.
    pub item: String,
    /// What was found (the inspector's note, or the item's failing answer).
    pub text: String,
    pub legal_basis: Option<String>,
}

/// One answered checklist item.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// The template section (a row of its own when it changes).
    pub section: String,
    /// The item's text.
    pub label: String,
    /// The answer in words (是 / 否 / 不适用, a number, choices, text, 照片×n).
    pub value: String,
    pub note: Option<String>,
}

/// A photo with its caption.
#[derive(Debug, Clone, Default)]
pub struct Photo {
    /// The JPEG bytes (the watermarked copy the server holds); `None` when the server
    /// does not hold them (yet), or they failed verification: a placeholder is drawn.
    pub jpeg: Option<Vec<u8>>,
    /// Caption lines: the watermark text, GNSS position, distance, verification.
    pub caption: Vec<String>,
}

/// A signature (签字).
#[derive(Debug, Clone, Default)]
pub struct Signature {
    /// The PNG the signer drew; `None` when the server does not hold it.
    pub png: Option<Vec<u8>>,
    pub signer: String,
    pub signed_at: String,
}
