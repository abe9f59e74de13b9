//! Tables as data: what a measuring program prints for `cargo xtask memory`.
//!
//! A measuring program (a chapter's `examples/memory.rs`, the capstone's
//! binary) collects its tables in [`Tables`] and prints them as one JSON
//! document; `cargo xtask memory` reads the document back and renders it as
//! the book's Markdown tables and bar plots. Numbers travel as numbers: how
//! they are shown (thousands separators, decimals, signs, "n/a") is decided
//! by the renderer, from the kind of each [`Cell`].
//!
//! ```ignore
//! let mut sizes = Grid::new("Handle sizes", vec![Column::text("handle"), Column::number("bytes")]);
//! sizes.row(vec![Cell::code("Arc<u64>"), Cell::count(8)]);
//! Tables::new().memory(table).grid(sizes).print();
//! ```
//!
//! Two kinds of table:
//! - [`MemoryTable`]: bytes per element of a set of contenders, always shown
//!   with the same columns (live blocks; requested, usable and chunk bytes,
//!   in total and per element) and drawn as bars;
//! - [`Grid`]: any other table, with named columns and typed cells;
//! - [`LinePlot`]: series of whole numbers over one x axis (a quantity sampled
//!   as a run goes on), shown as a table with a row per x and drawn as lines.

use crate::memory::MemoryTable;
use serde::{Deserialize, Serialize};

/// Every table a measuring program prints, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tables {
    /// The tables, in the order the page shows them.
    pub tables: Vec<Table>,
}

/// One table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Table {
    /// Bytes per element of contenders.
    Memory(MemoryTable),
    /// Any other table.
    Grid(Grid),
    /// Series sampled over one x axis, drawn as lines.
    Lines(LinePlot),
}

impl Tables {
    /// No tables yet.
    pub fn new() -> Self {
        Tables::default()
    }

    /// Adds a memory table.
    pub fn memory(&mut self, table: MemoryTable) -> &mut Self {
        self.tables.push(Table::Memory(table));
        self
    }

    /// Adds a grid.
    pub fn grid(&mut self, grid: Grid) -> &mut Self {
        self.tables.push(Table::Grid(grid));
        self
    }

    /// Adds a line plot.
    pub fn lines(&mut self, plot: LinePlot) -> &mut Self {
        self.tables.push(Table::Lines(plot));
        self
    }

    /// The document as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("tables are plain data and always serialise")
    }

    /// Reads a document printed by [`Tables::print`].
    pub fn from_json(json: &str) -> Result<Tables, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// Prints the document as JSON on standard output.
    pub fn print(&self) {
        println!("{}", self.to_json());
    }
}

/// A table of named columns and typed cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// The table's title (inline Markdown), shown in bold.
    pub title: String,
    /// What follows the title in the same paragraph: the conditions of the
    /// measurement, with their numbers as cells (often empty).
    pub note: Vec<Cell>,
    /// The columns, left to right.
    pub columns: Vec<Column>,
    /// The rows; each has one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

/// A column of a [`Grid`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// The heading (inline Markdown).
    pub heading: String,
    /// Numbers are aligned to the right, text to the left.
    pub numeric: bool,
}

impl Column {
    /// A column of text.
    pub fn text(heading: &str) -> Column {
        Column { heading: heading.to_owned(), numeric: false }
    }

    /// A column of numbers.
    pub fn number(heading: &str) -> Column {
        Column { heading: heading.to_owned(), numeric: true }
    }
}

impl Grid {
    /// An empty grid with these columns.
    pub fn new(title: &str, columns: Vec<Column>) -> Grid {
        Grid { title: title.to_owned(), note: Vec::new(), columns, rows: Vec::new() }
    }

    /// Sets what follows the title.
    pub fn note(&mut self, note: Vec<Cell>) -> &mut Self {
        self.note = note;
        self
    }

