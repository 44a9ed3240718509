//! `gridwalk-server export record --inspection ID --format pdf --out FILE`: the
//! printable 检查记录 of one inspection (docs/console.md "Printable record"), and the
//! serve flags for its font and the address its QR code names.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use gridwalk_server::print::PrintConfig;
use gridwalk_server::work::Actor;
use gridwalk_server::{DataDir, Store};
use std::path::PathBuf;
use uuid::Uuid;

/// Where printed records get their font and which address their QR codes name.
#[derive(Debug, Args)]
pub struct PrintArgs {
    /// A CJK font (TTF, OTF or TTC) for printed records; default: Debian's
    /// fonts-noto-cjk, fonts-wqy-* or fonts-arphic-* where installed.
    #[arg(long, env = "GRIDWALK_PDF_FONT")]
    pub pdf_font: Option<PathBuf>,
    /// The server's address as phones reach it (`https://gw.example.cn`), for the QR
    /// code of printed records; default: the address the request came to.
    #[arg(long, env = "GRIDWALK_PUBLIC_URL")]
    pub public_url: Option<String>,
}

impl PrintArgs {
    /// The configuration the server runs with.
    pub fn config(self) -> PrintConfig {
        PrintConfig::new(self.pdf_font, self.public_url)
    }
}

/// A record's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// PDF (A4).
    Pdf,
}

/// `export record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The inspection id.
    #[arg(long)]
    pub inspection: Uuid,
    /// File format.
    #[arg(long, value_enum, default_value = "pdf")]
    pub format: Format,
    /// The file to write (written beside it first, then renamed into place).
    #[arg(long)]
    pub out: PathBuf,
    /// Export as this officer (their jurisdiction applies).
    #[arg(long = "as")]
    pub as_user: Option<String>,
    #[command(flatten)]
    pub print: PrintArgs,
}

/// Writes one inspection's record.
pub fn run(
    data: &DataDir,
    store: Store,
    blobs: std::sync::Arc<dyn object_store::ObjectStore>,
    args: RecordArgs,
) -> Result<()> {
    let Format::Pdf = args.format;
    let actor = match args.as_user.as_deref() {
        Some(n) => store.actor(n)?,
        None => Actor::operator(),
    };
    let print = args.print.config();
    let Some(base) = print.public_url.clone() else {
        bail!("export record needs --public-url URL (env GRIDWALK_PUBLIC_URL): the address its QR code names");
    };
    let font = print.font()?.clone();
    let state = gridwalk_server::state(data, store, blobs)?;
    let source = state.store.print_source(&actor, args.inspection)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let blobs = rt
        .block_on(gridwalk_server::print::read_blobs(
            state.blobs.as_ref(),
            &source,
        ))
        .context("reading the photos")?;
    let url = gridwalk_server::print::verify_url(&base, &source.detail.record.payload_sha256);
    let photos = blobs.photos.iter().filter(|p| p.is_some()).count();
    let record =
        gridwalk_server::print::record(&source, blobs, url, &actor.user_name, chrono::Utc::now());
    let pdf = gridwalk_server::print::render(&record, &font)?;
    state.store.audit_append(
        &gridwalk_server::audit::NewEntry::by(&actor, "print.record")
            .target("inspection", args.inspection)
            .detail(serde_json::json!({
                "payload_sha256": source.detail.record.payload_sha256,
                "out": args.out.display().to_string(),
            })),
    )?;
    let out = &args.out;
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".record-")
        .suffix(".pdf.part")
        .tempfile_in(&dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    std::io::Write::write_all(tmp.as_file_mut(), &pdf)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("writing {}", out.display()))?;
    tmp.persist(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "检查记录: {} bytes, {photos} of {} photos, written to {}",
        pdf.len(),
        source.detail.photos.len(),
        out.display()
    );
    Ok(())
}
