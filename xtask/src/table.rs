//! Markdown tables: the benchmark table xtask writes, the tables the
//! measuring programs print as data (`test_kit::tables`, JSON) rendered as
//! Markdown, and counting the cells of a row.

use crate::criterion::Estimate;
use test_kit::memory::MemoryTable;
use test_kit::tables::{Cell, Column, Grid, LinePlot, Table, Tables};

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
/// Each contender's mean time per operation divided by `baseline`'s, in the
/// same group at the same thread count (and parameter): above 1, slower than
/// the baseline. Rows whose group has no `baseline` at that count are left
/// out. A chapter asks for it in its `Cargo.toml`, with
/// `[package.metadata.bench] baseline = "name"`.
pub fn relative_table(rows: &[Estimate], baseline: &str) -> String {
    let mut text =
        format!("| group | threads | contender | time per operation ÷ `{baseline}`'s |\n|---|---:|---|---:|\n");
    let mut groups: Vec<(&str, &str)> = rows.iter().map(|r| (r.group.as_str(), r.value.as_str())).collect();
    groups.sort_by_key(|&(g, v)| (g, v.parse::<u64>().unwrap_or(0)));
    groups.dedup();
    for (group, value) in groups {
        let same = || rows.iter().filter(move |r| r.group == group && r.value == value);
        let Some(base) = same().find(|r| r.function == baseline) else { continue };
        for r in same() {
            text.push_str(&format!("| `{group}` | {value} | `{}` | {:.2} |\n", r.function, r.mean_ns / base.mean_ns));
        }
    }
    text
}

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
/// escaped pipes (`\|`) or pipes inside code spans (`` `a | b` ``).
pub fn cells_in_row(row: &str) -> usize {
    let mut cells = 0;
    let mut in_code = false;
    let mut escaped = false;
    for c in row.trim().trim_end_matches('|').chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '`' => in_code = !in_code,
            '|' if !in_code => cells += 1,
            _ => {}
        }
    }
    cells
}

/// The tables a measuring program printed (`test_kit::tables::Tables`, read
/// from its JSON) as Markdown: each table's title in bold, then the table.
pub fn tables_markdown(tables: &Tables) -> String {
    let blocks: Vec<String> = tables
        .tables
        .iter()
        .map(|table| match table {
            Table::Memory(memory) => memory_markdown(memory),
            Table::Grid(grid) => grid_markdown(grid),
            Table::Lines(plot) => lines_markdown(plot),
        })
        .collect();
    blocks.join("\n")
}

/// A memory table: one row per contender and size, with its live blocks and
/// their requested, usable and chunk bytes, in total and per element.
/// Contender names are set as code, so that type names such as `Vec<u64>`
/// render as written.
pub fn memory_markdown(table: &MemoryTable) -> String {
    let mut grid = Grid::new(
        &table.title,
        vec![
            Column::text("contender"),
            Column::number("elements"),
            Column::number("live blocks"),
            Column::number("requested bytes"),
            Column::number("usable bytes (glibc)"),
            Column::number("chunk bytes (glibc)"),
            Column::number("requested B/element"),
            Column::number("usable B/element"),
            Column::number("chunk B/element"),
        ],
    );
    for m in &table.rows {
        let total = |bytes: Option<isize>| bytes.map_or(Cell::NotMeasured, |b| Cell::Count(b as i64));
        let per = |bytes: Option<isize>| {
            bytes.map_or(Cell::NotMeasured, |b| m.per_element(b).map_or(Cell::Empty, |v| Cell::decimal(v, 1)))
        };
        grid.row(vec![
            Cell::code(&m.contender),
            Cell::Count(m.elements as i64),
            Cell::Count(m.blocks as i64),
            total(Some(m.requested)),
            total(m.usable),
            total(m.chunk),
            per(Some(m.requested)),
            per(m.usable),
            per(m.chunk),
        ]);
    }
    grid_markdown(&grid)
}