    /// Adds a row.
    ///
    /// # Panics
    ///
    /// If the row does not have one cell per column.
    pub fn row(&mut self, cells: Vec<Cell>) -> &mut Self {
        assert_eq!(cells.len(), self.columns.len(), "a row of `{}` needs one cell per column: {cells:?}", self.title);
        self.rows.push(cells);
        self
    }
}

/// Series of whole numbers sampled at the same x values: a table with one
/// row per x and one column per series, and a line plot
/// (`memory-<name>.svg`, beside the chapter's `memory.md`).
///
/// ```ignore
/// let mut plot = LinePlot::new("garbage", "Bytes not yet freed", "rounds", "bytes");
/// plot.x(vec![0, 100, 200]).series("epoch", vec![0, 3_200, 6_400]).mark(100, "reader released");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinePlot {
    /// Names the plot's file, `memory-<name>.svg`: lowercase ASCII letters,
    /// digits and hyphens.
    pub name: String,
    /// The title (inline Markdown), shown in bold above the table.
    pub title: String,
    /// What follows the title in the same paragraph (often empty).
    pub note: Vec<Cell>,
    /// What the x values count (the first column's heading, the x axis).
    pub x_label: String,
    /// What the y values count (the y axis).
    pub y_label: String,
    /// The x values, in increasing order.
    pub x: Vec<i64>,
    /// The series, each with one y value per x value.
    pub series: Vec<Series>,
    /// Events marked at an x value: a dashed line in the plot, the label in
    /// the table's last column.
    pub marks: Vec<Mark>,
}

/// One line of a [`LinePlot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Series {
    /// Its name, shown as code in the heading and the legend.
    pub name: String,
    /// One value per x value of the plot.
    pub y: Vec<i64>,
}

/// An event at an x value of a [`LinePlot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// Where it happened.
    pub x: i64,
    /// What happened (plain text).
    pub label: String,
}

impl LinePlot {
    /// An empty plot.
    ///
    /// # Panics
    ///
    /// If `name` is not lowercase ASCII letters, digits and hyphens.
    pub fn new(name: &str, title: &str, x_label: &str, y_label: &str) -> LinePlot {
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "a plot's name becomes a file name: lowercase letters, digits and hyphens, not {name:?}"
        );
        LinePlot {
            name: name.to_owned(),
            title: title.to_owned(),
            note: Vec::new(),
            x_label: x_label.to_owned(),
            y_label: y_label.to_owned(),
            x: Vec::new(),
            series: Vec::new(),
            marks: Vec::new(),
        }
    }

    /// Sets what follows the title.
    pub fn note(&mut self, note: Vec<Cell>) -> &mut Self {
        self.note = note;
        self
    }

    /// Sets the x values.
    pub fn x(&mut self, x: Vec<i64>) -> &mut Self {
        self.x = x;
        self
    }

    /// Adds a series.
    ///
    /// # Panics
    ///
    /// If it does not have one value per x value.
    pub fn series(&mut self, name: &str, y: Vec<i64>) -> &mut Self {
        assert_eq!(y.len(), self.x.len(), "series `{name}` of `{}` needs one value per x value", self.title);
        self.series.push(Series { name: name.to_owned(), y });
        self
    }

    /// Marks an event at `x`.
    pub fn mark(&mut self, x: i64, label: &str) -> &mut Self {
        self.marks.push(Mark { x, label: label.to_owned() });
        self
    }
}

/// One value of a [`Grid`], of a kind that says how to show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    /// Text, as inline Markdown.
    Text(String),
    /// A name, shown as code.
    Code(String),
    /// A whole number, shown with thousands separators: `1,234,567`.
    Count(i64),
    /// A difference, shown with its sign: `+1,234`, `−1,234`, `0`.
    Change(i64),
    /// A number shown with `places` decimals.
    Decimal {
        /// The number.
        value: f64,
        /// Decimals shown.
        places: u8,
    },
    /// A share (0.18), shown as a percentage (`18%`) with `places` decimals.
    Percent {
        /// The share, 1.0 for all.
        share: f64,
        /// Decimals shown.
        places: u8,
    },
    /// Several values of one thing, shown `a / b / c`.
    Slash(Vec<Cell>),
    /// No value (nothing to divide by, nothing to compare): `—`.
    Empty,
    /// A value that cannot be measured where the program ran (glibc's usable
    /// and chunk sizes, elsewhere): `n/a`.
    NotMeasured,
}

