//! Reading export files as people's tools write them, detected rather than asked for: UTF-8 with or without a
//! byte-order mark, UTF-16 LE or BE with one (Windows PowerShell 5.1's `Out-File` and `>`), and Windows-1252 (text
//! that is not valid UTF-8: `ConvertTo-Csv | Set-Content` in Windows PowerShell, Python's `csv` on Windows).
//! Everything comes out as UTF-8; `LineMap` turns byte offsets of that text into the line numbers an editor shows.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The encoding a file was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 without a byte-order mark.
    Utf8,
    /// UTF-8 with a byte-order mark.
    Utf8Bom,
    /// UTF-16, little-endian, with a byte-order mark.
    Utf16Le,
    /// UTF-16, big-endian, with a byte-order mark.
    Utf16Be,
    /// Windows-1252 (not valid UTF-8).
    Windows1252,
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf8Bom => "UTF-8 with byte-order mark",
            Encoding::Utf16Le => "UTF-16 LE",
            Encoding::Utf16Be => "UTF-16 BE",
            Encoding::Windows1252 => "Windows-1252",
        })
    }
}

/// How much of standard input is looked at to tell UTF-8 from Windows-1252 (a file is read through first).
const SNIFF: usize = 4 << 20;

/// Whether `bytes` are UTF-8, allowing a character cut off at the end.
fn is_utf8_prefix(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// Whether the whole of `reader` is UTF-8.
fn is_utf8(mut reader: impl Read) -> io::Result<bool> {
    let mut buf = vec![0u8; 1 << 20];
    let mut carry = 0usize;
    loop {
        let n = reader.read(&mut buf[carry..])?;
        if n == 0 {
            return Ok(std::str::from_utf8(&buf[..carry]).is_ok());
        }
        let filled = carry + n;
        match std::str::from_utf8(&buf[..filled]) {
            Ok(_) => carry = 0,
            Err(e) if e.error_len().is_some() => return Ok(false),
            Err(e) => {
                // A character cut by the buffer's end: keep its first bytes for the next read.
                let valid = e.valid_up_to();
                buf.copy_within(valid..filled, 0);
                carry = filled - valid;
            }
        }
    }
}

/// How far through its input a reader is: bytes read of the file (or standard input), and its size if known.
#[derive(Debug, Clone, Default)]
pub struct Position {
    read: Arc<AtomicU64>,
    /// The file's size; `None` for standard input.
    pub total: Option<u64>,
}

impl Position {
    /// Bytes read so far.
    pub fn read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }
}

/// A reader that counts the bytes it hands out.
struct Counting {
    inner: Box<dyn Read>,
    read: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens `path` (`-` for standard input) as UTF-8 text.
pub fn open(path: &Path) -> io::Result<(Box<dyn BufRead>, Encoding)> {
    open_counted(path).map(|(reader, encoding, _)| (reader, encoding))
}

/// Opens `path` (`-` for standard input) as UTF-8 text, with a `Position` following the raw bytes read.
pub fn open_counted(path: &Path) -> io::Result<(Box<dyn BufRead>, Encoding, Position)> {
    let is_file = path != Path::new("-");
    let position = Position {
        read: Arc::new(AtomicU64::new(0)),
        total: is_file.then(|| std::fs::metadata(path).map(|m| m.len())).transpose()?,
    };
    let counted =
        |inner: Box<dyn Read>| -> Box<dyn Read> { Box::new(Counting { inner, read: Arc::clone(&position.read) }) };
    let mut input = if is_file { counted(Box::new(File::open(path)?)) } else { counted(Box::new(io::stdin())) };
    let mut head = Vec::with_capacity(SNIFF);
    (&mut input).take(3).read_to_end(&mut head)?;
    let decode = |encoding: &'static encoding_rs::Encoding, input: Box<dyn Read>| -> Box<dyn BufRead> {
        let decoder = encoding_rs_io::DecodeReaderBytesBuilder::new().encoding(Some(encoding)).build(input);
        Box::new(BufReader::with_capacity(1 << 16, decoder))
    };
    match head.as_slice() {
        [0xEF, 0xBB, 0xBF] => {
            return Ok((Box::new(BufReader::with_capacity(1 << 16, input)), Encoding::Utf8Bom, position));
        }
        [0xFF, 0xFE, ..] => {
            let rest = Box::new(io::Cursor::new(head[2..].to_vec()).chain(input));
            return Ok((decode(encoding_rs::UTF_16LE, rest), Encoding::Utf16Le, position));
        }
        [0xFE, 0xFF, ..] => {
            let rest = Box::new(io::Cursor::new(head[2..].to_vec()).chain(input));
            return Ok((decode(encoding_rs::UTF_16BE, rest), Encoding::Utf16Be, position));
        }
        _ => {}
    }
    let utf8 = if is_file {
        is_utf8(File::open(path)?)?
    } else {
        (&mut input).take((SNIFF - head.len()) as u64).read_to_end(&mut head)?;
        is_utf8_prefix(&head)
    };
    let input: Box<dyn Read> = if is_file {
        position.read.store(0, Ordering::Relaxed); // read again from the start
        counted(Box::new(File::open(path)?))
    } else {
        Box::new(io::Cursor::new(head).chain(input))
    };
    let reader = if utf8 {
        (Box::new(BufReader::with_capacity(1 << 16, input)) as Box<dyn BufRead>, Encoding::Utf8)
    } else {
        (decode(encoding_rs::WINDOWS_1252, input), Encoding::Windows1252)
    };
    Ok((reader.0, reader.1, position))
}