/// A grid: its title in bold followed by its note, a blank line, the table.
/// A line plot as a table: a row per x value, a column per series, and a
/// last column with the label of any event marked at that x.
pub fn lines_markdown(plot: &LinePlot) -> String {
    let mut columns = vec![Column::number(&plot.x_label)];
    columns.extend(plot.series.iter().map(|s| Column::number(&format!("`{}`", s.name))));
    if !plot.marks.is_empty() {
        columns.push(Column::text("event"));
    }
    let mut grid = Grid::new(&plot.title, columns);
    grid.note(plot.note.clone());
    for (i, &x) in plot.x.iter().enumerate() {
        let mut row = vec![Cell::Count(x)];
        row.extend(plot.series.iter().map(|s| Cell::Count(s.y[i])));
        if !plot.marks.is_empty() {
            let labels: Vec<&str> = plot.marks.iter().filter(|m| m.x == x).map(|m| m.label.as_str()).collect();
            row.push(if labels.is_empty() { Cell::Empty } else { Cell::text(&labels.join("; ")) });
        }
        grid.row(row);
    }
    grid_markdown(&grid)
}

pub fn grid_markdown(grid: &Grid) -> String {
    let mut out = format!("**{}**", grid.title);
    for cell in &grid.note {
        out.push_str(&cell_text(cell));
    }
    out.push_str("\n\n|");
    for c in &grid.columns {
        out.push_str(&format!(" {} |", escape_pipes(&c.heading)));
    }
    out.push_str("\n|");
    for c in &grid.columns {
        out.push_str(if c.numeric { "---:|" } else { "---|" });
    }
    out.push('\n');
    for row in &grid.rows {
        out.push('|');
        for cell in row {
            out.push_str(&format!(" {} |", escape_pipes(&cell_text(cell))));
        }
        out.push('\n');
    }
    out
}

/// A pipe inside a cell would end the cell, even inside a code span.
fn escape_pipes(text: &str) -> String {
    text.replace('|', "\\|")
}

/// How a cell reads: numbers with thousands separators, differences with
/// their sign, "—" for no value, "n/a" for a value not measured.
pub fn cell_text(cell: &Cell) -> String {
    match cell {
        Cell::Text(text) => text.clone(),
        Cell::Code(name) => format!("`{name}`"),
        Cell::Count(n) => thousands(*n),
        Cell::Change(n) if *n > 0 => format!("+{}", thousands(*n)),
        Cell::Change(n) => thousands(*n),
        Cell::Decimal { value, places } => minus(format!("{value:.*}", usize::from(*places))),
        Cell::Percent { share, places } => minus(format!("{:.*}%", usize::from(*places), share * 100.0)),
        Cell::Slash(cells) => cells.iter().map(cell_text).collect::<Vec<_>>().join(" / "),
        Cell::Empty => "—".to_owned(),
        Cell::NotMeasured => "n/a".to_owned(),
    }
}

/// `1234567` as `1,234,567`, and a minus sign (−) rather than a hyphen.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("−{out}") } else { out }
}

/// A formatted number with a minus sign (−) rather than a hyphen.
fn minus(text: String) -> String {
    match text.strip_prefix('-') {
        Some(rest) => format!("−{rest}"),
        None => text,
    }
}