impl Cell {
    /// [`Cell::Text`].
    pub fn text(text: &str) -> Cell {
        Cell::Text(text.to_owned())
    }

    /// [`Cell::Code`].
    pub fn code(name: &str) -> Cell {
        Cell::Code(name.to_owned())
    }

    /// [`Cell::Count`].
    pub fn count(n: i64) -> Cell {
        Cell::Count(n)
    }

    /// [`Cell::Count`], or [`Cell::NotMeasured`] for `None`.
    pub fn measured(n: Option<i64>) -> Cell {
        n.map_or(Cell::NotMeasured, Cell::Count)
    }

    /// [`Cell::Decimal`], or [`Cell::Empty`] for a value that is not a
    /// finite number (JSON has no NaN or infinity).
    pub fn decimal(value: f64, places: u8) -> Cell {
        if value.is_finite() { Cell::Decimal { value, places } } else { Cell::Empty }
    }

    /// `a / b` with two decimals, or [`Cell::Empty`] when `b` is 0.
    pub fn ratio(a: i64, b: i64) -> Cell {
        if b == 0 { Cell::Empty } else { Cell::decimal(a as f64 / b as f64, 2) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Measurement;

    #[test]
    fn a_document_reads_back_as_it_was_printed() {
        let mut memory = MemoryTable::new("u64s", &[0, 10]);
        memory.rows.push(Measurement {
            contender: "Vec<u64>".into(),
            elements: 10,
            blocks: 1,
            requested: 80,
            usable: Some(88),
            chunk: Some(96),
        });
        memory.rows.push(Measurement {
            contender: "Vec<u64>".into(),
            elements: 0,
            blocks: 0,
            requested: 0,
            usable: None,
            chunk: None,
        });
        let mut grid = Grid::new("Sizes", vec![Column::text("handle"), Column::number("bytes")]);
        grid.note(vec![Cell::text(": at "), Cell::count(1_000)]);
        grid.row(vec![Cell::code("Arc<u64>"), Cell::Slash(vec![Cell::count(8), Cell::NotMeasured])]);
        grid.row(vec![Cell::decimal(0.5, 1), Cell::Percent { share: 0.25, places: 0 }]);
        grid.row(vec![Cell::Change(-3), Cell::ratio(1, 0)]);
        grid.row(vec![Cell::decimal(f64::NAN, 1), Cell::decimal(f64::INFINITY, 1)]);
        let mut lines = LinePlot::new("garbage-1", "Bytes", "rounds", "bytes");
        lines.x(vec![0, 10]).series("a", vec![0, 5]).mark(10, "released");
        let mut tables = Tables::new();
        tables.memory(memory).grid(grid).lines(lines);
        assert_eq!(Tables::from_json(&tables.to_json()).unwrap(), tables);
        let Table::Grid(read) = &tables.tables[1] else { unreachable!() };
        assert_eq!(read.rows[3], vec![Cell::Empty, Cell::Empty], "no NaN in JSON");
        assert!(tables.to_json().contains("\"kind\": \"memory\""), "{}", tables.to_json());
    }

    #[test]
    #[should_panic(expected = "one value per x value")]
    fn a_series_must_have_a_value_per_x() {
        LinePlot::new("p", "t", "x", "y").x(vec![1, 2]).series("s", vec![1]);
    }

    #[test]
    #[should_panic(expected = "becomes a file name")]
    fn a_plot_name_must_be_a_file_name() {
        LinePlot::new("../p", "t", "x", "y");
    }

    #[test]
    #[should_panic(expected = "one cell per column")]
    fn a_row_must_fill_every_column() {
        Grid::new("t", vec![Column::text("a"), Column::text("b")]).row(vec![Cell::Empty]);
    }
}
