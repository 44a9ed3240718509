//! `gridwalk-server audit verify|list`: the chain check and the log's entries
//! (docs/security.md "Audit log"). The operator reads every entry.

use anyhow::{bail, Result};
use clap::Subcommand;
use gridwalk_server::audit::{parse_bound, AuditFilter};
use gridwalk_server::Store;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain: prints the entries checked and OK with the head (seq, hash)
    /// to note elsewhere, or the first broken entry and why (exit 1).
    Verify {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Entries, newest first.
    List {
        /// Exactly this actor.
        #[arg(long)]
        actor: Option<String>,
        /// Exactly this action, or a prefix ending in `.` or `.*` (`login.*`).
        #[arg(long)]
        action: Option<String>,
        /// From this time (RFC 3339) or date (YYYY-MM-DD, China time).
        #[arg(long)]
        from: Option<String>,
        /// Until this time (exclusive) or date (included).
        #[arg(long)]
        to: Option<String>,
        /// At most this many (1–500).
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Entries older than this seq (the previous page's last).
        #[arg(long)]
        after: Option<i64>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one audit command; `Ok(false)` when the chain is broken.
pub fn run(store: &Store, command: AuditCommand) -> Result<bool> {
    match command {
        AuditCommand::Verify { json } => {
            let r = store.audit_verify()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else if let (Some(seq), Some(why)) = (r.first_bad, &r.reason) {
                println!(
                    "audit log BROKEN at entry {seq}: {why} ({} entries)",
                    r.entries
                );
            } else {
                println!(
                    "audit log OK: {} entries checked; head {} {}",
                    r.entries,
                    r.head_seq.unwrap_or(0),
                    r.head_hash.as_deref().unwrap_or("(empty)")
                );
            }
            Ok(r.valid)
        }
        AuditCommand::List {
            actor,
            action,
            from,
            to,
            limit,
            after,
            json,
        } => {
            if limit == 0 {
                bail!("--limit must be at least 1");
            }
            let filter = AuditFilter {
                actor,
                action,
                from: from.map(|f| parse_bound(&f, false)).transpose()?,
                to: to.map(|t| parse_bound(&t, true)).transpose()?,
                within: None,
                unscoped: true,
                after,
                limit: Some(limit),
            };
            let page = store.audit_list(&filter)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&page)?);
            } else {
                for e in &page.entries {
                    println!(
                        "{} {} {} ({}) from {} {} {}:{} {}",
                        e.seq,
                        e.at,
                        e.actor,
                        e.actor_role,
                        e.source,
                        e.action,
                        e.target_kind.as_deref().unwrap_or("-"),
                        e.target_id.as_deref().unwrap_or("-"),
                        e.detail
                    );
                }
                match page.next_after {
                    Some(a) => println!("more: --after {a}"),
                    None => println!("{} entries", page.entries.len()),
                }
            }
            Ok(true)
        }
    }
}
