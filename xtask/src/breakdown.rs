//! Where an operation's nanoseconds go: the benchmark groups whose name ends
//! in `_breakdown` time a whole operation (function `push`) and each of its
//! parts on its own (functions `push.pin`, `push.alloc`, …, in the order
//! they happen). xtask renders them as a table and a stacked bar per whole
//! operation, the time the parts do not account for shown as its own
//! segment, instead of as throughput lines. A whole without parts is there
//! for comparison: one plain bar.

use crate::criterion::Estimate;
use crate::plot::{COLOURS, escape};
use crate::table::format_ns;

/// Whether an estimate belongs to a breakdown group.
pub fn is_breakdown(e: &Estimate) -> bool {
    e.group.ends_with("_breakdown")
}

/// One whole operation and its parts, in nanoseconds per operation.
#[derive(Debug)]
struct Whole<'a> {
    group: &'a str,
    name: &'a str,
    total: &'a Estimate,
    parts: Vec<(&'a str, &'a Estimate)>,
}

impl Whole<'_> {
    /// The time the parts do not account for (negative: they add up to more).
    fn other_ns(&self) -> f64 {
        self.total.mean_ns - self.parts.iter().map(|(_, e)| e.mean_ns).sum::<f64>()
    }
}

/// The wholes of the breakdown groups among `rows`, each with its parts in
/// the order the bench declared them (criterion's files sort by name, so
/// the bench numbers them: `push.1_pin`); a part whose whole was not
/// measured is left out.
fn wholes(rows: &[Estimate]) -> Vec<Whole<'_>> {
    let mut found: Vec<Whole> = rows
        .iter()
        .filter(|e| is_breakdown(e) && !e.function.contains('.'))
        .map(|total| Whole { group: &total.group, name: &total.function, total, parts: Vec::new() })
        .collect();
    for e in rows.iter().filter(|e| is_breakdown(e)) {
        if let Some((whole, part)) = e.function.split_once('.')
            && let Some(w) = found.iter_mut().find(|w| w.group == e.group && w.name == whole)
        {
            w.parts.push((part, e));
        }
    }
    for w in &mut found {
        w.parts.sort_by_key(|(part, _)| *part);
    }
    found
}

/// A part's name as the reader sees it: without the ordering number.
fn label(part: &str) -> String {
    let name = part.split_once('_').filter(|(n, _)| n.parse::<u32>().is_ok()).map_or(part, |(_, rest)| rest);
    name.replace('_', " ")
}

/// The breakdown table: per whole operation, its time, then each part's
/// time and share, then what the parts leave unaccounted.
pub fn breakdown_markdown(rows: &[Estimate]) -> String {
    let mut text = String::from("| operation | part | time per operation | share |\n|---|---|---:|---:|\n");
    for w in wholes(rows) {
        let ci = |e: &Estimate| format!("{} (± {})", format_ns(e.mean_ns), format_ns((e.high_ns - e.low_ns) / 2.0));
        let share = |ns: f64| format!("{:.0}%", 100.0 * ns / w.total.mean_ns);
        text.push_str(&format!("| **`{}`** | the whole operation | **{}** | 100% |\n", w.name, ci(w.total)));
        for (part, e) in &w.parts {
            text.push_str(&format!("| `{}` | {} | {} | {} |\n", w.name, label(part), ci(e), share(e.mean_ns)));
        }
        if w.parts.is_empty() {
            continue;
        }
        let other = w.other_ns();
        let what = if other >= 0.0 { "not accounted for by the parts" } else { "parts beyond the whole" };
        text.push_str(&format!("| `{}` | *{what}* | {} | {} |\n", w.name, format_ns(other.abs()), share(other.abs())));
    }
    text
}

