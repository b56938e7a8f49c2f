//! What `cargo xtask` does to trunk's output before compressing it: the JavaScript glue minified, the names the
//! module and its glue share shortened, and `index.html`'s integrity hashes kept true.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};

use crate::tools;

/// Minifies the JavaScript glue with terser (trunk minifies the page and the CSS, `Trunk.toml`, but leaves
/// wasm-bindgen's output as written: 58 KB, 9.4 KB gzip, against 26 KB, 7.2 KB gzip minified). The file keeps
/// trunk's name: the hash in it is of the unminified text, which the minified text follows.
pub fn minify_glue(root: &Path, dist: &Path) -> Result<()> {
    let glue = only_file(dist, "js")?;
    rewrite(dist, &glue, |_| {
        let out = Command::new(tools::terser(root))
            .arg(&glue)
            .args(["--module", "--compress", "--mangle"])
            .output()
            .context("cannot start terser")?;
        ensure!(out.status.success(), "terser failed on {}: {}", glue.display(), String::from_utf8_lossy(&out.stderr));
        Ok(out.stdout)
    })
}

/// Gives the functions the module imports from its glue, and those it exports to it, short names (`a0`, `a1`,
/// …) in both files. wasm-bindgen names them by what they bind plus a hash (`__wbg_getElementById_f827f0d664871`),
/// about 200 names of 30 characters twice over, the hashes incompressible: 5.8 KB gzip of the two files. In the
/// glue these names only ever follow a `.` or key an object (`import0 = {…, name: function…}`), never name a
/// variable. The name of the module the imports come from (`./ipscope_bg.js`, once per import) becomes `m0`, and
/// the custom sections no browser reads (the producers' names, target features) go.
pub fn shorten_import_names(dist: &Path) -> Result<()> {
    let (module, glue) = (only_file(dist, "wasm")?, only_file(dist, "js")?);
    let mut names = HashMap::new();
    let mut imports = Vec::new();
    let mut modules = HashMap::new();
    rewrite(dist, &module, |bytes| {
        let mut module_name = |name: &str| {
            let count = modules.len();
            modules.entry(name.to_string()).or_insert_with(|| format!("m{count}")).clone()
        };
        let renamed = rename_functions(bytes, &mut module_name, &mut |name, imported| {
            let long = ["__wbg_", "__wbindgen_", "wasm_bindgen__"].iter().any(|p| name.starts_with(p));
            if long && imported {
                imports.push(name.to_string());
            }
            long.then(|| {
                let count = names.len();
                names.entry(name.to_string()).or_insert_with(|| format!("a{count:x}")).clone()
            })
        })?;
        Ok(renamed)
    })?;
    rewrite(dist, &glue, |bytes| {
        let mut text = String::from_utf8(bytes.to_vec()).context("the glue is not UTF-8")?;
        for (long, short) in &modules {
            let quoted = format!("\"{long}\"");
            ensure!(text.matches(&quoted).count() == 1, "the glue does not name the module {quoted} once");
            text = text.replace(&quoted, &format!("\"{short}\""));
        }
        let (text, found) = replace_identifiers(&text, &names);
        // An import the glue does not provide would fail the module's instantiation: the page would stay blank.
        if let Some(missing) = imports.iter().find(|name| !found.contains(name.as_str())) {
            bail!("the module imports {missing}, which the glue does not name");
        }
        Ok(text.into_bytes())
    })
}

/// The one file in `dist` ending in `.extension` (trunk writes one module and one glue file).
fn only_file(dist: &Path, extension: &str) -> Result<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dist).with_context(|| format!("no build output in {}", dist.display()))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) == Some(extension) {
            found.push(path);
        }
    }
    match found.as_slice() {
        [one] => Ok(one.clone()),
        _ => bail!("expected one .{extension} file in {}, found {found:?}", dist.display()),
    }
}

