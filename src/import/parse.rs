//! Reading an uploaded file into a table of text cells: CSV (UTF-8, comma, semicolon or tab,
//! RFC 4180 quoting, CRLF or LF, optional BOM) or XLSX (first sheet). Pure: bytes in, table out.
//!
//! CSV goes through the `csv` crate; the delimiter is detected from the header line, because
//! Norwegian, Danish, German and French spreadsheet programs write `;` where others write `,`.
//! XLSX goes through `calamine`; cells are turned into the text a person sees (whole numbers
//! without `.0`, dates as ISO dates).

use std::io::Cursor;

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
#[error("{0}")]
pub struct ParseError(pub String);

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

/// Read a file of the given format.
pub fn parse(bytes: &[u8], format: Format) -> Result<Table, ParseError> {
    match format {
        Format::Csv => parse_csv(bytes),
        Format::Xlsx => parse_xlsx(bytes),
    }
}

/// The 1-based line on which byte offset `at` lies.
fn line_of(bytes: &[u8], at: usize) -> usize {
    let at = at.min(bytes.len());
    bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The line a record starting at byte `at` is on (the csv crate may place a record's start on
/// the line break before it).
fn record_line(bytes: &[u8], at: usize) -> usize {
    let skip =
        bytes.get(at..).map_or(0, |rest| rest.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count());
    line_of(bytes, at + skip)
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

fn parse_csv(bytes: &[u8]) -> Result<Table, ParseError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ParseError(format!(
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
    let mut headers: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| line_of(text.as_bytes(), p.byte() as usize));
            ParseError(format!("line {line}: the CSV is malformed ({e}); check its quotes"))
        })?;
        // Counted from the byte offset: the csv crate's line count skips newlines inside quotes.
        let line = record.position().map_or(0, |p| record_line(text.as_bytes(), p.byte() as usize));
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
        push_row(&mut headers, &mut rows, line, cells);
    }
    finish(headers, rows)
}

/// Add a record: the first non-empty one is the header, empty ones are skipped.
fn push_row(headers: &mut Option<Vec<String>>, rows: &mut Vec<Row>, line: usize, mut cells: Vec<String>) {
    if cells.iter().all(String::is_empty) {
        return;
    }
    let Some(h) = headers.as_ref() else {
        *headers = Some(cells);
        return;
    };
    let width = h.len();
    let extra_fields =
        (cells.len() > width && cells[width..].iter().any(|c| !c.is_empty())).then_some(cells.len());
    cells.resize(width, String::new());
    rows.push(Row { line, cells, extra_fields });
}

fn finish(headers: Option<Vec<String>>, rows: Vec<Row>) -> Result<Table, ParseError> {
    let mut headers =
        headers.ok_or_else(|| ParseError("the file is empty: expected a header line".into()))?;
    // Trailing empty header cells (a spreadsheet's stray separators) are not columns.
    while headers.last().is_some_and(String::is_empty) {
        headers.pop();
    }
    if let Some(i) = headers.iter().position(String::is_empty) {
        return Err(ParseError(format!("the header has an empty column name (column {})", i + 1)));
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

fn parse_xlsx(bytes: &[u8]) -> Result<Table, ParseError> {
    let unreadable =
        |e: calamine::XlsxError| ParseError(format!("the file is not a readable .xlsx workbook: {e}"));
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(unreadable)?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| ParseError("the workbook has no sheet".into()))?
        .map_err(unreadable)?;
    let first_row = range.start().map_or(0, |(r, _)| r as usize);
    let first_col = range.start().map_or(0, |(_, c)| c as usize);
    let mut headers = None;
    let mut rows = Vec::new();
    for (i, cells) in range.rows().enumerate() {
        // Columns left of the used range are empty; keep positions as the user sees them.
        let mut texts = vec![String::new(); first_col];
        texts.extend(cells.iter().map(cell_text));
        push_row(&mut headers, &mut rows, first_row + i + 1, texts);
    }
    finish(headers, rows)
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

    fn csv(text: &[u8]) -> Table {
        parse(text, Format::Csv).unwrap()
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
        let err = parse(b"a;b\nx;y\nz;Troms\xF8\n", Format::Csv).unwrap_err();
        assert!(err.0.contains("line 3"), "{err}");
        assert!(err.0.contains("UTF-8"), "{err}");
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
        assert!(parse(b"", Format::Csv).unwrap_err().0.contains("empty"));
        assert!(parse(b"\xEF\xBB\xBF\r\n", Format::Csv).unwrap_err().0.contains("empty"));
        assert!(parse(b"a,,b\n1,2,3\n", Format::Csv).unwrap_err().0.contains("column 2"));
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
        let t = parse(&bytes, Format::Xlsx).unwrap();
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
        let err = parse(b"PK\x03\x04not really a zip", Format::Xlsx).unwrap_err();
        assert!(err.0.contains(".xlsx"), "{err}");
    }

    #[test]
    fn whole_numbers_have_no_fraction() {
        assert_eq!(number_text(12345.0), "12345");
        assert_eq!(number_text(-3.0), "-3");
        assert_eq!(number_text(0.25), "0.25");
    }
}
