//! `roster import members FILE --tenant <slug>`: load members from a CSV or XLSX file (see
//! [`crate::import`]); prints the report, or its JSON with `--json`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::db::Conn;
use crate::directory::tenants;
use crate::import::{self, Options, Upload};

/// `roster import ...`
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import members from a CSV (comma or semicolon, UTF-8) or XLSX file.
    Members(MembersArgs),
    /// Write the empty template (the tenant's columns) to a file.
    Template(FileArgs),
}

/// `roster export ...`
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Write the tenant's live members in the import's columns; the file imports back unchanged.
    Members {
        /// Where to write it.
        #[command(flatten)]
        file: FileArgs,
        /// Only members of this origin (scim, import, admin).
        #[arg(long)]
        origin: Option<String>,
    },
}

/// Which tenant, which format, which file.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// Tenant slug.
    #[arg(long)]
    pub tenant: String,
    /// csv or xlsx (default: from the output file's extension, else csv).
    #[arg(long)]
    pub format: Option<String>,
    /// The file to write.
    #[arg(long, short)]
    pub output: PathBuf,
}

impl FileArgs {
    fn format(&self) -> anyhow::Result<import::parse::Format> {
        let name = match &self.format {
            Some(f) => f.clone(),
            None => self.output.extension().and_then(|e| e.to_str()).unwrap_or("csv").to_string(),
        };
        import::export::format(&name).map_err(|e| anyhow::anyhow!("{}", e.detail()))
    }

    fn write(&self, sheet: &import::export::Sheet) -> anyhow::Result<()> {
        let bytes =
            import::export::write(sheet, self.format()?).map_err(|e| anyhow::anyhow!("{}", e.detail()))?;
        std::fs::write(&self.output, bytes)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", self.output.display()))?;
        println!("Wrote {} member(s) to {}.", sheet.rows.len(), self.output.display());
        Ok(())
    }
}

/// Run `roster export ...`.
pub async fn export(conn: &mut Conn, command: ExportCommand) -> anyhow::Result<()> {
    let ExportCommand::Members { file, origin } = command;
    let tenant = tenants::tenant(conn, &file.tenant).await?;
    file.format()?;
    let sheet = import::export::members(conn, tenant.id, origin.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail()))?;
    file.write(&sheet)
}

/// `roster import members ...`
#[derive(Debug, Args)]
pub struct MembersArgs {
    /// The file (.csv or .xlsx).
    pub file: PathBuf,
    /// Tenant slug.
    #[arg(long)]
    pub tenant: String,
    /// Mapping file (JSON) saying which column feeds which category (see the README).
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Show what would happen; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Suspend members of earlier imports that are absent from this file.
    #[arg(long)]
    pub sync: bool,
    /// Apply the valid rows even when other rows have errors.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Ask for no invitations for the members this import creates or restores.
    #[arg(long)]
    pub no_invitations: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Run `roster import ...`. An apply refused because of row errors prints the report and fails.
pub async fn run(conn: &mut Conn, command: ImportCommand, max_rows: usize) -> anyhow::Result<()> {
    let args = match command {
        ImportCommand::Members(args) => args,
        ImportCommand::Template(file) => {
            let tenant = tenants::tenant(conn, &file.tenant).await?;
            let sheet = import::export::template(conn, tenant.id)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.detail()))?;
            return file.write(&sheet);
        }
    };
    let tenant = tenants::tenant(conn, &args.tenant).await?;
    let bytes =
        std::fs::read(&args.file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.file.display()))?;
    let mapping = match &args.mapping {
        Some(p) => Some(std::fs::read(p).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?),
        None => None,
    };
    let name = args.file.file_name().and_then(|n| n.to_str());
    let upload = Upload { file_name: name, bytes: &bytes, mapping: mapping.as_deref() };
    let options = Options {
        dry_run: args.dry_run,
        sync: args.sync,
        skip_invalid: args.skip_invalid,
        no_invitations: args.no_invitations,
    };
    let report = import::run(conn, &tenant, upload, options, max_rows, chrono::Utc::now())
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail()))?;
    if args.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.text());
    }
    match &report.refused {
        Some(why) => anyhow::bail!("{why}"),
        None => Ok(()),
    }
}