/// A measurement to test the tables and plots with: `bytes` holds the
/// requested, usable and chunk bytes.
#[cfg(test)]
pub fn measurement(
    contender: &str,
    elements: usize,
    blocks: isize,
    bytes: [isize; 3],
) -> test_kit::memory::Measurement {
    let [requested, usable, chunk] = bytes;
    test_kit::memory::Measurement {
        contender: contender.into(),
        elements,
        blocks,
        requested,
        usable: Some(usable),
        chunk: Some(chunk),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_kit::memory::Measurement;

    #[test]
    fn a_line_plot_is_a_row_per_x_and_a_column_per_series_with_its_events() {
        let mut plot = LinePlot::new("g", "Garbage", "rounds", "bytes");
        plot.x(vec![0, 1000]).series("epoch", vec![0, 64_000]).series("hazard", vec![0, 4_096]).mark(1000, "released");
        let md = lines_markdown(&plot);
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines[0], "**Garbage**");
        assert_eq!(lines[2], "| rounds | `epoch` | `hazard` | event |");
        assert_eq!(lines[3], "|---:|---:|---:|---|");
        assert_eq!(lines[4], "| 0 | 0 | 0 | — |");
        assert_eq!(lines[5], "| 1,000 | 64,000 | 4,096 | released |");
        plot.marks.clear();
        assert!(!lines_markdown(&plot).contains("event"), "no event column without events");
    }

    #[test]
    fn a_memory_table_shows_blocks_and_the_three_sizes_in_total_and_per_element() {
        let mut table = MemoryTable::new("One u64 per element", &[0, 1000]);
        table.rows.push(measurement("Vec<u64>", 0, 0, [0, 0, 0]));
        table.rows.push(measurement("Vec<Box<u64>>", 1000, 1001, [16_000, 32_008, 40_016]));
        table.rows.push(Measurement { usable: None, chunk: None, ..measurement("Box<u64>", 1, 1, [8, 0, 0]) });
        let md = memory_markdown(&table);
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines[0], "**One u64 per element**");
        assert_eq!(
            lines[2],
            "| contender | elements | live blocks | requested bytes | usable bytes (glibc) | chunk bytes (glibc) \
             | requested B/element | usable B/element | chunk B/element |"
        );
        assert_eq!(lines[4], "| `Vec<u64>` | 0 | 0 | 0 | 0 | 0 | — | — | — |");
        assert_eq!(lines[5], "| `Vec<Box<u64>>` | 1,000 | 1,001 | 16,000 | 32,008 | 40,016 | 16.0 | 32.0 | 40.0 |");
        assert_eq!(lines[6], "| `Box<u64>` | 1 | 1 | 8 | n/a | n/a | 8.0 | n/a | n/a |");
        assert!(lines.iter().skip(2).all(|l| cells_in_row(l) == 9), "{md}");
    }

    #[test]
    fn cells_read_as_their_kind_says() {
        assert_eq!(cell_text(&Cell::Count(-1_234_567)), "−1,234,567");
        assert_eq!(cell_text(&Cell::Change(4_000)), "+4,000");
        assert_eq!(cell_text(&Cell::Change(0)), "0");
        assert_eq!(cell_text(&Cell::Change(-12)), "−12");
        assert_eq!(cell_text(&Cell::decimal(-0.456, 2)), "−0.46");
        assert_eq!(cell_text(&Cell::Percent { share: 0.184, places: 0 }), "18%");
        assert_eq!(
            cell_text(&Cell::Slash(vec![Cell::Count(16), Cell::Count(1_024), Cell::NotMeasured])),
            "16 / 1,024 / n/a"
        );
        assert_eq!(cell_text(&Cell::ratio(3, 0)), "—");
        assert_eq!(cell_text(&Cell::code("Vec<u8>")), "`Vec<u8>`");
    }

    #[test]
    fn a_grid_has_its_note_after_the_title_and_escapes_pipes() {
        let mut grid = Grid::new("Sizes", vec![Column::text("name"), Column::number("bytes")]);
        grid.note(vec![Cell::text(": at "), Cell::Count(65_536), Cell::text(" sessions.")]);
        grid.row(vec![Cell::code("a | b"), Cell::Count(8)]);
        let mut tables = Tables::new();
        tables.grid(grid.clone()).grid(grid);
        let md = tables_markdown(&tables);
        assert!(
            md.starts_with(
                "**Sizes**: at 65,536 sessions.\n\n| name | bytes |\n|---|---:|\n| `a \\| b` | 8 |\n\n**Sizes**"
            ),
            "{md}"
        );
        assert_eq!(cells_in_row("| `a \\| b` | 8 |"), 2);
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
    fn the_relative_table_divides_by_the_baseline_in_the_same_group_and_count() {
        let est = crate::criterion::exact;
        let rows = [
            est("push", "a", "1", 30.0),
            est("push", "base", "1", 20.0),
            est("push", "a", "2", 10.0),
            est("push", "base", "2", 40.0),
            est("pop", "a", "1", 5.0),
        ];
        let table = relative_table(&rows, "base");
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "| group | threads | contender | time per operation ÷ `base`'s |");
        assert_eq!(lines[2], "| `push` | 1 | `a` | 1.50 |");
        assert_eq!(lines[3], "| `push` | 1 | `base` | 1.00 |");
        assert_eq!(lines[4], "| `push` | 2 | `a` | 0.25 |");
        assert_eq!(lines.len(), 6, "no row for `pop`, which has no baseline: {table}");
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
