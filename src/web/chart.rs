//! Line charts as SVG, drawn on the server: readable without JavaScript, named for screen
//! readers (the page's table holds the same numbers), and scaled by the browser.

use std::fmt::Write;

/// One line of a chart.
pub struct Line<'a> {
    pub name: &'a str,
    /// A CSS class (colour and dash) from app.css.
    pub class: &'a str,
    /// One value per label; None where there is no figure (drawn as a gap, never as 0).
    pub values: Vec<Option<f64>>,
}

const W: f64 = 720.0;
const H: f64 = 320.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 56.0;
/// About how wide a week label ("2026-W48") is, in the chart's units.
const LABEL_W: f64 = 60.0;

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
        .flat_map(|l| l.values.iter().flatten().copied())
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
    // Label at most about eight weeks, evenly, always the last; a regular label too close to
    // the last one is left out, and the end labels are anchored inside the chart so none is
    // cut off. Every other label is `minor`: a phone, with larger text, shows only the rest.
    let every = labels.len().div_ceil(8).max(1);
    let last = labels.len().saturating_sub(1);
    // Centred under its week, except where that would run off the chart's edge: the last
    // label ends at the right edge (the first has the axis margin to its left).
    let anchor = |i: usize| match i {
        _ if x(i) - LABEL_W / 2.0 < 0.0 => "start",
        _ if x(i) + LABEL_W / 2.0 > W => "end",
        _ => "middle",
    };
    // A label's left and right edge, at about 60 units for "2026-W48".
    let edges = |i: usize| match anchor(i) {
        "start" => (x(i), x(i) + LABEL_W),
        "end" => (x(i) - LABEL_W, x(i)),
        _ => (x(i) - LABEL_W / 2.0, x(i) + LABEL_W / 2.0),
    };
    let mut right = f64::NEG_INFINITY;
    let mut shown = 0;
    for (i, label) in labels.iter().enumerate() {
        if !(i % every == 0 || i == last) {
            continue;
        }
        let (l, r) = edges(i);
        let crowds_last = i != last && r + 4.0 > edges(last).0;
        if l < right + 4.0 || crowds_last {
            continue;
        }
        right = r;
        let anchor = anchor(i);
        // On a phone the text is about twice as wide: every other label, and any close to the
        // last one, gives way there.
        let near_last = i != last && r + LABEL_W + 4.0 > edges(last).0;
        let minor = i != last && (shown % 2 == 1 || near_last);
        shown += 1;
        let _ = write!(
            svg,
            r#"<text class="tick{}" x="{:.1}" y="{}" text-anchor="{anchor}">{}</text>"#,
            if minor { " minor" } else { "" },
            x(i),
            H - BOTTOM + 18.0,
            escape(label)
        );
    }
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{LEFT}" x2="{}" y1="{}" y2="{}"/>"#,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM
    );
    // Where each line ends, for its value label: labels closer than a line of text apart are
    // moved apart, the upper one up and the lower one down.
    let ends: Vec<Option<(usize, f64)>> = lines
        .iter()
        .map(|l| {
            l.values
                .iter()
                .enumerate()
                .rev()
                .find_map(|(i, v)| v.map(|v| (i, v)))
        })
        .collect();
    let mut label_y: Vec<f64> = ends
        .iter()
        .map(|e| e.map_or(0.0, |(_, v)| y(v) - 8.0))
        .collect();
    const GAP: f64 = 16.0;
    for a in 0..lines.len() {
        for b in a + 1..lines.len() {
            if ends[a].is_some() && ends[b].is_some() && (label_y[a] - label_y[b]).abs() < GAP {
                let (hi, lo) = if label_y[a] <= label_y[b] {
                    (a, b)
                } else {
                    (b, a)
                };
                let mid = (label_y[hi] + label_y[lo]) / 2.0;
                label_y[hi] = (mid - GAP / 2.0).max(TOP + 10.0);
                label_y[lo] = label_y[hi] + GAP;
            }
        }
    }
    for (k, line) in lines.iter().enumerate() {
        // One polyline per run of figures: a gap where there is none.
        let mut runs: Vec<Vec<String>> = vec![Vec::new()];
        for (i, v) in line.values.iter().enumerate() {
            match v {
                Some(v) => runs.last_mut().expect("one run at least").push(format!(
                    "{:.1},{:.1}",
                    x(i),
                    y(*v)
                )),
                None if !runs.last().is_some_and(Vec::is_empty) => runs.push(Vec::new()),
                None => {}
            }
        }
        for run in runs.iter().filter(|r| !r.is_empty()) {
            let _ = write!(
                svg,
                r#"<polyline class="line {}" fill="none" points="{}"/>"#,
                escape(line.class),
                run.join(" ")
            );
        }
        if let Some((i, v)) = ends[k] {
            let _ = write!(
                svg,
                r#"<circle class="dot {}" cx="{:.1}" cy="{:.1}" r="3.5"/><text class="value" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                escape(line.class),
                x(i),
                y(v),
                x(i),
                label_y[k],
                number(v)
            );
        }
        // The legend, under the axis labels.
        let lx = LEFT + 200.0 * k as f64;
        let _ = write!(
            svg,
            r#"<line class="line key {}" x1="{lx}" x2="{}" y1="{}" y2="{}"/><text class="legend" x="{}" y="{}">{}</text>"#,
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
                    values: vec![Some(1.0), Some(4.0)],
                },
                Line {
                    name: "Outsourced",
                    class: "outsourced",
                    values: vec![Some(40.0), Some(38.0)],
                },
            ],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"aria-labelledby="r-title r-desc""#));
        assert!(svg.contains("Live &lt;agents&gt;"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(">2026-W48<"));
    }

    fn weeks(n: usize) -> Vec<String> {
        (1..=n).map(|w| format!("2026-W{w:02}")).collect()
    }

    /// The x position and anchor of every week label drawn.
    fn x_labels(svg: &str) -> Vec<(f64, String, String)> {
        svg.split("<text class=\"tick")
            .skip(1)
            .filter(|t| t.contains("-W"))
            .map(|t| {
                let x: f64 = t
                    .split("x=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                let anchor = t
                    .split("text-anchor=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                let text = t.split('>').nth(1).unwrap().split('<').next().unwrap();
                (x, anchor.to_string(), text.to_string())
            })
            .collect()
    }

    #[test]
    fn week_labels_never_crowd_the_last_one_or_fall_off_the_edges() {
        let one = |v: f64| Line {
            name: "Live",
            class: "live",
            values: vec![Some(v); 0],
        };
        for n in [2, 9, 10, 17, 26, 27, 52, 53, 156, 157] {
            let svg = line_chart("r", "t", "d", &weeks(n), &[one(1.0)]);
            let labels = x_labels(&svg);
            assert_eq!(labels.last().unwrap().2, format!("2026-W{n:02}"), "{n}");
            assert_eq!(
                labels.last().unwrap().1,
                "end",
                "{n}: the last label ends at the edge"
            );
            assert_eq!(labels[0].2, "2026-W01", "{n}: the first week is labelled");
            // A label is about 60 units wide: no two overlap, and none leaves the chart.
            let edges = |(x, anchor, _): &(f64, String, String)| match anchor.as_str() {
                "start" => (*x, x + 60.0),
                "end" => (x - 60.0, *x),
                _ => (x - 30.0, x + 30.0),
            };
            for pair in labels.windows(2) {
                assert!(
                    edges(&pair[1]).0 >= edges(&pair[0]).1,
                    "{n}: {} and {} overlap",
                    pair[0].2,
                    pair[1].2
                );
            }
            assert!(edges(&labels[0]).0 >= 0.0 && edges(labels.last().unwrap()).1 <= W);
            assert!(labels.len() >= 2.min(n), "{n}: {labels:?}");
        }
    }

    #[test]
    fn a_week_without_a_figure_is_a_gap_and_close_end_labels_move_apart() {
        let svg = line_chart(
            "r",
            "t",
            "d",
            &weeks(4),
            &[
                Line {
                    name: "Live",
                    class: "live",
                    values: vec![Some(100.0), Some(101.0), Some(102.0), Some(103.0)],
                },
                Line {
                    name: "Outsourced",
                    class: "outsourced",
                    values: vec![None, Some(104.0), None, Some(104.0)],
                },
            ],
        );
        // The outsourced line is two runs of one point each: never drawn down to 0.
        assert_eq!(
            svg.matches("<polyline class=\"line outsourced\"").count(),
            2
        );
        assert!(
            !svg.contains(&format!(",{:.1}", H - BOTTOM)),
            "no point at zero: {svg}"
        );
        let ys: Vec<f64> = svg
            .split("<text class=\"value\"")
            .skip(1)
            .map(|t| {
                t.split("y=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        assert_eq!(ys.len(), 2);
        assert!((ys[0] - ys[1]).abs() >= 16.0, "{ys:?}");
    }
}
