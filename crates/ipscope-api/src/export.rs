//! CSV export of tables (RFC 4180), with cells that spreadsheet programs would run as formulas neutralised.

/// A CSV document: the header row, then one row per record; CRLF line ends.
pub fn to_csv(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let cells: Vec<String> = cells.map(csv_cell).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

fn csv_cell(value: &str) -> String {
    // A leading =, +, - or @ makes spreadsheets evaluate the cell (CSV injection); prefix a quote.
    let value = if value.starts_with(['=', '+', '-', '@']) { format!("'{value}") } else { value.to_string() };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_needs_quoting_and_defuses_formulas() {
        let csv = to_csv(
            &["name", "file"],
            &[
                vec!["fin-lt-0042".into(), "svc, \"updater\".exe".into()],
                vec!["=HYPERLINK(\"x\")".into(), "-2+3".into()],
                vec!["multi\nline".into(), "".into()],
            ],
        );
        assert_eq!(
            csv,
            "name,file\r\nfin-lt-0042,\"svc, \"\"updater\"\".exe\"\r\n\"'=HYPERLINK(\"\"x\"\")\",'-2+3\r\n\"multi\nline\",\r\n"
        );
    }
}
