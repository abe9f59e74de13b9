//! The book's plots as self-contained SVG: throughput against threads
//! (`bench.svg`), bytes per element as bars (`memory.svg`, drawn from
//! the memory tables a chapter's measuring program printed as data), and
//! series sampled during a run as lines (`memory-<name>.svg`, from its line
//! plots).

use crate::criterion::Estimate;
use crate::table::thousands;
use test_kit::memory::MemoryTable;
use test_kit::tables::LinePlot;

pub const COLOURS: &[&str] = &["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Throughput against threads, one panel per benchmark group and one line
/// per contender, with a dashed line where the thread count reaches the
/// measuring machine's `cores` (to its right, threads outnumber the cores).
pub fn throughput_svg(rows: &[Estimate], caption: &str, cores: usize) -> String {
    // Room on the right for the longest contender name (about 7 px a character).
    let longest = rows.iter().map(|r| r.function.chars().count()).max().unwrap_or(10) as f64;
    let right = 50.0 + 7.0 * longest;
    let (panel_h, top, left, plot_h) = (300.0_f64, 40.0_f64, 70.0, 220.0);
    let width = left + 460.0 + right;
    let mut groups: Vec<&str> = rows.iter().map(|r| r.group.as_str()).collect();
    groups.dedup();
    let height = top + panel_h * groups.len() as f64 + 20.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"20\" font-size=\"11\" fill=\"#555\">{}</text>\n",
        escape(caption)
    );
    for (g, group) in groups.iter().enumerate() {
        let y0 = top + g as f64 * panel_h;
        let in_group: Vec<&Estimate> = rows.iter().filter(|r| r.group == *group).collect();
        let mut threads: Vec<u64> = in_group.iter().filter_map(|r| r.value.parse().ok()).collect();
        threads.sort_unstable();
        threads.dedup();
        if threads.is_empty() {
            continue;
        }
        let max = in_group.iter().map(|r| 1e3 / r.mean_ns).fold(0.0, f64::max).max(1e-9) * 1.1;
        let plot_w = width - left - right;
        let x = |t: u64| {
            let i = threads.iter().position(|&v| v == t).unwrap_or(0) as f64;
            left + if threads.len() == 1 { plot_w / 2.0 } else { i * plot_w / (threads.len() - 1) as f64 }
        };
        let y = |v: f64| y0 + 30.0 + plot_h * (1.0 - v / max);
        if let Some(mx) = core_position(&threads, cores as u64, x) {
            svg.push_str(&format!(
                "<line x1=\"{mx:.1}\" x2=\"{mx:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#888\" stroke-dasharray=\"5 4\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#555\" text-anchor=\"end\">{cores} cores</text>\n",
                y(max),
                y(0.0),
                mx - 4.0,
                y(0.0) - 6.0
            ));
        }
        svg.push_str(&format!(
            "<text x=\"{left}\" y=\"{}\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
            y0 + 18.0,
            escape(group)
        ));
        for k in 0..=4 {
            let v = max * k as f64 / 4.0;
            svg.push_str(&format!(
                "<line x1=\"{left}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/>\
                 <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v:.0}</text>\n",
                left + plot_w,
                left - 6.0,
                y(v) + 4.0,
                yy = y(v)
            ));
        }
        for &t in &threads {
            svg.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{t}</text>\n",
                x(t),
                y(0.0) + 16.0
            ));
        }
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">threads</text>\n\
             <text transform=\"translate(18 {:.1}) rotate(-90)\" text-anchor=\"middle\">M ops/s</text>\n",
            left + plot_w / 2.0,
            y(0.0) + 32.0,
            y(max / 2.0)
        ));
        let mut contenders: Vec<&str> = in_group.iter().map(|r| r.function.as_str()).collect();
        contenders.dedup();
        for (c, contender) in contenders.iter().enumerate() {
            let colour = COLOURS[c % COLOURS.len()];
            let points: Vec<String> = in_group
                .iter()
                .filter(|r| r.function == *contender)
                .filter_map(|r| Some((r.value.parse::<u64>().ok()?, 1e3 / r.mean_ns)))
                .map(|(t, v)| format!("{:.1},{:.1}", x(t), y(v)))
                .collect();
            svg.push_str(&format!(
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>\n",
                points.join(" ")
            ));
            for p in &points {
                let (px, py) = p.split_once(',').expect("a point is `x,y`");
                svg.push_str(&format!("<circle cx=\"{px}\" cy=\"{py}\" r=\"3\" fill=\"{colour}\"/>\n"));
            }
            svg.push_str(&legend_entry(left + plot_w + 12.0, y0 + 40.0 + c as f64 * 18.0, colour, contender));
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// Where the machine's core count falls on a threads axis whose ticks are
/// evenly spaced: on its tick when it was measured, else between the two
/// counts around it; `None` when it lies outside the counts measured.
fn core_position(threads: &[u64], cores: u64, x: impl Fn(u64) -> f64) -> Option<f64> {
    let above = threads.iter().position(|&t| t >= cores)?;
    let hi = threads[above];
    if hi == cores {
        return Some(x(hi));
    }
    let lo = *threads.get(above.checked_sub(1)?)?;
    Some(x(lo) + (x(hi) - x(lo)) * (cores - lo) as f64 / (hi - lo) as f64)
}

/// One contender's bars in a memory plot: its measurement at the largest
/// element count measured, in bytes per element.
struct Bars {
    name: String,
    elements: usize,
    blocks: isize,
    /// Requested, usable and chunk bytes per element (`None`: not measured).
    values: [Option<f64>; 3],
}

/// Each contender of a table at the largest element count it was measured at
/// (none at 0 elements, where there is nothing to divide by).
fn bars(table: &MemoryTable) -> Vec<Bars> {
    let mut bars: Vec<Bars> = Vec::new();
    for m in table.rows.iter().filter(|m| m.elements > 0) {
        let per = |bytes: Option<isize>| bytes.and_then(|b| m.per_element(b));
        let bar = Bars {
            name: m.contender.clone(),
            elements: m.elements,
            blocks: m.blocks,
            values: [per(Some(m.requested)), per(m.usable), per(m.chunk)],
        };
        match bars.iter_mut().find(|b| b.name == m.contender) {
            Some(old) if old.elements >= m.elements => {}
            Some(old) => *old = bar,
            None => bars.push(bar),
        }
    }
    bars
}

/// What each of a contender's three bars shows, in the legend's words.
const MEMORY_BARS: [&str; 3] = ["requested", "usable (glibc)", "chunk (glibc)"];
/// Their colours: blue, orange, green.
const MEMORY_COLOURS: [&str; 3] = [COLOURS[0], COLOURS[3], COLOURS[2]];

/// Bytes per element as horizontal bars, requested, usable and chunk bytes
/// side by side, with each contender's element count and live blocks under
/// its name; one panel per memory table, `None` when there is
/// nothing to draw.
pub fn memory_svg(tables: &[&MemoryTable], caption: &str) -> Option<String> {
    let panels: Vec<(&str, Vec<Bars>)> =
        tables.iter().map(|t| (t.title.as_str(), bars(t))).filter(|(_, bars)| !bars.is_empty()).collect();
    if panels.is_empty() {
        return None;
    }
    let detail = |b: &Bars| {
        let plural = if b.blocks == 1 { "" } else { "s" };
        format!("{} elements in {} live block{plural}", thousands(b.elements as i64), thousands(b.blocks as i64))
    };
    let longest = panels
        .iter()
        .flat_map(|(_, bars)| bars)
        .map(|b| (7.2 * b.name.chars().count() as f64).max(6.0 * detail(b).chars().count() as f64))
        .fold(0.0, f64::max);
    let (left, bar_w, bar_h) = (30.0 + longest, 380.0, 10.0);
    let row_h = 3.0 * (bar_h + 1.0) + 14.0;
    let width = left + bar_w + 80.0;
    let height: f64 = 60.0 + panels.iter().map(|(_, bars)| 40.0 + row_h * bars.len() as f64).sum::<f64>();
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"20\" font-size=\"11\" fill=\"#555\">{}</text>\n\
         <text x=\"10\" y=\"39\">bytes per element:</text>",
        escape(caption),
    );
    for (k, (label, colour)) in MEMORY_BARS.iter().zip(MEMORY_COLOURS).enumerate() {
        let x = 130.0 + 140.0 * k as f64;
        svg.push_str(&format!(
            "<rect x=\"{x:.0}\" y=\"30\" width=\"12\" height=\"10\" fill=\"{colour}\"/>\
             <text x=\"{:.0}\" y=\"39\">{label}</text>",
            x + 16.0
        ));
    }
    svg.push('\n');
    let mut y = 60.0;
    for (title, bars) in &panels {
        let max = bars.iter().flat_map(|b| b.values.iter().flatten()).fold(0.0_f64, |m, v| m.max(*v)).max(1e-9);
        svg.push_str(&format!(
            "<text x=\"10\" y=\"{:.0}\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
            y + 16.0,
            escape(title)
        ));
        y += 30.0;
        for b in bars {
            svg.push_str(&format!(
                "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\">{}</text>\
                 <text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\" font-size=\"10\" fill=\"#555\">{}</text>\n",
                left - 8.0,
                y + bar_h,
                escape(&b.name),
                left - 8.0,
                y + 2.0 * bar_h + 4.0,
                escape(&detail(b)),
            ));
            for (k, (value, colour)) in b.values.iter().zip(MEMORY_COLOURS).enumerate() {
                let top = y + k as f64 * (bar_h + 1.0);
                match value {
                    Some(value) => {
                        let w = bar_w * value / max;
                        svg.push_str(&format!(
                            "<rect x=\"{left:.0}\" y=\"{top:.0}\" width=\"{w:.1}\" height=\"{bar_h}\" fill=\"{colour}\"/>\
                             <text x=\"{:.1}\" y=\"{:.0}\" font-size=\"10\">{value:.1}</text>\n",
                            left + w + 4.0,
                            top + bar_h - 1.0
                        ));
                    }
                    None => svg.push_str(&format!(
                        "<text x=\"{:.1}\" y=\"{:.0}\" font-size=\"10\" fill=\"{colour}\">n/a</text>\n",
                        left + 4.0,
                        top + bar_h - 1.0
                    )),
                }
            }
            y += row_h;
        }
        y += 10.0;
    }
    svg.push_str("</svg>\n");
    Some(svg)
}

