//! Plain-text tables (`trevm ls`, `trevm fleet`): columns padded to their widest cell, the last
//! one unpadded.

/// `header` and `rows` as lines of text, each ending in `\n`, every column left-aligned.
pub(crate) fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    render_aligned(header, rows, &[])
}

/// The same, the columns numbered in `right` (numbers) right-aligned.
pub(crate) fn render_aligned(header: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, cell) in cells.enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            if right.contains(&i) {
                out.push_str(&format!("{cell:>w$}  "));
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut text = line(&mut header.iter().copied());
    for row in rows {
        text.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_line_up() {
        let t = super::render(&["a", "bb"], &[vec!["xxx".into(), "y".into()]]);
        assert_eq!(t, "a    bb\nxxx  y\n");
        let t = super::render_aligned(&["n", "x"], &[vec!["7".into(), "z".into()]], &[0]);
        assert_eq!(t, "n  x\n7  z\n");
        let t = super::render_aligned(&["num", "x"], &[vec!["7".into(), "z".into()]], &[0]);
        assert_eq!(t, "num  x\n  7  z\n");
    }
}
