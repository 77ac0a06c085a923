//! The weekly report's chart as a PNG, for mail clients (they show no SVG and load no remote
//! images): live pilot agents (blue) against outsourced headcount (grey), one point a week.
//! Drawn with plotters' bitmap backend, without text: the email states every figure in a table
//! beside it, and the image's alt text says what it shows.

use plotters::prelude::*;

pub const WIDTH: u32 = 640;
pub const HEIGHT: u32 = 260;
/// The content id the HTML part refers to (`cid:replacement-chart`).
pub const CONTENT_ID: &str = "replacement-chart";

const LIVE: RGBColor = RGBColor(26, 86, 219);
const OUTSOURCED: RGBColor = RGBColor(107, 114, 128);
const GRID: RGBColor = RGBColor(226, 229, 234);

/// The chart of `weeks` (live, outsourced), oldest first, as PNG bytes.
pub fn replacement_png(weeks: &[(i64, i64)]) -> anyhow::Result<Vec<u8>> {
    let mut pixels = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
        let last = weeks.len().saturating_sub(1).max(1) as i64;
        let top = weeks
            .iter()
            .map(|(l, o)| (*l).max(*o))
            .max()
            .unwrap_or(0)
            .max(1);
        let top = top + top / 10 + 1;
        let mut chart = ChartBuilder::on(&root)
            .margin(14)
            .build_cartesian_2d(0..last, 0..top)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let line = |points: Vec<(i64, i64)>, color: RGBColor, width: u32| {
            LineSeries::new(points, ShapeStyle::from(color).stroke_width(width))
        };
        for q in 0..=4 {
            let y = top * q / 4;
            chart
                .draw_series(line(vec![(0, y), (last, y)], GRID, 1))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let series = |pick: fn(&(i64, i64)) -> i64| -> Vec<(i64, i64)> {
            weeks
                .iter()
                .enumerate()
                .map(|(i, w)| (i as i64, pick(w)))
                .collect()
        };
        chart
            .draw_series(line(series(|w| w.1), OUTSOURCED, 3))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        chart
            .draw_series(line(series(|w| w.0), LIVE, 4))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.write_header()?.write_image_data(&pixels)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_is_a_png_of_the_stated_size_with_both_lines_drawn() {
        let png = replacement_png(&[(0, 100), (10, 100), (25, 90), (40, 80)]).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        let has = |c: RGBColor| buf.chunks(3).any(|p| p == [c.0, c.1, c.2]);
        assert!(has(LIVE), "the live line");
        assert!(has(OUTSOURCED), "the outsourced line");
        // An empty series still draws (a flat chart), never fails.
        assert!(replacement_png(&[]).is_ok());
    }
}
