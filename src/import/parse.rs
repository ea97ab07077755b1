//! Reading an uploaded file into a table of text cells: CSV (UTF-8, comma, semicolon or tab,
//! RFC 4180 quoting, CRLF or LF, optional BOM) or XLSX (first sheet). Pure: bytes in, table out.
//!
//! CSV goes through the `csv` crate; the delimiter is detected from the header line, because
//! Norwegian, Danish, German and French spreadsheet programs write `;` where others write `,`.
//! XLSX goes through `calamine`; cells are turned into the text a person sees (whole numbers
//! without `.0`, dates as ISO dates).
//!
//! **Bounded.** An upload is untrusted, and a small file can expand enormously: a 1 MB XLSX
//! can hold a sheet that decompresses to gigabytes, or name a cell in column XFD of row 1048576.
//! [`Limits`] bound what is read, and each bound is checked before the memory is spent: the
//! zip's entries are measured by decompressing them into nothing (declared sizes can lie)
//! before `calamine` opens the file; the sheet is read cell by cell (`calamine`'s range reader
//! would allocate rows × columns cells up front); rows, columns and cell lengths are counted
//! while reading. A cell holding NUL, which PostgreSQL text cannot store, is refused too.

use std::io::{Cursor, Read};

use calamine::{Data, Reader, Xlsx};

/// One data row of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Where the row starts in the file (1-based; the header is line 1 unless it is preceded by
    /// empty lines), so error messages point at what the user sees in their editor.
    pub line: usize,
    /// The cells, trimmed, one per header column (missing trailing cells are empty).
    pub cells: Vec<String>,
    /// How many fields the row had when that is more than the header has.
    pub extra_fields: Option<usize>,
}

/// A parsed file: its header and its data rows (empty rows left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Header names, trimmed (case kept, for the report).
    pub headers: Vec<String>,
    /// Data rows in file order.
    pub rows: Vec<Row>,
}

/// The file formats an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Delimited text.
    Csv,
    /// Office Open XML spreadsheet.
    Xlsx,
}

/// Why a file could not be read, in words its owner can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The file is malformed or holds something that cannot be imported.
    #[error("{0}")]
    Invalid(String),
    /// The file is over one of the [`Limits`].
    #[error("{0}")]
    TooLarge(String),
}

impl ParseError {
    /// The message.
    pub fn message(&self) -> &str {
        match self {
            ParseError::Invalid(m) | ParseError::TooLarge(m) => m,
        }
    }
}

fn invalid(message: impl Into<String>) -> ParseError {
    ParseError::Invalid(message.into())
}

/// Most columns a file may have.
pub const MAX_COLUMNS: usize = 256;
/// Longest cell, in characters.
pub const MAX_CELL_CHARS: usize = 4_096;
/// Most bytes all entries of an XLSX may decompress to together.
pub const MAX_UNZIPPED_BYTES: u64 = 64 * 1024 * 1024;
/// Most bytes one entry of an XLSX (a sheet, the shared strings) may decompress to.
pub const MAX_ENTRY_BYTES: u64 = 32 * 1024 * 1024;

/// What [`parse`] reads at most; over a limit the file is refused while it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most data rows (`ROSTER_IMPORT_MAX_ROWS`).
    pub max_rows: usize,
    /// Most columns.
    pub max_columns: usize,
    /// Longest cell, in characters.
    pub max_cell_chars: usize,
    /// Most bytes an XLSX decompresses to, all entries together.
    pub max_unzipped_bytes: u64,
    /// Most bytes one XLSX entry decompresses to.
    pub max_entry_bytes: u64,
}

impl Limits {
    /// The standard limits with at most `max_rows` data rows.
    pub fn with_rows(max_rows: usize) -> Limits {
        Limits {
            max_rows,
            max_columns: MAX_COLUMNS,
            max_cell_chars: MAX_CELL_CHARS,
            max_unzipped_bytes: MAX_UNZIPPED_BYTES,
            max_entry_bytes: MAX_ENTRY_BYTES,
        }
    }
}

/// The format of an upload: a zip container (`PK\x03\x04`, what every XLSX is) or an `.xlsx`
/// name means XLSX; anything else is read as CSV.
pub fn detect(file_name: Option<&str>, bytes: &[u8]) -> Format {
    let by_name = file_name.is_some_and(|n| n.to_ascii_lowercase().ends_with(".xlsx"));
    if by_name || bytes.starts_with(b"PK\x03\x04") {
        Format::Xlsx
    } else {
        Format::Csv
    }
}

