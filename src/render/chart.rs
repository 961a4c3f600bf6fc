//! Inline SVG charts without JavaScript: the geometry is computed here from the line's
//! days, and the template draws it. Only numbers and fixed labels reach the SVG; the
//! same figures are in the daily table beside each chart. Floats only place pixels;
//! every number a reader sees is formatted from the exact decimal.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 8.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 24.0;

/// One drawn series: an SVG `points` list.
#[derive(Debug, Serialize)]
pub struct Series {
    pub label: &'static str,
    /// CSS class of the line (`basis`, `other`, `budget`).
    pub class: &'static str,
    pub points: String,
}

/// A vertical band marking one day (a day out of tolerance).
#[derive(Debug, Serialize)]
pub struct Band {
    pub x: String,
    pub width: String,
}

#[derive(Debug, Serialize)]
pub struct Chart {
    pub width: f64,
    pub height: f64,
    /// y of the baseline and of the top gridline.
    pub base_y: String,
    pub top_y: String,
    /// The value the top gridline stands for, written for people.
    pub top_label: String,
    /// Where the labels and bands go.
    pub band_height: String,
    pub label_y: String,
    pub axis_y: String,
    pub right_x: String,
    pub first_day: String,
    pub last_day: String,
    pub series: Vec<Series>,
    pub bands: Vec<Band>,
}

/// The x of day `i` of `n` (days spread over the plot width, one slot each).
fn slot(i: usize, n: usize) -> (f64, f64) {
    let step = (WIDTH - LEFT - RIGHT) / n.max(1) as f64;
    (LEFT + step * i as f64, step)
}

fn y(value: f64, max: f64) -> f64 {
    let plot = HEIGHT - TOP - BOTTOM;
    HEIGHT - BOTTOM - if max > 0.0 { value / max * plot } else { 0.0 }
}

fn points(values: &[Option<f64>], max: f64) -> String {
    let n = values.len();
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let (x, step) = slot(i, n);
            v.map(|v| format!("{:.1},{:.1}", x + step / 2.0, y(v, max)))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn float(value: Decimal) -> f64 {
    value.to_f64().unwrap_or(0.0)
}

/// What a chart plots: each day's label and values, and the days to mark.
pub struct Plot<'a> {
    pub days: Vec<String>,
    pub series: Vec<(&'static str, &'static str, Vec<Option<Decimal>>)>,
    pub marked: &'a [bool],
    pub label: &'a dyn Fn(Decimal) -> String,
}

/// Lays out a line chart of the series over the days, with the marked days banded.
pub fn draw(plot: Plot) -> Option<Chart> {
    let n = plot.days.len();
    if n == 0 {
        return None;
    }
    let max = plot
        .series
        .iter()
        .flat_map(|(_, _, values)| values.iter().flatten())
        .copied()
        .max()
        .unwrap_or_default();
    let max_f = float(max);
    let series = plot
        .series
        .iter()
        .map(|(label, class, values)| Series {
            label,
            class,
            points: points(
                &values.iter().map(|v| v.map(float)).collect::<Vec<_>>(),
                max_f,
            ),
        })
        .collect();
    let bands = plot
        .marked
        .iter()
        .enumerate()
        .filter(|(_, marked)| **marked)
        .map(|(i, _)| {
            let (x, step) = slot(i, n);
            Band {
                x: format!("{x:.1}"),
                width: format!("{step:.1}"),
            }
        })
        .collect();
    Some(Chart {
        width: WIDTH,
        height: HEIGHT,
        base_y: format!("{:.1}", y(0.0, max_f)),
        top_y: format!("{:.1}", y(max_f, max_f)),
        top_label: (plot.label)(max),
        band_height: format!("{:.1}", y(0.0, max_f) - y(max_f, max_f)),
        label_y: format!("{:.1}", y(max_f, max_f) + 12.0),
        axis_y: format!("{:.1}", HEIGHT - 6.0),
        right_x: format!("{:.1}", WIDTH - RIGHT),
        first_day: plot.days.first().cloned().unwrap_or_default(),
        last_day: plot.days.last().cloned().unwrap_or_default(),
        series,
        bands,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_spans_the_plot_and_marks_days() {
        let label = |d: Decimal| d.to_string();
        let chart = draw(Plot {
            days: vec!["1 Oct".into(), "2 Oct".into()],
            series: vec![(
                "basis",
                "basis",
                vec![Some(Decimal::from(10)), Some(Decimal::from(5))],
            )],
            marked: &[false, true],
            label: &label,
        })
        .unwrap();
        // Two slots of 312 px; centres at 8 + 156 and 8 + 312 + 156; 10 is the top
        // (y = 12), 5 half-way down the 184 px plot (y = 196 − 92 = 104).
        assert_eq!(chart.series[0].points, "164.0,12.0 476.0,104.0");
        assert_eq!(chart.bands.len(), 1);
        assert_eq!(chart.bands[0].x, "320.0");
        assert_eq!(chart.top_label, "10");
    }

    #[test]
    fn no_days_no_chart() {
        let label = |d: Decimal| d.to_string();
        assert!(
            draw(Plot {
                days: vec![],
                series: vec![],
                marked: &[],
                label: &label
            })
            .is_none()
        );
    }
}
