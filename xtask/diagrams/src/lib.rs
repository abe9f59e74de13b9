//! Renders one diagram of the book: svgbob ASCII art to a self-contained SVG.
//!
//! `cargo xtask diagrams` runs the binary of this crate over `book/diagrams/*.bob`;
//! `cargo xtask check-book` runs it again and compares with the committed SVGs.

/// The SVG of one diagram source: black on a white backdrop, so that it reads
/// the same in mdBook's light and dark themes (an `<img>` cannot see the
/// page's theme), with a plain monospace font that fits the grid. svgbob's output depends only on
/// the text and these settings, so rendering is deterministic; line endings
/// and trailing spaces of the source do not matter.
pub fn render(source: &str) -> String {
    let settings = svgbob::Settings {
        font_family: "monospace".to_owned(),
        // svgbob's grid is 8 px wide; common monospace fonts are 0.6 em wide,
        // so 13 px text stays inside its cells (14 px would run over).
        font_size: 13,
        background: "white".to_owned(),
        fill_color: "black".to_owned(),
        stroke_color: "black".to_owned(),
        include_backdrop: true,
        ..svgbob::Settings::default()
    };
    let text: String = source.lines().map(|l| format!("{}\n", l.trim_end())).collect();
    // svgbob sizes the picture by its shapes alone, leaving out quoted text:
    // a caption below the last box would be cut off. Size it by the text grid.
    let columns = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    let rows = text.lines().count();
    let width = settings.scale * (columns + 1) as f32 * svgbob::Cell::width();
    let height = settings.scale * (rows + 1) as f32 * svgbob::Cell::height();
    let svg = svgbob::to_svg_with_override_size(&text, &settings, width, height);
    format!("{}\n", svg.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOX: &str = "+------+\n| \"a b\" |--->\n+------+\n";

    #[test]
    fn rendering_is_one_deterministic_svg_element_on_a_white_backdrop() {
        let svg = render(BOX);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{svg}");
        assert_eq!(svg, render(BOX), "two renderings differ");
        assert!(svg.contains("white"), "no white backdrop: {svg}");
        assert!(svg.contains("a b"), "the quoted text is lost: {svg}");
        // Trailing spaces and CRLF line endings do not change the picture.
        assert_eq!(render(&BOX.replace('\n', "  \r\n")), svg);
        assert_ne!(render(&BOX.replace("a b", "a c")), svg, "an edit must change the picture");
    }
}
