// Enrollment QR payloads (docs/sync-protocol.md): `gridwalk-enroll:1:<code>` or
// `gridwalk-enroll:1:<code>:<url>` (the URL may itself contain colons).
export function parseEnrollQr(text: string): { code: string; server_url: string | null } | null {
  const m = /^gridwalk-enroll:1:([^:\s]+)(?::(\S+))?$/.exec(text.trim());
  if (!m) return null;
  return { code: m[1], server_url: m[2] ?? null };
}