/// One horizontal bar per whole operation, its parts as segments in order
/// (each part's colour the same in every bar), then the unaccounted rest in
/// grey; parts that add up to more than the whole overflow past a tick at
/// the whole's time.
pub fn breakdown_svg(rows: &[Estimate], caption: &str) -> String {
    let wholes = wholes(rows);
    let mut names: Vec<String> = Vec::new();
    for w in &wholes {
        for (part, _) in &w.parts {
            if !names.contains(&label(part)) {
                names.push(label(part));
            }
        }
    }
    let longest = wholes.iter().map(|w| w.name.chars().count()).max().unwrap_or(8) as f64;
    let (left, bar_w, bar_h, row_h) = (30.0 + 7.5 * longest, 480.0, 22.0, 44.0);
    let max =
        wholes.iter().map(|w| w.total.mean_ns.max(w.parts.iter().map(|(_, e)| e.mean_ns).sum())).fold(1e-9, f64::max);
    let legend_rows = names.len().div_ceil(4) as f64 + 1.0;
    let width = left + bar_w + 90.0;
    let height = 40.0 + 18.0 * legend_rows + row_h * wholes.len() as f64 + 20.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"20\" font-size=\"11\" fill=\"#555\">{}</text>\n",
        escape(caption)
    );
    let legend: Vec<(String, &str)> = names
        .iter()
        .enumerate()
        .map(|(k, n)| (n.clone(), COLOURS[k % COLOURS.len()]))
        .chain([("not accounted for".to_owned(), "#bbbbbb")])
        .collect();
    for (k, (name, colour)) in legend.iter().enumerate() {
        let (x, y) = (10.0 + 150.0 * (k % 4) as f64, 36.0 + 18.0 * (k / 4) as f64);
        svg.push_str(&format!(
            "<rect x=\"{x:.0}\" y=\"{:.0}\" width=\"12\" height=\"10\" fill=\"{colour}\"/>\
             <text x=\"{:.0}\" y=\"{:.0}\">{}</text>\n",
            y - 9.0,
            x + 16.0,
            y,
            escape(name)
        ));
    }
    let scale = bar_w / max;
    for (i, w) in wholes.iter().enumerate() {
        let y = 40.0 + 18.0 * legend_rows + row_h * i as f64;
        svg.push_str(&format!(
            "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\">{}</text>\n",
            left - 8.0,
            y + bar_h * 0.7,
            escape(w.name)
        ));
        let mut x = left;
        for (part, e) in &w.parts {
            let colour = legend.iter().find(|(n, _)| *n == label(part)).map_or("#000", |(_, c)| c);
            let seg = e.mean_ns * scale;
            svg.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{y:.0}\" width=\"{seg:.1}\" height=\"{bar_h}\" fill=\"{colour}\" \
                 stroke=\"white\"><title>{}: {}</title></rect>\n",
                escape(&label(part)),
                format_ns(e.mean_ns)
            ));
            x += seg;
        }
        let other = w.other_ns();
        if w.parts.is_empty() {
            // A whole measured for comparison, without parts: one plain bar.
            svg.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{y:.0}\" width=\"{:.1}\" height=\"{bar_h}\" fill=\"#555555\"/>\n",
                other * scale
            ));
        } else if other > 0.0 {
            svg.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{y:.0}\" width=\"{:.1}\" height=\"{bar_h}\" fill=\"#bbbbbb\" \
                 stroke=\"white\"><title>not accounted for: {}</title></rect>\n",
                other * scale,
                format_ns(other)
            ));
        }
        let end = left + w.total.mean_ns * scale;
        svg.push_str(&format!(
            "<line x1=\"{end:.1}\" x2=\"{end:.1}\" y1=\"{:.0}\" y2=\"{:.0}\" stroke=\"black\" stroke-width=\"2\"/>\
             <text x=\"{:.1}\" y=\"{:.0}\">{}</text>\n",
            y - 3.0,
            y + bar_h + 3.0,
            x.max(end) + 6.0,
            y + bar_h * 0.7,
            format_ns(w.total.mean_ns)
        ));
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(group: &str, function: &str, mean_ns: f64) -> Estimate {
        Estimate {
            group: group.into(),
            function: function.into(),
            value: "1".into(),
            mean_ns,
            low_ns: mean_ns - 1.0,
            high_ns: mean_ns + 1.0,
        }
    }

    #[test]
    fn parts_are_ordered_by_their_number_and_the_rest_is_accounted() {
        let rows = [
            est("push_breakdown", "push", 50.0),
            est("push_breakdown", "push.2_cas", 10.0),
            est("push_breakdown", "push.1_pin_and_unpin", 15.0),
            est("push_breakdown", "orphan.1_x", 3.0),
            est("push", "treiber", 60.0),
        ];
        let table = breakdown_markdown(&rows);
        let lines: Vec<&str> = table.lines().skip(2).collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(lines[0].contains("**`push`**") && lines[0].contains("**50.00 ns (± 1.00 ns)**"), "{table}");
        assert!(lines[1].contains("| pin and unpin | 15.00 ns (± 1.00 ns) | 30% |"), "{table}");
        assert!(lines[2].contains("| cas | 10.00 ns"), "{table}");
        assert!(lines[3].contains("*not accounted for by the parts* | 25.00 ns | 50% |"), "{table}");
        assert!(!table.contains("orphan") && !table.contains("treiber"), "{table}");
    }

    #[test]
    fn parts_beyond_the_whole_are_said_so() {
        let rows = [est("x_breakdown", "op", 10.0), est("x_breakdown", "op.1_a", 12.0)];
        assert!(breakdown_markdown(&rows).contains("*parts beyond the whole* | 2.00 ns | 20% |"));
        let svg = breakdown_svg(&rows, "here");
        assert!(!svg.contains("not accounted for: "), "no grey segment when the parts exceed the whole: {svg}");
    }

    #[test]
    fn a_whole_without_parts_is_one_plain_bar() {
        let rows = [
            est("x_breakdown", "other_crate", 10.0),
            est("x_breakdown", "ours", 20.0),
            est("x_breakdown", "ours.1_a", 5.0),
        ];
        let table = breakdown_markdown(&rows);
        assert_eq!(table.lines().filter(|l| l.contains("`other_crate`")).count(), 1, "{table}");
        let svg = breakdown_svg(&rows, "here");
        assert_eq!(svg.matches("fill=\"#555555\"").count(), 1, "{svg}");
    }

    #[test]
    fn the_bar_has_a_segment_per_part_and_one_for_the_rest() {
        let rows = [
            est("push_breakdown", "naive", 20.0),
            est("push_breakdown", "naive.2_cas", 5.0),
            est("push_breakdown", "treiber", 40.0),
            est("push_breakdown", "treiber.1_pin", 15.0),
            est("push_breakdown", "treiber.2_cas", 5.0),
        ];
        let svg = breakdown_svg(&rows, "machine");
        assert_eq!(svg.matches("<title>").count(), 3 + 2, "three parts, two rests: {svg}");
        assert_eq!(svg.matches(">cas<").count(), 1, "one legend entry per part name: {svg}");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    }
}