/// Read a file of the given format within `limits`.
pub fn parse(bytes: &[u8], format: Format, limits: &Limits) -> Result<Table, ParseError> {
    match format {
        Format::Csv => parse_csv(bytes, limits),
        Format::Xlsx => parse_xlsx(bytes, limits),
    }
}

/// The 1-based line on which byte offset `at` lies.
fn line_of(bytes: &[u8], at: usize) -> usize {
    let at = at.min(bytes.len());
    bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Line numbers of records, counted incrementally (records come in file order), so a file of n
/// lines costs O(n), not O(n²).
struct LineCounter<'a> {
    bytes: &'a [u8],
    at: usize,
    line: usize,
}

impl LineCounter<'_> {
    /// The line a record starting at byte `at` is on (the csv crate may place a record's start
    /// on the line break before it).
    fn record_line(&mut self, at: usize) -> usize {
        let at = at.min(self.bytes.len());
        let skip = self.bytes[at..].iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
        let target = at + skip;
        if target >= self.at {
            self.line += self.bytes[self.at..target].iter().filter(|&&b| b == b'\n').count();
            self.at = target;
            self.line
        } else {
            line_of(self.bytes, target)
        }
    }
}

/// The delimiter of a CSV file: the most frequent of `,`, `;` and tab outside quotes in the
/// header line (a comma on a tie or when there is none: a one-column file).
pub fn detect_delimiter(text: &str) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' | '\r' if !quoted => break,
            ',' if !quoted => counts[0] += 1,
            ';' if !quoted => counts[1] += 1,
            '\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best =
        [b',', b';', b'\t'].into_iter().zip(counts).fold(
            (b',', 0),
            |acc, (d, n)| {
                if n > acc.1 {
                    (d, n)
                } else {
                    acc
                }
            },
        );
    best.0
}

fn parse_csv(bytes: &[u8], limits: &Limits) -> Result<Table, ParseError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        invalid(format!(
            "the file is not UTF-8 text: line {} has bytes that are not UTF-8 (save it as \"CSV UTF-8\" \
             or as .xlsx)",
            line_of(bytes, e.valid_up_to())
        ))
    })?;
    let delimiter = detect_delimiter(text.trim_start_matches(['\r', '\n']));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut table = Builder::new(limits);
    let mut lines = LineCounter { bytes: text.as_bytes(), at: 0, line: 1 };
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_of(text.as_bytes(), p.byte() as usize));
                return Err(invalid(format!("line {line}: the CSV is malformed ({e}); check its quotes")));
            }
        }
        // Counted from the byte offset: the csv crate's line count skips newlines inside quotes.
        let line = record.position().map_or(0, |p| lines.record_line(p.byte() as usize));
        // Trailing empty fields (stray separators) are not columns.
        let width = (0..record.len()).rev().find(|&i| !record[i].trim().is_empty()).map_or(0, |i| i + 1);
        table.check_width(line, width)?;
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
        table.push(line, cells)?;
    }
    table.finish()
}

/// Collects rows within the [`Limits`]: the first non-empty record is the header, empty ones
/// are skipped.
struct Builder<'l> {
    limits: &'l Limits,
    headers: Option<Vec<String>>,
    rows: Vec<Row>,
}

impl<'l> Builder<'l> {
    fn new(limits: &'l Limits) -> Self {
        Builder { limits, headers: None, rows: Vec::new() }
    }

    /// A record of `width` fields on `line` is refused when it has too many columns.
    fn check_width(&self, line: usize, width: usize) -> Result<(), ParseError> {
        if width > self.limits.max_columns {
            return Err(ParseError::TooLarge(format!(
                "line {line} has {width} columns; an import reads at most {}",
                self.limits.max_columns
            )));
        }
        Ok(())
    }

    /// Add a record after checking its cells and the row count.
    fn push(&mut self, line: usize, mut cells: Vec<String>) -> Result<(), ParseError> {
        if cells.iter().all(String::is_empty) {
            return Ok(());
        }
        for (i, cell) in cells.iter().enumerate() {
            check_cell(line, i + 1, cell, self.limits.max_cell_chars)?;
        }
        let Some(h) = self.headers.as_ref() else {
            self.headers = Some(cells);
            return Ok(());
        };
        if self.rows.len() >= self.limits.max_rows {
            return Err(ParseError::TooLarge(format!(
                "the file has at least {} rows; an import takes at most {} (ROSTER_IMPORT_MAX_ROWS): split it",
                self.rows.len() + 1,
                self.limits.max_rows
            )));
        }
        let width = h.len();
        let extra_fields =
            (cells.len() > width && cells[width..].iter().any(|c| !c.is_empty())).then_some(cells.len());
        cells.resize(width, String::new());
        self.rows.push(Row { line, cells, extra_fields });
        Ok(())
    }