/// Shares the text a reader hands out, so that byte offsets in it can be turned into line numbers.
pub struct Tee<R> {
    inner: R,
    seen: Rc<RefCell<VecDeque<u8>>>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.seen.borrow_mut().extend(&buf[..n]);
        Ok(n)
    }
}

/// Line numbers of byte offsets in the text read through a `Tee`, asked for in increasing order; it keeps only
/// the text not yet counted.
pub struct LineMap {
    seen: Rc<RefCell<VecDeque<u8>>>,
    offset: u64,
    line: u64,
}

/// `reader` wrapped so that `LineMap` can count its lines.
pub fn tee<R: Read>(reader: R) -> (Tee<R>, LineMap) {
    let seen = Rc::new(RefCell::new(VecDeque::new()));
    (Tee { inner: reader, seen: Rc::clone(&seen) }, LineMap { seen, offset: 0, line: 1 })
}

impl LineMap {
    /// The line (from 1) of the row starting at `offset`. A row starts after any line ends there: the csv crate
    /// puts a CRLF row's start on the `\n` of the row before (which made its own line numbers one short).
    pub fn line_at(&mut self, offset: u64) -> u64 {
        let mut seen = self.seen.borrow_mut();
        while self.offset < offset || seen.front().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            match seen.pop_front() {
                Some(b) => {
                    self.line += u64::from(b == b'\n');
                    self.offset += 1;
                }
                None => break,
            }
        }
        self.line
    }
}

/// Line numbers of offsets into a text held whole, asked for in increasing order.
pub struct LineCounter<'a> {
    text: &'a str,
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    /// Counting from the first line of `text`.
    pub fn new(text: &'a str) -> LineCounter<'a> {
        LineCounter::starting_at(text, 1)
    }

    /// Counting with `text` starting on line `line` of its file.
    pub fn starting_at(text: &'a str, line: u64) -> LineCounter<'a> {
        LineCounter { text, offset: 0, line }
    }

    /// The line of the byte at `offset`.
    pub fn line_at(&mut self, offset: usize) -> u64 {
        self.line += self.text.as_bytes()[self.offset..offset].iter().filter(|b| **b == b'\n').count() as u64;
        self.offset = offset;
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> (String, Encoding) {
        let dir = std::env::temp_dir().join(format!("ipscope-text-{}-{}", std::process::id(), bytes.len()));
        std::fs::write(&dir, bytes).unwrap();
        let (mut reader, encoding) = open(&dir).unwrap();
        let mut text = String::new();
        reader.read_to_string(&mut text).unwrap();
        let _ = std::fs::remove_file(&dir);
        (text, encoding)
    }

    #[test]
    fn detects_what_tools_write() {
        let text = "Name,Product\r\nsvc,Contoso® Agent\r\n";
        let utf16le: Vec<u8> = [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
        let utf16be: Vec<u8> = [0xFE, 0xFF].into_iter().chain(text.encode_utf16().flat_map(u16::to_be_bytes)).collect();
        let bom: Vec<u8> = [0xEF, 0xBB, 0xBF].into_iter().chain(text.bytes()).collect();
        let cp1252: Vec<u8> = text.replace('®', "\u{1}").bytes().map(|b| if b == 1 { 0xAE } else { b }).collect();
        assert_eq!(read_all(text.as_bytes()), (text.to_string(), Encoding::Utf8));
        assert_eq!(read_all(&bom), (text.to_string(), Encoding::Utf8Bom));
        assert_eq!(read_all(&utf16le), (text.to_string(), Encoding::Utf16Le));
        assert_eq!(read_all(&utf16be), (text.to_string(), Encoding::Utf16Be));
        assert_eq!(read_all(&cp1252), (text.to_string(), Encoding::Windows1252));
        assert_eq!(read_all(b""), (String::new(), Encoding::Utf8));
    }

    #[test]
    fn utf8_characters_cut_by_the_buffer_are_still_utf8() {
        let long: String = "é".repeat(1 << 20); // 2 MB: some character straddles the 1 MB buffer
        assert!(is_utf8(io::Cursor::new(long.as_bytes())).unwrap());
        let mut bad = long.into_bytes();
        bad.push(0xAE);
        assert!(!is_utf8(io::Cursor::new(bad)).unwrap());
    }

    #[test]
    fn byte_offsets_become_editor_lines() {
        let (mut reader, mut lines) = tee(io::Cursor::new(b"a\r\nbb\r\n\r\nc".to_vec()));
        let mut all = Vec::new();
        reader.read_to_end(&mut all).unwrap();
        assert_eq!([0, 3, 7, 9].map(|o| lines.line_at(o)), [1, 2, 4, 4]);
        let (mut reader, mut lines) = tee(io::Cursor::new(b"h\r\na\r\nb\r\n".to_vec()));
        reader.read_to_end(&mut Vec::new()).unwrap();
        assert_eq!([2, 5].map(|o| lines.line_at(o)), [2, 3], "a row placed on the previous row's \\n");
    }
}