/// Replaces `file` with what `change` makes of it and puts its new integrity hash in `index.html` in place of the
/// old.
fn rewrite(dist: &Path, file: &Path, change: impl FnOnce(&[u8]) -> Result<Vec<u8>>) -> Result<()> {
    let index = dist.join("index.html");
    let html = std::fs::read_to_string(&index)?;
    let bytes = std::fs::read(file)?;
    let before = integrity(&bytes);
    ensure!(html.contains(&before), "index.html names no integrity {before} for {}", file.display());
    let changed = change(&bytes)?;
    std::fs::write(file, &changed)?;
    std::fs::write(&index, html.replace(&before, &integrity(&changed)))?;
    Ok(())
}

/// `sha384-…`, the subresource-integrity value of `bytes`.
fn integrity(bytes: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    format!("sha384-{}", base64::engine::general_purpose::STANDARD.encode(sha2::Sha384::digest(bytes)))
}

/// Fails unless every `integrity` in `index.html` is that of the file its tag names: a browser refuses a file
/// whose hash differs, and the page stays blank.
pub fn check_integrity(dist: &Path) -> Result<()> {
    let html = std::fs::read_to_string(dist.join("index.html"))?;
    let mut checked = 0;
    for (at, _) in html.match_indices("integrity=") {
        let start = html[..at].rfind('<').context("an integrity attribute outside a tag")?;
        let end = at + html[at..].find('>').context("an unterminated tag")?;
        let tag = &html[start..end];
        let (Some(href), Some(expected)) = (attribute(tag, "href"), attribute(tag, "integrity")) else {
            bail!("cannot read the file and integrity of `{tag}` in index.html");
        };
        let file = dist.join(href.trim_start_matches("./"));
        let actual = integrity(&std::fs::read(&file).with_context(|| format!("{tag} names a missing file"))?);
        ensure!(
            actual == expected,
            "{} does not match its integrity in index.html ({expected}, the file is {actual})",
            file.display()
        );
        checked += 1;
    }
    ensure!(checked > 0, "index.html has no integrity hashes: trunk's output changed");
    Ok(())
}

/// The value of attribute `name` in `tag` (`<link href=x …` or `href="x"`), as trunk writes it, minified or not.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let at = tag.match_indices(name).find(|(i, _)| tag[..*i].ends_with(char::is_whitespace))?.0;
    let value = tag[at + name.len()..].strip_prefix('=')?;
    match value.strip_prefix(['"', '\'']) {
        Some(quoted) => quoted.split(['"', '\'']).next(),
        None => value.split(|c: char| c.is_whitespace() || c == '>').next(),
    }
}

