//! Markdown tables: the benchmark table xtask writes, the memory tables it
//! reads back (`test_kit::memory::MemoryTable`'s output), and counting the
//! cells of a row.

use crate::criterion::Estimate;

/// The benchmark table: one row per estimate, time per operation with half
/// the confidence interval, and throughput.
pub fn bench_table(rows: &[Estimate]) -> String {
    let mut text =
        String::from("| group | contender | threads | time per operation | throughput |\n|---|---|---:|---:|---:|\n");
    for r in rows {
        text.push_str(&format!(
            "| `{}` | `{}` | {} | {} (± {}) | {:.1} M ops/s |\n",
            r.group,
            r.function,
            r.value,
            format_ns(r.mean_ns),
            format_ns((r.high_ns - r.low_ns) / 2.0),
            1e3 / r.mean_ns,
        ));
    }
    text
}

/// Nanoseconds in the unit that reads best: ns, µs or ms.
pub fn format_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.2} ns")
    }
}

/// The number of cells in a table row (`| a | b |` has 2), not counting
/// pipes inside code spans (`` `a | b` ``).
pub fn cells_in_row(row: &str) -> usize {
    let mut cells = 0;
    let mut in_code = false;
    for c in row.trim().trim_end_matches('|').chars() {
        match c {
            '`' => in_code = !in_code,
            '|' if !in_code => cells += 1,
            _ => {}
        }
    }
    cells
}

/// One bytes-per-element table of `MemoryTable`: its title and its bars.
#[derive(Debug, PartialEq)]
pub struct MemoryPanel {
    pub title: String,
    /// Contender, elements, requested and usable bytes per element, at the
    /// largest element count the table measured for that contender.
    pub bars: Vec<(String, u64, f64, f64)>,
}

/// Finds the bytes-per-element tables in the Markdown that
/// `test_kit::memory::MemoryTable` prints; other tables are skipped.
pub fn memory_panels(markdown: &str) -> Vec<MemoryPanel> {
    let mut panels = Vec::new();
    let mut title = String::new();
    let mut lines = markdown.lines().peekable();
    while let Some(line) = lines.next() {
        let line = line.trim();
        if line.len() > 4 && line.starts_with("**") && line.ends_with("**") {
            title = line.trim_matches('*').to_owned();
            continue;
        }
        let header: Vec<&str> = line.split('|').map(str::trim).collect();
        let column = |name: &str| header.iter().position(|h| *h == name);
        let (Some(e), Some(r), Some(u)) =
            (column("elements"), column("requested B/element"), column("usable B/element"))
        else {
            continue;
        };
        let mut panel = MemoryPanel { title: title.clone(), bars: Vec::new() };
        lines.next(); // the alignment row
        while let Some(row) = lines.next_if(|l| l.trim_start().starts_with('|')) {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let cell = |i: usize| cells.get(i).copied().unwrap_or("");
            let (Ok(elements), Ok(requested), Ok(usable)) =
                (cell(e).parse::<u64>(), cell(r).parse::<f64>(), cell(u).parse::<f64>())
            else {
                continue;
            };
            let name = cell(1).trim_matches('`').to_owned();
            match panel.bars.iter_mut().find(|b| b.0 == name) {
                Some(bar) if bar.1 >= elements => {}
                Some(bar) => *bar = (name, elements, requested, usable),
                None => panel.bars.push((name, elements, requested, usable)),
            }
        }
        if !panel.bars.is_empty() {
            panels.push(panel);
        }
    }
    panels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_bars_take_the_largest_count_of_each_contender() {
        let md = "**Handles**\n\n| handle | bytes |\n|---|---:|\n| `A` | 8 |\n\n**One u64 per element**\n\n\
                  | contender | elements | requested bytes | usable bytes (glibc) | requested B/element | usable B/element | allocations |\n\
                  |---|---:|---:|---:|---:|---:|---:|\n\
                  | `Vec<u64>` | 10 | 80 | 88 | 8.0 | 8.8 | 1 |\n\
                  | `Vec<u64>` | 1000 | 8000 | 8008 | 8.0 | 8.0 | 1 |\n\
                  | `Box<u64>` | 1000 | 8000 | 24000 | 8.0 | 24.0 | 1000 |\n";
        let panels = memory_panels(md);
        assert_eq!(panels.len(), 1, "the handle table has no bytes per element");
        assert_eq!(panels[0].title, "One u64 per element");
        assert_eq!(
            panels[0].bars,
            vec![("Vec<u64>".to_owned(), 1000, 8.0, 8.0), ("Box<u64>".to_owned(), 1000, 8.0, 24.0)]
        );
    }

    #[test]
    fn nanoseconds_are_formatted_in_the_right_unit() {
        assert_eq!(format_ns(12.345), "12.35 ns");
        assert_eq!(format_ns(1_500.0), "1.50 µs");
        assert_eq!(format_ns(2_000_000.0), "2.00 ms");
    }

    #[test]
    fn cells_skip_pipes_in_code() {
        assert_eq!(cells_in_row("| a | b |"), 2);
        assert_eq!(cells_in_row("| `x | y` | 1 |"), 2);
        assert_eq!(cells_in_row("|---|---:|"), 2);
    }

    #[test]
    fn the_bench_table_has_a_row_per_estimate() {
        let est = Estimate {
            group: "push".into(),
            function: "a".into(),
            value: "2".into(),
            mean_ns: 10.0,
            low_ns: 9.0,
            high_ns: 11.0,
        };
        let table = bench_table(&[est]);
        assert!(table.ends_with("| `push` | `a` | 2 | 10.00 ns (± 1.00 ns) | 100.0 M ops/s |\n"), "{table}");
    }
}
