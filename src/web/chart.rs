//! Line charts as SVG, drawn on the server: readable without JavaScript, named for screen
//! readers (the page's table holds the same numbers), and scaled by the browser.

use std::fmt::Write;

/// One line of a chart.
pub struct Line<'a> {
    pub name: &'a str,
    /// A CSS class (colour and dash) from app.css.
    pub class: &'a str,
    pub values: Vec<f64>,
}

const W: f64 = 720.0;
const H: f64 = 320.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 56.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The smallest "nice" number (1, 2 or 5 times a power of ten) times `ticks` at or above `max`.
fn nice_top(max: f64, ticks: u32) -> f64 {
    if max <= 0.0 {
        return f64::from(ticks);
    }
    let raw = max / f64::from(ticks);
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power);
    step.max(1.0) * f64::from(ticks)
}

fn number(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{}k", (v / 1000.0).round())
    } else {
        format!("{}", v.round())
    }
}

/// A line chart of `lines` over `labels` (one x position each). `id` makes the title and
/// description ids unique on the page.
pub fn line_chart(
    id: &str,
    title: &str,
    description: &str,
    labels: &[String],
    lines: &[Line],
) -> String {
    const TICKS: u32 = 5;
    let max = lines
        .iter()
        .flat_map(|l| l.values.iter().copied())
        .fold(0.0, f64::max);
    let top = nice_top(max, TICKS);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let n = labels.len().max(1);
    let x = |i: usize| {
        if n == 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| TOP + plot_h * (1.0 - v / top);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(description)
    );
    for t in 0..=TICKS {
        let v = top * f64::from(t) / f64::from(TICKS);
        let yy = y(v);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}"/><text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            W - RIGHT,
            LEFT - 8.0,
            yy + 4.0,
            number(v)
        );
    }
    // Label at most about eight weeks, evenly, always the last.
    let every = labels.len().div_ceil(8).max(1);
    for (i, label) in labels.iter().enumerate() {
        if i % every == 0 || i + 1 == labels.len() {
            let _ = write!(
                svg,
                r#"<text class="tick" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                x(i),
                H - BOTTOM + 18.0,
                escape(label)
            );
        }
    }
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{LEFT}" x2="{}" y1="{}" y2="{}"/>"#,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM
    );
    for (k, line) in lines.iter().enumerate() {
        let points: Vec<String> = line
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline class="line {}" fill="none" points="{}"/>"#,
            escape(line.class),
            points.join(" ")
        );
        if let (Some(last), Some(v)) = (points.last(), line.values.last()) {
            let (px, py) = last.split_once(',').unwrap_or(("0", "0"));
            let _ = write!(
                svg,
                r#"<circle class="dot {}" cx="{px}" cy="{py}" r="3.5"/><text class="value" x="{px}" y="{:.1}" text-anchor="end">{}</text>"#,
                escape(line.class),
                py.parse::<f64>().unwrap_or(0.0) - 8.0,
                number(*v)
            );
        }
        // The legend, under the axis labels.
        let lx = LEFT + 200.0 * k as f64;
        let _ = write!(
            svg,
            r#"<line class="line {}" x1="{lx}" x2="{}" y1="{}" y2="{}"/><text class="legend" x="{}" y="{}">{}</text>"#,
            escape(line.class),
            lx + 24.0,
            H - 12.0,
            H - 12.0,
            lx + 30.0,
            H - 8.0,
            escape(line.name)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_tops_at_a_round_number_above_the_highest_value() {
        assert_eq!(nice_top(0.0, 5), 5.0);
        assert_eq!(nice_top(3.0, 5), 5.0);
        assert_eq!(nice_top(42.0, 5), 50.0);
        assert_eq!(nice_top(3_120.0, 5), 5_000.0);
        assert_eq!(nice_top(1_000.0, 5), 1_000.0);
    }

    #[test]
    fn a_chart_names_itself_and_draws_one_line_per_series() {
        let labels = vec!["2026-W47".to_string(), "2026-W48".to_string()];
        let svg = line_chart(
            "r",
            "Live <agents>",
            "Two weeks",
            &labels,
            &[
                Line {
                    name: "Live",
                    class: "live",
                    values: vec![1.0, 4.0],
                },
                Line {
                    name: "Outsourced",
                    class: "outsourced",
                    values: vec![40.0, 38.0],
                },
            ],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"aria-labelledby="r-title r-desc""#));
        assert!(svg.contains("Live &lt;agents&gt;"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(">2026-W48<"));
    }
}