    fn finish(self) -> Result<Table, ParseError> {
        finish(self.headers, self.rows)
    }
}

/// A cell that cannot be imported as it is: NUL (PostgreSQL text cannot hold it) or longer than
/// `max` characters. The message names where it is, never its content.
fn check_cell(line: usize, column: usize, cell: &str, max: usize) -> Result<(), ParseError> {
    if crate::text::first_unstorable(cell).is_some() {
        return Err(invalid(format!(
            "line {line}, column {column}: the cell contains the character U+0000 (NUL), which cannot \
             be stored; remove it"
        )));
    }
    if cell.len() > max && cell.chars().count() > max {
        return Err(invalid(format!(
            "line {line}, column {column}: the cell is longer than {max} characters"
        )));
    }
    Ok(())
}

fn finish(headers: Option<Vec<String>>, rows: Vec<Row>) -> Result<Table, ParseError> {
    let mut headers = headers.ok_or_else(|| invalid("the file is empty: expected a header line"))?;
    // Trailing empty header cells (a spreadsheet's stray separators) are not columns.
    while headers.last().is_some_and(String::is_empty) {
        headers.pop();
    }
    if let Some(i) = headers.iter().position(String::is_empty) {
        return Err(invalid(format!("the header has an empty column name (column {})", i + 1)));
    }
    let width = headers.len();
    let rows = rows
        .into_iter()
        .map(|mut r| {
            if r.extra_fields.is_none() && r.cells[width..].iter().any(|c| !c.is_empty()) {
                r.extra_fields = Some(r.cells.len());
            }
            r.cells.truncate(width);
            r
        })
        .collect();
    Ok(Table { headers, rows })
}

fn unreadable(e: impl std::fmt::Display) -> ParseError {
    invalid(format!("the file is not a readable .xlsx workbook: {e}"))
}

fn parse_xlsx(bytes: &[u8], limits: &Limits) -> Result<Table, ParseError> {
    check_unzipped_size(bytes, limits)?;
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(unreadable)?;
    let first = book.sheet_names().first().cloned().ok_or_else(|| invalid("the workbook has no sheet"))?;
    let mut cells = book.worksheet_cells_reader(&first).map_err(unreadable)?;
    let mut table = Builder::new(limits);
    // The row being read: its 0-based index and its cells by 0-based column.
    let mut current: Option<(u32, Vec<String>)> = None;
    while let Some(cell) = cells.next_cell().map_err(unreadable)? {
        let (row, col) = cell.get_position();
        let data = Data::from(cell.get_value().clone());
        if matches!(data, Data::Empty) {
            continue;
        }
        table.check_width(row as usize + 1, col as usize + 1)?;
        if current.as_ref().is_some_and(|(r, _)| *r != row) {
            if let Some((r, texts)) = current.take() {
                table.push(r as usize + 1, texts)?;
            }
        }
        let (_, texts) = current.get_or_insert_with(|| (row, Vec::new()));
        let col = col as usize;
        if texts.len() <= col {
            texts.resize(col + 1, String::new());
        }
        texts[col] = cell_text(&data);
    }
    if let Some((r, texts)) = current {
        table.push(r as usize + 1, texts)?;
    }
    table.finish()
}

/// Refuses an XLSX whose entries decompress to more than the limits allow, before `calamine`
/// reads it. Each entry is decompressed into nothing, bounded, because the sizes a zip
/// declares may lie; a declared size over the limit is refused without decompressing.
fn check_unzipped_size(bytes: &[u8], limits: &Limits) -> Result<(), ParseError> {
    let too_large = || {
        ParseError::TooLarge(format!(
            "the .xlsx file decompresses to more than an import reads ({} MiB in all, {} MiB per part); \
             split it or save it as CSV",
            limits.max_unzipped_bytes >> 20,
            limits.max_entry_bytes >> 20
        ))
    };
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip.by_index(i).map_err(unreadable)?;
        let room = limits.max_entry_bytes.min(limits.max_unzipped_bytes - total);
        if entry.size() > room {
            return Err(too_large());
        }
        let read = std::io::copy(&mut entry.take(room + 1), &mut std::io::sink()).map_err(unreadable)?;
        if read > room {
            return Err(too_large());
        }
        total += read;
    }
    Ok(())
}

