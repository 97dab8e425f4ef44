//! Samples, their medians, and the markdown tables they are printed in.

/// Measurements of one quantity, in nanoseconds (per run, or per call for call-cost rows).
#[derive(Debug, Clone, Default)]
pub struct Samples(Vec<f64>);

impl Samples {
    /// Adds one measurement.
    pub fn push(&mut self, ns: f64) {
        self.0.push(ns);
    }

    /// Number of measurements.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The median (the mean of the two middle values for an even count); 0 when empty.
    pub fn median(&self) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => 0.0,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }
}

/// `812.3 ns`, `4.21 µs`, `12.34 ms`, `1.234 s`.
pub fn time(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.1} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.3} s", ns / 1e9)
    }
}

/// `x` relative to `base`: `1.00×`, `23.4×`, `1234×`.
pub fn ratio(x: f64, base: f64) -> String {
    if base <= 0.0 {
        return "–".into();
    }
    let r = x / base;
    if r < 10.0 {
        format!("{r:.2}×")
    } else if r < 100.0 {
        format!("{r:.1}×")
    } else {
        format!("{r:.0}×")
    }
}

/// A markdown table, printed with padded columns so it also reads well in a terminal.
#[derive(Debug)]
pub struct Table {
    headers: Vec<String>,
    /// Right-align column `i` (numbers).
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers; the first column is left-aligned, the others right.
    pub fn new(headers: &[&str]) -> Self {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            right: (0..headers.len()).map(|i| i > 0).collect(),
            rows: Vec::new(),
        }
    }

    /// Left-aligns column `i` as well.
    pub fn left(mut self, i: usize) -> Self {
        self.right[i] = false;
        self
    }

    /// Adds a row (missing cells are left empty, extra cells are dropped).
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells = cells;
        cells.resize(self.headers.len(), String::new());
        self.rows.push(cells);
    }

    /// The table as markdown, one line per row.
    pub fn render(&self) -> String {
        let width = |i: usize| {
            self.rows
                .iter()
                .map(|r| r[i].chars().count())
                .chain([self.headers[i].chars().count(), 3])
                .max()
                .unwrap_or(3)
        };
        let widths: Vec<usize> = (0..self.headers.len()).map(width).collect();
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if self.right[i] {
                        format!("{c:>w$}", w = widths[i])
                    } else {
                        format!("{c:<w$}", w = widths[i])
                    }
                })
                .collect();
            format!("| {} |\n", padded.join(" | "))
        };
        let mut out = line(&self.headers);
        let rule: Vec<String> = widths
            .iter()
            .zip(&self.right)
            .map(|(&w, &right)| {
                if right {
                    format!("{}:", "-".repeat(w - 1))
                } else {
                    "-".repeat(w)
                }
            })
            .collect();
        out.push_str(&format!("| {} |\n", rule.join(" | ")));
        for r in &self.rows {
            out.push_str(&line(r));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let mut s = Samples::default();
        assert_eq!(s.median(), 0.0);
        for x in [5.0, 1.0, 3.0] {
            s.push(x);
        }
        assert_eq!(s.median(), 3.0);
        s.push(10.0);
        assert_eq!(s.median(), 4.0);
    }

    #[test]
    fn formats() {
        assert_eq!(time(812.34), "812.3 ns");
        assert_eq!(time(4_210.0), "4.21 µs");
        assert_eq!(time(1_234_000_000.0), "1.234 s");
        assert_eq!(ratio(50.0, 2.0), "25.0×");
        assert_eq!(ratio(1.0, 0.0), "–");
    }

    #[test]
    fn renders_markdown() {
        let mut t = Table::new(&["what", "n"]);
        t.row(vec!["a".into(), "1".into()]);
        assert_eq!(
            t.render(),
            "| what |   n |\n| ---- | --: |\n| a    |   1 |\n"
        );
    }
}