/// `text` with each identifier that is a key of `names` replaced by its value, and the keys that were found.
fn replace_identifiers<'a>(text: &str, names: &'a HashMap<String, String>) -> (String, HashSet<&'a str>) {
    let is_part = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let mut out = String::with_capacity(text.len());
    let mut found = HashSet::new();
    let mut rest = text;
    while let Some(start) = rest.find(is_part) {
        let end = rest[start..].find(|c: char| !is_part(c)).map_or(rest.len(), |n| start + n);
        out.push_str(&rest[..start]);
        let word = &rest[start..end];
        match names.get_key_value(word) {
            Some((long, short)) => {
                out.push_str(short);
                found.insert(long.as_str());
            }
            None => out.push_str(word),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    (out, found)
}

/// A name's new name, if it gets one; told whether the name is an import's (else an export's).
type Rename<'a> = dyn FnMut(&str, bool) -> Option<String> + 'a;

/// A WebAssembly module with its imports' module names as `module_name` maps them, the function imports' and
/// exports' names that `rename` maps renamed, and no custom sections; every other byte as it was.
fn rename_functions(
    module: &[u8],
    module_name: &mut dyn FnMut(&str) -> String,
    rename: &mut Rename,
) -> Result<Vec<u8>> {
    ensure!(module.len() >= 8 && module.starts_with(b"\0asm"), "not a WebAssembly module");
    let mut out = module[..8].to_vec();
    let mut reader = Reader { bytes: module, at: 8 };
    while reader.at < module.len() {
        let id = reader.byte()?;
        let size = reader.leb()? as usize;
        let body = reader.take(size)?;
        let body = match id {
            0 => continue,
            2 => rename_imports(body, module_name, rename)?,
            7 => rename_exports(body, rename)?,
            _ => body.to_vec(),
        };
        out.push(id);
        write_leb(&mut out, body.len() as u64);
        out.extend_from_slice(&body);
    }
    Ok(out)
}

/// A section that is a vector (a count, then the entries), each entry copied to the output by `entry`.
fn rewrite_entries(
    body: &[u8],
    section: &str,
    mut entry: impl FnMut(&mut Reader, &mut Vec<u8>) -> Result<()>,
) -> Result<Vec<u8>> {
    let mut reader = Reader { bytes: body, at: 0 };
    let count = reader.leb()?;
    let mut out = Vec::new();
    write_leb(&mut out, count);
    for _ in 0..count {
        entry(&mut reader, &mut out)?;
    }
    ensure!(reader.at == body.len(), "the {section} section has bytes after its entries");
    Ok(out)
}

/// The import section: module name, field name and a description per import. The field names of functions (kind
/// 0) and the module names change; the descriptions are copied as they are, which takes reading their length.
fn rename_imports(body: &[u8], module_name: &mut dyn FnMut(&str) -> String, rename: &mut Rename) -> Result<Vec<u8>> {
    rewrite_entries(body, "import", |reader, out| {
        let module = reader.name()?;
        let field = reader.name()?;
        let start = reader.at;
        let kind = reader.byte()?;
        match kind {
            0 => drop(reader.leb()?),                   // a function: its type index
            1 => reader.table()?,                       // a table: element type, limits
            2 => reader.limits()?,                      // a memory: limits
            3 => drop(reader.take(2)?),                 // a global: value type, mutability
            4 => drop((reader.byte()?, reader.leb()?)), // a tag: attribute, type index
            other => bail!("an import of unknown kind {other}"),
        }
        write_name(out, &module_name(module));
        let renamed = if kind == 0 { rename(field, true) } else { None };
        write_name(out, renamed.as_deref().unwrap_or(field));
        out.extend_from_slice(&body[start..reader.at]);
        Ok(())
    })
}

/// The export section: name, kind and index per export.
fn rename_exports(body: &[u8], rename: &mut Rename) -> Result<Vec<u8>> {
    rewrite_entries(body, "export", |reader, out| {
        let name = reader.name()?;
        let start = reader.at;
        let kind = reader.byte()?;
        reader.leb()?;
        let renamed = if kind == 0 { rename(name, false) } else { None };
        write_name(out, renamed.as_deref().unwrap_or(name));
        out.extend_from_slice(&body[start..reader.at]);
        Ok(())
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8> {
        let b = *self.bytes.get(self.at).context("the module ends early")?;
        self.at += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let taken = self.bytes.get(self.at..self.at + n).context("the module ends early")?;
        self.at += n;
        Ok(taken)
    }

    /// An unsigned LEB128 number.
    fn leb(&mut self) -> Result<u64> {
        let (mut value, mut shift) = (0u64, 0);
        loop {
            let b = self.byte()?;
            ensure!(shift < 64, "a number too long for 64 bits");
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    fn name(&mut self) -> Result<&'a str> {
        let len = self.leb()? as usize;
        std::str::from_utf8(self.take(len)?).context("a name that is not UTF-8")
    }

    /// Limits: a flag saying whether a maximum follows, then the minimum (and maximum).
    fn limits(&mut self) -> Result<()> {
        let flags = self.byte()?;
        self.leb()?;
        if flags & 1 != 0 {
            self.leb()?;
        }
        Ok(())
    }

    /// A table type: a reference type (one byte; 0x63/0x64 take a heap type after it), then limits.
    fn table(&mut self) -> Result<()> {
        if matches!(self.byte()?, 0x63 | 0x64) {
            self.leb()?;
        }
        self.limits()
    }
}

fn write_leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let b = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn write_name(out: &mut Vec<u8>, name: &str) {
    write_leb(out, name.len() as u64);
    out.extend_from_slice(name.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module importing a function and a memory from `glue` and exporting two functions, built by hand, with a
    /// custom section if `custom`.
    fn module(glue: &str, import: &str, exports: [&str; 2], custom: bool) -> Vec<u8> {
        let section = |id: u8, body: Vec<u8>| {
            let mut out = vec![id];
            write_leb(&mut out, body.len() as u64);
            out.extend(body);
            out
        };
        let mut imports = vec![2];
        for (field, description) in [(import, vec![0, 0]), ("memory", vec![2, 1, 1, 2])] {
            write_name(&mut imports, glue);
            write_name(&mut imports, field);
            imports.extend(description);
        }
        let mut export_body = vec![2];
        for (index, name) in exports.iter().enumerate() {
            write_name(&mut export_body, name);
            export_body.extend([0, index as u8 + 1]);
        }
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        if custom {
            module.extend(section(0, [vec![9], b"producers".to_vec(), vec![0]].concat()));
        }
        module.extend(section(1, vec![1, 0x60, 0, 0])); // one type: () -> ()
        module.extend(section(2, imports));
        module.extend(section(3, vec![2, 0, 0])); // two functions of that type
        module.extend(section(7, export_body));
        module.extend(section(10, vec![2, 2, 0, 0x0b, 2, 0, 0x0b])); // their empty bodies
        module
    }

    #[test]
    fn renames_function_imports_and_exports_and_nothing_else() {
        let long =
            module("./ipscope_bg.js", "__wbg_getElementById_f827f0d6648718a8", ["main", "__wbindgen_malloc"], true);
        let same = rename_functions(&long, &mut str::to_string, &mut |_, _| None).unwrap();
        assert_eq!(
            same,
            module("./ipscope_bg.js", "__wbg_getElementById_f827f0d6648718a8", ["main", "__wbindgen_malloc"], false),
            "no names: the same module without its custom section"
        );
        let mut seen = Vec::new();
        let short = rename_functions(&long, &mut |_| "m0".to_string(), &mut |name, imported| {
            seen.push((name.to_string(), imported));
            name.starts_with("__").then(|| format!("a{}", seen.len()))
        })
        .unwrap();
        assert_eq!(short, module("m0", "a1", ["main", "a3"], false));
        let seen: Vec<(&str, bool)> = seen.iter().map(|(n, i)| (n.as_str(), *i)).collect();
        assert_eq!(
            seen,
            [("__wbg_getElementById_f827f0d6648718a8", true), ("main", false), ("__wbindgen_malloc", false)]
        );
        assert!(
            rename_functions(&long[..long.len() - 3], &mut str::to_string, &mut |_, _| None).is_err(),
            "a cut-off module"
        );
    }

    #[test]
    fn replaces_whole_identifiers_only() {
        let names = HashMap::from([("__wbg_a_1".to_string(), "a0".to_string())]);
        let (text, found) = replace_identifiers("x.__wbg_a_1(),{__wbg_a_1:f,__wbg_a_12:g}", &names);
        assert_eq!(text, "x.a0(),{a0:f,__wbg_a_12:g}");
        assert_eq!(found, HashSet::from(["__wbg_a_1"]));
    }

    #[test]
    fn reads_attributes_as_trunk_writes_them_minified_or_not() {
        let minified = "<link crossorigin href=./ipscope-1.js integrity=sha384-AB+/= rel=modulepreload";
        assert_eq!(attribute(minified, "href"), Some("./ipscope-1.js"));
        assert_eq!(attribute(minified, "integrity"), Some("sha384-AB+/="));
        let quoted = r#"<link rel="stylesheet" href="./main.css" integrity='sha384-x'"#;
        assert_eq!(attribute(quoted, "href"), Some("./main.css"));
        assert_eq!(attribute(quoted, "integrity"), Some("sha384-x"));
        assert_eq!(attribute(r#"<a data-href="x">"#, "href"), None);
    }
}