/// A cell as the text a person sees: whole numbers without a fraction, dates as ISO dates
/// (date-times as ISO date-times), booleans as `true`/`false`.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
            }
        }
        Data::DateTime(dt) => number_text(dt.as_f64()),
        Data::DateTimeIso(s) => s.split_once("T00:00:00").map_or(s.as_str(), |(d, _)| d).to_string(),
        Data::DurationIso(s) => s.clone(),
    }
}

/// A spreadsheet number as text: `12345`, not `12345.0`.
fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::with_rows(10_000)
    }

    fn csv(text: &[u8]) -> Table {
        parse(text, Format::Csv, &limits()).unwrap()
    }

    fn cells(t: &Table) -> Vec<Vec<&str>> {
        t.rows.iter().map(|r| r.cells.iter().map(String::as_str).collect()).collect()
    }

    #[test]
    fn comma_lf_as_google_sheets_exports() {
        let t =
            csv(b"firstname,lastname,email\nAda,Lovelace,ada@example.com\nAlan,Turing,alan@example.com\n");
        assert_eq!(t.headers, ["firstname", "lastname", "email"]);
        assert_eq!(
            cells(&t),
            [["Ada", "Lovelace", "ada@example.com"], ["Alan", "Turing", "alan@example.com"]]
        );
        assert_eq!(t.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3]);
    }

    #[test]
    fn semicolon_crlf_bom_as_excel_exports() {
        let t = csv(b"\xEF\xBB\xBFFornavn;Etternavn;E-post;By\r\nK\xC3\xA5re;N\xC3\xA6ss;kare@example.no;Troms\xC3\xB8\r\n\r\n");
        assert_eq!(t.headers, ["Fornavn", "Etternavn", "E-post", "By"]);
        assert_eq!(cells(&t), [["Kåre", "Næss", "kare@example.no", "Tromsø"]]);
    }

    #[test]
    fn quoted_fields_keep_delimiters_quotes_and_newlines() {
        let t = csv(b"a;b;c\r\n\"x;y\";\"say \"\"hi\"\"\";\"two\r\nlines\"\r\nnext;1;2\r\n");
        assert_eq!(cells(&t), [vec!["x;y", "say \"hi\"", "two\r\nlines"], vec!["next", "1", "2"]]);
        // The record after a quoted newline starts on line 4.
        assert_eq!(t.rows[1].line, 4);
    }

    #[test]
    fn trailing_empty_lines_and_empty_records_are_ignored() {
        let t = csv(b"a,b\n1,2\n\n,\n  \n\n");
        assert_eq!(cells(&t), [["1", "2"]]);
    }

    #[test]
    fn tab_delimited() {
        let t = csv(b"a\tb\n1\t2\n");
        assert_eq!(cells(&t), [["1", "2"]]);
    }

    #[test]
    fn delimiter_detection_ignores_quoted_separators() {
        assert_eq!(detect_delimiter("\"a,b,c\";d;e\n1,2,3,4"), b';');
        assert_eq!(detect_delimiter("a,b;c,d"), b',');
        assert_eq!(detect_delimiter("single"), b',');
    }

    #[test]
    fn non_utf8_names_the_first_bad_line() {
        // Latin-1 "Tromsø" on line 3.
        let err = parse(b"a;b\nx;y\nz;Troms\xF8\n", Format::Csv, &limits()).unwrap_err();
        assert!(err.message().contains("line 3"), "{err}");
        assert!(err.message().contains("UTF-8"), "{err}");
    }

    #[test]
    fn short_rows_are_padded_and_long_rows_flagged() {
        let t = csv(b"a,b,c\n1\n1,2,3,4\n1,2,3,\n");
        assert_eq!(t.rows[0].cells, ["1", "", ""]);
        assert_eq!(t.rows[1].extra_fields, Some(4));
        assert_eq!(t.rows[2].extra_fields, None);
    }

    #[test]
    fn empty_file_and_empty_header_cells_are_errors() {
        assert!(parse(b"", Format::Csv, &limits()).unwrap_err().message().contains("empty"));
        assert!(parse(b"\xEF\xBB\xBF\r\n", Format::Csv, &limits()).unwrap_err().message().contains("empty"));
        assert!(parse(b"a,,b\n1,2,3\n", Format::Csv, &limits()).unwrap_err().message().contains("column 2"));
        // Trailing separators in the header are dropped, not errors.
        assert_eq!(csv(b"a;b;;\n1;2;;\n").headers, ["a", "b"]);
    }

    #[test]
    fn malformed_quotes_are_not_silently_accepted_as_data_loss() {
        // An unterminated quote swallows the rest of the file into one field; the row count says so.
        let t = csv(b"a,b\n\"1,2\n3,4\n");
        assert_eq!(t.rows.len(), 1);
    }

    #[test]
    fn format_detection_by_magic_and_name() {
        assert_eq!(detect(Some("members.csv"), b"PK\x03\x04rest"), Format::Xlsx);
        assert_eq!(detect(Some("Members.XLSX"), b"junk"), Format::Xlsx);
        assert_eq!(detect(None, b"firstname,lastname"), Format::Csv);
    }

    #[test]
    fn xlsx_first_sheet_numbers_dates_and_text() {
        use rust_xlsxwriter::{ExcelDateTime, Format as XFormat, Workbook};
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in ["firstname", "lastname", "email", "personalid", "Born", "Score"].iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        sheet.write_string(1, 0, "Ada").unwrap();
        sheet.write_string(1, 1, " Lovelace ").unwrap();
        sheet.write_string(1, 2, "ada@example.com").unwrap();
        sheet.write_number(1, 3, 12345.0).unwrap();
        let date = ExcelDateTime::from_ymd(1995, 12, 10).unwrap();
        sheet.write_datetime_with_format(1, 4, &date, &XFormat::new().set_num_format("yyyy-mm-dd")).unwrap();
        sheet.write_number(1, 5, 2.5).unwrap();
        // An empty row, then a row with only an email.
        sheet.write_string(3, 2, "alan@example.com").unwrap();
        let other = book.add_worksheet();
        other.write_string(0, 0, "ignored").unwrap();
        let bytes = book.save_to_buffer().unwrap();

        assert_eq!(detect(None, &bytes), Format::Xlsx);
        let t = parse(&bytes, Format::Xlsx, &limits()).unwrap();
        assert_eq!(t.headers, ["firstname", "lastname", "email", "personalid", "Born", "Score"]);
        assert_eq!(
            cells(&t),
            [
                vec!["Ada", "Lovelace", "ada@example.com", "12345", "1995-12-10", "2.5"],
                vec!["", "", "alan@example.com", "", "", ""]
            ]
        );
        assert_eq!(t.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 4]);
    }

    #[test]
    fn broken_xlsx_is_an_error() {
        let err = parse(b"PK\x03\x04not really a zip", Format::Xlsx, &limits()).unwrap_err();
        assert!(err.message().contains(".xlsx"), "{err}");
    }

    #[test]
    fn whole_numbers_have_no_fraction() {
        assert_eq!(number_text(12345.0), "12345");
        assert_eq!(number_text(-3.0), "-3");
        assert_eq!(number_text(0.25), "0.25");
    }

    /// An XLSX whose first sheet is `sheet_xml`, built from a real workbook so that every other
    /// part is what Excel expects.
    fn xlsx_with_sheet(sheet_xml: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut book = rust_xlsxwriter::Workbook::new();
        book.add_worksheet().write_string(0, 0, "firstname").unwrap();
        let original = book.save_to_buffer().unwrap();
        let mut source = zip::ZipArchive::new(Cursor::new(original)).unwrap();
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(1));
        for i in 0..source.len() {
            let mut entry = source.by_index(i).unwrap();
            let name = entry.name().to_string();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            out.start_file(name.as_str(), options).unwrap();
            if name == "xl/worksheets/sheet1.xml" {
                out.write_all(sheet_xml).unwrap();
            } else {
                out.write_all(&data).unwrap();
            }
        }
        out.finish().unwrap().into_inner()
    }

    fn sheet(rows: &str) -> Vec<u8> {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
             <worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>{rows}</sheetData></worksheet>"
        )
        .into_bytes()
    }

    fn inline(cell: &str, text: &str) -> String {
        format!("<c r=\"{cell}\" t=\"inlineStr\"><is><t>{text}</t></is></c>")
    }

    #[test]
    fn a_zip_bomb_is_refused_before_it_is_read() {
        let small = Limits { max_entry_bytes: 64 * 1024, max_unzipped_bytes: 256 * 1024, ..limits() };
        let huge_cell = inline("A2", &"x".repeat(100 * 1024));
        let bomb = xlsx_with_sheet(&sheet(&format!(
            "<row r=\"1\">{}</row><row r=\"2\">{huge_cell}</row>",
            inline("A1", "a")
        )));
        assert!(bomb.len() < 10 * 1024, "the bomb is small: {}", bomb.len());
        let err = parse(&bomb, Format::Xlsx, &small).unwrap_err();
        assert!(matches!(err, ParseError::TooLarge(_)), "{err}");
        assert!(err.message().contains("decompresses to more than"), "{err}");
        assert!(!err.message().contains("xxx"), "the detail never echoes the content");
        // Under the standard limits the same file is read, and its long cell is refused.
        let err = parse(&bomb, Format::Xlsx, &limits()).unwrap_err();
        assert_eq!(
            err,
            ParseError::Invalid("line 2, column 1: the cell is longer than 4096 characters".into())
        );
    }

    #[test]
    fn many_small_parts_count_towards_the_total() {
        let small = Limits { max_entry_bytes: 64 * 1024, max_unzipped_bytes: 2 * 1024, ..limits() };
        let file = xlsx_with_sheet(&sheet(&format!("<row r=\"1\">{}</row>", inline("A1", "a"))));
        assert!(matches!(parse(&file, Format::Xlsx, &small), Err(ParseError::TooLarge(_))));
    }

    #[test]
    fn a_cell_far_away_is_refused_without_allocating_the_range() {
        let far = format!("<row r=\"1\">{}{}</row>", inline("A1", "a"), inline("XFD1048576", "z"));
        let err = parse(&xlsx_with_sheet(&sheet(&far)), Format::Xlsx, &limits()).unwrap_err();
        assert!(matches!(err, ParseError::TooLarge(_)), "{err}");
        assert!(err.message().contains("16384 columns"), "{err}");
        // Far away rows are fine: only rows with content are kept.
        let rows = format!(
            "<row r=\"1\">{}</row><row r=\"1048576\">{}</row>",
            inline("A1", "a"),
            inline("A1048576", "z")
        );
        let t = parse(&xlsx_with_sheet(&sheet(&rows)), Format::Xlsx, &limits()).unwrap();
        assert_eq!((t.rows.len(), t.rows[0].line), (1, 1_048_576));
    }

    #[test]
    fn nul_is_refused_in_csv_and_xlsx_cells_naming_the_cell() {
        let err = parse(b"a,b\n1,x\x00y\n", Format::Csv, &limits()).unwrap_err();
        assert_eq!(
            err.message(),
            "line 2, column 2: the cell contains the character U+0000 (NUL), which cannot be stored; remove it"
        );
        // OOXML escapes control characters as _xHHHH_; calamine decodes them.
        let rows = format!(
            "<row r=\"1\">{}</row><row r=\"2\">{}</row>",
            inline("A1", "a"),
            inline("A2", "b_x0000_c")
        );
        let err = parse(&xlsx_with_sheet(&sheet(&rows)), Format::Xlsx, &limits()).unwrap_err();
        assert!(
            err.message().starts_with("line 2, column 1: the cell contains the character U+0000"),
            "{err}"
        );
    }

    #[test]
    fn rows_columns_and_cells_are_bounded_in_csv() {
        let three = Limits { max_rows: 2, ..limits() };
        let err = parse(b"a\n1\n2\n3\n4\n", Format::Csv, &three).unwrap_err();
        assert_eq!(
            err,
            ParseError::TooLarge(
                "the file has at least 3 rows; an import takes at most 2 (ROSTER_IMPORT_MAX_ROWS): split it"
                    .into()
            )
        );
        assert_eq!(
            parse(b"a\n1\n\n\n2\n", Format::Csv, &three).unwrap().rows.len(),
            2,
            "empty rows do not count"
        );
        let wide = vec!["c"; MAX_COLUMNS + 1].join(",");
        let err = parse(wide.as_bytes(), Format::Csv, &limits()).unwrap_err();
        assert!(matches!(err, ParseError::TooLarge(_)), "{err}");
        let trailing = format!("a,b{}\n1,2\n", ",".repeat(1000));
        assert_eq!(parse(trailing.as_bytes(), Format::Csv, &limits()).unwrap().headers, ["a", "b"]);
        let long = format!("a\n{}\n", "é".repeat(MAX_CELL_CHARS + 1));
        let err = parse(long.as_bytes(), Format::Csv, &limits()).unwrap_err();
        assert_eq!(
            err,
            ParseError::Invalid("line 2, column 1: the cell is longer than 4096 characters".into())
        );
        let fits = format!("a\n{}\n", "é".repeat(MAX_CELL_CHARS));
        assert!(parse(fits.as_bytes(), Format::Csv, &limits()).is_ok());
    }
}