/// A round number at or above `v` for the top of an axis, whose quarters
/// are round too: 1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6 or 8 times a power of ten.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let step = 10f64.powf(v.log10().floor());
    [1.0, 1.2, 1.6, 2.0, 2.4, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * step)
        .find(|&c| c >= v * (1.0 - 1e-12))
        .unwrap_or(10.0 * step)
}

/// A line plot: each series as a polyline over the plot's x values, both
/// axes linear from 0, each marked event as a dashed vertical line with its
/// label, and a legend on the right.
pub fn lines_svg(plot: &LinePlot, caption: &str) -> String {
    let longest = plot.series.iter().map(|s| s.name.chars().count()).max().unwrap_or(8) as f64;
    let (left, top, plot_w, plot_h) = (80.0_f64, 50.0_f64, 460.0_f64, 260.0_f64);
    let width = left + plot_w + 50.0 + 7.0 * longest;
    let height = top + plot_h + 60.0;
    let x_max = nice_ceiling(plot.x.iter().copied().max().unwrap_or(0) as f64);
    let y_max = nice_ceiling(plot.series.iter().flat_map(|s| s.y.iter().copied()).max().unwrap_or(0) as f64);
    let x = |v: i64| left + plot_w * v as f64 / x_max;
    let y = |v: f64| top + plot_h * (1.0 - v / y_max);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"20\" font-size=\"11\" fill=\"#555\">{}</text>\n\
         <text x=\"{left}\" y=\"38\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
        escape(caption),
        escape(&plot.title.replace('`', "")),
    );
    for k in 0..=4 {
        let v = y_max * f64::from(k) / 4.0;
        svg.push_str(&format!(
            "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            left + plot_w,
            left - 6.0,
            y(v) + 4.0,
            thousands(v.round() as i64),
            yy = y(v)
        ));
        let xv = (x_max * f64::from(k) / 4.0).round() as i64;
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            x(xv),
            top + plot_h + 16.0,
            thousands(xv)
        ));
    }
    svg.push_str(&format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n\
         <text transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
        left + plot_w / 2.0,
        top + plot_h + 34.0,
        escape(&plot.x_label),
        top + plot_h / 2.0,
        escape(&plot.y_label)
    ));
    for (k, mark) in plot.marks.iter().enumerate() {
        let mx = x(mark.x);
        svg.push_str(&format!(
            "<line x1=\"{mx:.1}\" x2=\"{mx:.1}\" y1=\"{top:.1}\" y2=\"{:.1}\" stroke=\"#888\" stroke-dasharray=\"5 4\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#555\" text-anchor=\"end\">{}</text>\n",
            top + plot_h,
            mx - 4.0,
            top + 12.0 + 14.0 * k as f64,
            escape(&mark.label)
        ));
    }
    for (c, series) in plot.series.iter().enumerate() {
        let colour = COLOURS[c % COLOURS.len()];
        let points: Vec<String> =
            plot.x.iter().zip(&series.y).map(|(&px, &py)| format!("{:.1},{:.1}", x(px), y(py as f64))).collect();
        svg.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>\n",
            points.join(" ")
        ));
        svg.push_str(&legend_entry(left + plot_w + 12.0, top + 10.0 + c as f64 * 18.0, colour, &series.name));
    }
    svg.push_str("</svg>\n");
    svg
}

/// One legend entry: a short stroke of `colour` from `x`, at height `y`, and
/// `label` after it.
fn legend_entry(x: f64, y: f64, colour: &str, label: &str) -> String {
    format!(
        "<line x1=\"{x:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{colour}\" stroke-width=\"3\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\">{}</text>\n",
        x + 20.0,
        x + 26.0,
        y + 4.0,
        escape(label)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::measurement;
    use test_kit::memory::Measurement;

    #[test]
    fn the_plot_has_a_line_per_contender_and_a_panel_per_group() {
        let est = crate::criterion::exact;
        let rows = [
            est("push", "a<b>", "1", 10.0),
            est("push", "a<b>", "2", 8.0),
            est("push", "c", "1", 20.0),
            est("pop", "c", "1", 5.0),
        ];
        let svg = throughput_svg(&rows, "machine", 2);
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert_eq!(svg.matches(">2 cores<").count(), 1, "marked where 2 threads were measured, `push` only: {svg}");
        assert!(svg.contains("a&lt;b&gt;"));
        assert!(svg.contains(">push<") && svg.contains(">pop<"));
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn the_core_count_is_marked_on_its_tick_or_between_two() {
        let x = |t: u64| [1, 2, 4, 8, 32].iter().position(|&v| v == t).unwrap() as f64 * 100.0;
        let threads = [1, 2, 4, 8, 32];
        assert_eq!(core_position(&threads, 4, x), Some(200.0));
        assert_eq!(core_position(&threads, 16, x), Some(300.0 + 100.0 * 8.0 / 24.0));
        assert_eq!(core_position(&threads, 64, x), None, "past the last count measured");
        assert_eq!(core_position(&[2, 4], 1, |t| t as f64), None, "before the first");
    }

    #[test]
    fn memory_bars_are_three_per_contender_at_its_largest_count() {
        let mut table = MemoryTable::new("One u64 per element", &[0, 10, 1000]);
        table.rows = vec![
            measurement("Vec<u64>", 0, 0, [0, 0, 0]),
            measurement("Vec<u64>", 10, 1, [80, 88, 96]),
            measurement("Vec<u64>", 1000, 1, [8000, 8008, 8016]),
            measurement("Box<u64>", 1000, 1000, [8000, 24_000, 32_000]),
        ];
        let svg = memory_svg(&[&table], "here").unwrap();
        assert_eq!(svg.matches("<rect").count(), 1 + 3 + 2 * 3, "background, legend, three bars per contender");
        assert!(svg.contains(">Vec&lt;u64&gt;<"), "{svg}");
        assert!(svg.contains(">1,000 elements in 1 live block<"), "{svg}");
        assert!(svg.contains(">1,000 elements in 1,000 live blocks<"), "{svg}");
        assert!(svg.contains(">32.0<") && svg.contains(">8.0<"), "{svg}");
        assert!(!svg.contains(">8.8<"), "only the largest count is drawn: {svg}");
        assert!(memory_svg(&[], "here").is_none());
    }

    #[test]
    fn a_line_plot_has_a_line_per_series_and_a_dashed_line_per_event() {
        let mut plot = LinePlot::new("g", "Bytes `held`", "rounds", "bytes");
        plot.x(vec![0, 500, 1000])
            .series("epoch<T>", vec![0, 3_000, 7_000])
            .series("hazard", vec![0, 40, 40])
            .mark(500, "reader released");
        let svg = lines_svg(&plot, "here");
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("stroke-dasharray").count(), 1);
        assert!(svg.contains(">reader released<") && svg.contains(">epoch&lt;T&gt;<"), "{svg}");
        assert!(svg.contains(">Bytes held<"), "code marks are dropped from the title: {svg}");
        assert!(svg.contains(">8,000<") && svg.contains(">1,000<"), "axes end at round numbers: {svg}");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn axis_tops_are_round_numbers_with_round_quarters() {
        assert_eq!(nice_ceiling(7_000.0), 8_000.0);
        assert_eq!(nice_ceiling(1_000.0), 1_000.0);
        assert_eq!(nice_ceiling(1_001.0), 1_200.0);
        assert_eq!(nice_ceiling(140_000.0), 160_000.0);
        assert_eq!(nice_ceiling(30.0), 30.0);
        assert_eq!(nice_ceiling(9_000.0), 10_000.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
    }

    #[test]
    fn unmeasured_sizes_are_marked_not_drawn() {
        let mut table = MemoryTable::new("t", &[10]);
        table.rows = vec![Measurement { usable: None, chunk: None, ..measurement("Box<u64>", 10, 10, [80, 0, 0]) }];
        let svg = memory_svg(&[&table], "here").unwrap();
        assert_eq!(svg.matches("<rect").count(), 1 + 3 + 1);
        assert_eq!(svg.matches(">n/a<").count(), 2);
        let empty = MemoryTable::new("nothing to divide by", &[0]);
        assert!(memory_svg(&[&empty], "here").is_none());
    }
}
