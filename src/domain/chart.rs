//! The pain chart: worst and mean pain over a date range, with massage sessions, alerts and the
//! patient's usual range ("baseline band"), drawn as SVG.
//!
//! The geometry is ours rather than a chart crate's: the markers (sessions along the bottom,
//! alerts along the top, each with its own shape so the chart reads in black and white), the
//! gaps for unlogged days, the band and the `<title>`/`<desc>` a screen reader needs are all
//! plain SVG elements, and the scales, ticks and aggregation here are pure and unit-tested.
//!
//! The range decides the grain: day by day up to about three months, week by week (Monday to
//! Sunday) up to two years, month by month beyond. A day's point is its worst and its mean
//! pain. A week's or a month's point is the mean of its logged days' worst pain (and of their
//! means): the highest day of each month would draw every month at its one bad day, and a
//! physiotherapist reading three years wants the usual level and how it moved. The highest day
//! stays in each point's tooltip, and the legend says which reading is drawn.

use std::fmt::Write as _;

use chrono::{Datelike, Days, NaiveDate};

use super::alerts::Tier;
use super::rollup::{DailyRollup, median};

/// The longest range drawn day by day.
pub const DAILY_UP_TO_DAYS: i64 = 92;
/// The longest range drawn week by week; longer ones are drawn month by month.
pub const WEEKLY_UP_TO_DAYS: i64 = 731;

/// The drawing's own units; it scales to any width (`viewBox`), and text stays readable on a
/// phone (about 360 CSS pixels wide) and in print.
pub const WIDTH: f64 = 640.0;
pub const HEIGHT: f64 = 336.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 78.0;
/// The legend's two lines, as baselines above the bottom edge, and their font size; the lower
/// line's descenders must stay inside the drawing (checked in the tests).
const LEGEND_BASELINES: (f64, f64) = (24.0, 6.0);
const LEGEND_FONT: f64 = 14.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    Daily,
    Weekly,
    Monthly,
}

impl Aggregation {
    pub fn for_range(from: NaiveDate, to: NaiveDate) -> Self {
        let days = (to - from).num_days() + 1;
        if days <= DAILY_UP_TO_DAYS {
            Aggregation::Daily
        } else if days <= WEEKLY_UP_TO_DAYS {
            Aggregation::Weekly
        } else {
            Aggregation::Monthly
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Aggregation::Daily => "daily",
            Aggregation::Weekly => "weekly",
            Aggregation::Monthly => "monthly",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Aggregation::Daily => "day",
            Aggregation::Weekly => "week",
            Aggregation::Monthly => "month",
        }
    }
}

/// A day, week or month of the range (clipped to it), with what was logged in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub start: NaiveDate,
    /// Inclusive.
    pub end: NaiveDate,
    pub logged_days: u32,
    /// Mean of the daily worst pain (a day's own worst for a one-day bucket); `None` when
    /// nothing was logged.
    pub worst: Option<f64>,
    /// Highest daily worst pain.
    pub peak: Option<u8>,
    /// Mean of the daily means.
    pub mean: Option<f64>,
}

fn next_start(date: NaiveDate, aggregation: Aggregation) -> NaiveDate {
    match aggregation {
        Aggregation::Daily => date + Days::new(1),
        Aggregation::Weekly => date + Days::new(7 - u64::from(date.weekday().num_days_from_monday())),
        Aggregation::Monthly => {
            let (year, month) = if date.month() == 12 { (date.year() + 1, 1) } else { (date.year(), date.month() + 1) };
            NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(date + Days::new(31))
        }
    }
}

/// The buckets covering `from..=to` in order, empty ones included.
pub fn buckets(days: &[DailyRollup], from: NaiveDate, to: NaiveDate, aggregation: Aggregation) -> Vec<Bucket> {
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let end = next_start(start, aggregation).pred_opt().unwrap_or(start).min(to);
        let inside: Vec<&DailyRollup> = days.iter().filter(|d| d.date >= start && d.date <= end).collect();
        out.push(Bucket {
            start,
            end,
            logged_days: inside.len() as u32,
            worst: (!inside.is_empty())
                .then(|| inside.iter().map(|d| f64::from(d.max)).sum::<f64>() / inside.len() as f64),
            peak: inside.iter().map(|d| d.max).max(),
            mean: (!inside.is_empty()).then(|| inside.iter().map(|d| d.mean).sum::<f64>() / inside.len() as f64),
        });
        start = end + Days::new(1);
    }
    out
}

/// The patient's usual range of daily worst pain: the middle half (interquartile range) of
/// their daily worst over the reference days. The product's own reading: a day outside the band
/// is unusual for this patient, whatever the absolute number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub low: f64,
    pub high: f64,
    /// The reference days it was taken from.
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The fewest logged days a baseline is taken from.
pub const BASELINE_MIN_DAYS: usize = 4;
/// How many days before the range the baseline looks at.
pub const BASELINE_DAYS: u64 = 28;

/// The band from the 28 days before `from`; when fewer than four of them were logged, from the
/// first 14 days of the range; `None` when neither has four logged days.
pub fn baseline_band(days: &[DailyRollup], from: NaiveDate, to: NaiveDate) -> Option<Band> {
    let before_from = from - Days::new(BASELINE_DAYS);
    let before_to = from.pred_opt()?;
    let early_to = (from + Days::new(13)).min(to);
    [(before_from, before_to), (from, early_to)].into_iter().find_map(|(start, end)| {
        let values: Vec<f64> =
            days.iter().filter(|d| d.date >= start && d.date <= end).map(|d| f64::from(d.max)).collect();
        (values.len() >= BASELINE_MIN_DAYS).then(|| {
            let (low, high) = quartiles(&values);
            Band { low, high, from: start, to: end }
        })
    })
}

/// First and third quartiles: the medians of the lower and upper halves (Tukey's hinges).
fn quartiles(values: &[f64]) -> (f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let half = sorted.len() / 2;
    let lower = &sorted[..half.max(1)];
    let upper = &sorted[(sorted.len() - half).min(sorted.len() - 1)..];
    (median(lower).unwrap_or(0.0), median(upper).unwrap_or(0.0))
}

/// A massage session on the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionMark {
    pub date: NaiveDate,
    pub label: String,
}

/// An alert on the chart, at the day it opened.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertMark {
    pub date: NaiveDate,
    pub tier: Tier,
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct ChartInput<'a> {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Roll-ups of the range (others are ignored).
    pub days: &'a [DailyRollup],
    pub sessions: &'a [SessionMark],
    pub alerts: &'a [AlertMark],
    pub baseline: Option<Band>,
}

/// A linear map from a domain onto a stretch of the drawing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub domain: (f64, f64),
    pub range: (f64, f64),
}

impl Scale {
    pub fn map(&self, value: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        if d1 == d0 { r0 } else { r0 + (value - d0) / (d1 - d0) * (r1 - r0) }
    }
}

/// Where the range's days go across: day `d` spans `x(d)..x(d + 1)`.
pub fn x_scale(from: NaiveDate, to: NaiveDate) -> Scale {
    Scale { domain: (0.0, ((to - from).num_days() + 1) as f64), range: (LEFT, WIDTH - RIGHT) }
}

/// Pain 0–10 upwards.
pub fn y_scale() -> Scale {
    Scale { domain: (0.0, 10.0), range: (HEIGHT - BOTTOM, TOP) }
}

/// The middle of a stretch of days, in days from `from`.
fn middle(from: NaiveDate, start: NaiveDate, end: NaiveDate) -> f64 {
    ((start - from).num_days() as f64 + (end - from).num_days() as f64 + 1.0) / 2.0
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

pub fn month_name(date: NaiveDate) -> &'static str {
    MONTHS[date.month0() as usize]
}

/// "3 Nov 2026".
pub fn long_date(date: NaiveDate) -> String {
    format!("{} {} {}", date.day(), month_name(date), date.year())
}

/// A labelled tick on the time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub date: NaiveDate,
    pub label: String,
}

/// Ticks for the time axis: every day up to 10 days, Mondays up to 3 months, the first of each
/// month up to 13 months, half-years up to 3 years, years beyond. At most about a dozen, so labels
/// never collide at the chart's width.
pub fn time_ticks(from: NaiveDate, to: NaiveDate) -> Vec<Tick> {
    let days = (to - from).num_days() + 1;
    let mut ticks = Vec::new();
    let dates = from.iter_days().take_while(|d| *d <= to);
    if days <= 10 {
        ticks.extend(dates.map(|d| Tick { date: d, label: format!("{} {}", d.day(), month_name(d)) }));
    } else if days <= DAILY_UP_TO_DAYS {
        ticks.extend(
            dates
                .filter(|d| d.weekday() == chrono::Weekday::Mon)
                .map(|d| Tick { date: d, label: format!("{} {}", d.day(), month_name(d)) }),
        );
    } else if days <= 400 {
        let mut first = true;
        for d in dates.filter(|d| d.day() == 1) {
            let label = if first || d.month() == 1 {
                format!("{} {}", month_name(d), d.year())
            } else {
                month_name(d).to_owned()
            };
            first = false;
            ticks.push(Tick { date: d, label });
        }
    } else if days <= 3 * 366 {
        ticks.extend(
            dates
                .filter(|d| d.day() == 1 && (d.month() == 1 || d.month() == 7))
                .map(|d| Tick { date: d, label: format!("{} {}", month_name(d), d.year()) }),
        );
    } else {
        ticks.extend(
            dates.filter(|d| d.day() == 1 && d.month() == 1).map(|d| Tick { date: d, label: d.year().to_string() }),
        );
    }
    ticks
}

/// Escapes text for SVG/XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn tier_colour(tier: Tier) -> &'static str {
    match tier {
        Tier::Emergency => "#b00020",
        Tier::Urgent => "#c2410c",
        Tier::SeePhysio => "#a16207",
        Tier::TherapistFollowup => "#4b5563",
    }
}

pub fn tier_words(tier: Tier) -> &'static str {
    match tier {
        Tier::Emergency => "emergency",
        Tier::Urgent => "urgent: see a doctor today",
        Tier::SeePhysio => "see a physiotherapist",
        Tier::TherapistFollowup => "therapist follow-up",
    }
}

/// What one point of the chart is, in a sentence (the legend's second line, and the description's
/// first).
pub fn reading(aggregation: Aggregation) -> String {
    match aggregation {
        Aggregation::Daily => "One point per day: the worst and the mean pain (0 to 10) of that day.".to_owned(),
        other => format!(
            "One point per {}: the average of its logged days' worst pain, and of their mean pain (0 to 10).",
            other.noun()
        ),
    }
}

/// A number with one decimal as a reader sees it: never "-0.0".
pub fn decimal(value: f64) -> String {
    let text = format!("{value:.1}");
    if text == "-0.0" { "0.0".to_owned() } else { text }
}

/// With its sign: "+1.2", "-0.4", and "0.0" for anything that rounds to zero.
pub fn signed_decimal(value: f64) -> String {
    let text = decimal(value);
    if value > 0.0 && text != "0.0" { format!("+{text}") } else { text }
}

/// The chart's title and its description for screen readers: what it shows, in numbers.
pub fn describe(input: &ChartInput<'_>, aggregation: Aggregation) -> (String, String) {
    let title = format!("Pain from {} to {}", long_date(input.from), long_date(input.to));
    let days: Vec<&DailyRollup> = input.days.iter().filter(|d| d.date >= input.from && d.date <= input.to).collect();
    let mut desc = String::new();
    if days.is_empty() {
        desc.push_str("No pain was logged in this period.");
    } else {
        let worst = days.iter().map(|d| d.max).max().unwrap_or(0);
        let best = days.iter().map(|d| d.max).min().unwrap_or(0);
        let mean = days.iter().map(|d| f64::from(d.max)).sum::<f64>() / days.len() as f64;
        let _ = write!(
            desc,
            "{} {} of {} days logged; daily worst pain ranged from {best} to {worst}, averaging {}.",
            reading(aggregation),
            days.len(),
            (input.to - input.from).num_days() + 1,
            decimal(mean),
        );
    }
    if let Some(band) = input.baseline {
        let _ = write!(desc, " Usual range (baseline) {} to {}.", decimal(band.low), decimal(band.high));
    }
    let sessions = input.sessions.iter().filter(|s| s.date >= input.from && s.date <= input.to).count();
    let _ = write!(desc, " {sessions} massage session{}", if sessions == 1 { "" } else { "s" });
    let alerts: Vec<&AlertMark> = input.alerts.iter().filter(|a| a.date >= input.from && a.date <= input.to).collect();
    if alerts.is_empty() {
        desc.push_str(", no alerts.");
    } else {
        let listed: Vec<String> =
            alerts.iter().map(|a| format!("{} on {} ({})", a.label, long_date(a.date), tier_words(a.tier))).collect();
        let _ = write!(desc, "; alerts: {}.", listed.join("; "));
    }
    (title, desc)
}

fn polyline(points: &[Option<(f64, f64)>]) -> String {
    let mut path = String::new();
    let mut pen_down = false;
    for point in points {
        match point {
            Some((x, y)) => {
                let _ = write!(path, "{}{x:.1},{y:.1} ", if pen_down { "L" } else { "M" });
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    path.trim_end().to_owned()
}

/// The chart as a standalone SVG document (also fit to inline in HTML).
pub fn render_svg(input: &ChartInput<'_>) -> String {
    let aggregation = Aggregation::for_range(input.from, input.to);
    let buckets = buckets(input.days, input.from, input.to, aggregation);
    let x = x_scale(input.from, input.to);
    let y = y_scale();
    let day_x = |date: NaiveDate| x.map(middle(input.from, date, date));
    let (title, desc) = describe(input, aggregation);
    let mut svg = String::with_capacity(8 * 1024);
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-labelledby="chart-title chart-desc" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif" font-size="14"><title id="chart-title">{}</title><desc id="chart-desc">{}</desc>"##,
        escape(&title),
        escape(&desc)
    );
    // The band first, under everything.
    if let Some(band) = input.baseline {
        let (top, bottom) = (y.map(band.high + 0.25), y.map(band.low - 0.25));
        let _ = write!(
            svg,
            r##"<rect class="baseline" x="{LEFT}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="#d1fae5" stroke="#059669" stroke-width="0.5" stroke-dasharray="2 3"><title>Usual range (baseline) {}–{}, from {} to {}</title></rect>"##,
            WIDTH - RIGHT - LEFT,
            bottom - top,
            decimal(band.low),
            decimal(band.high),
            long_date(band.from),
            long_date(band.to)
        );
    }
    // Pain grid and axis.
    for pain in (0..=10).step_by(2) {
        let py = y.map(f64::from(pain));
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{py:.1}" y2="{py:.1}" stroke="#d1d5db" stroke-width="{}"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#374151" font-size="15">{pain}</text>"##,
            WIDTH - RIGHT,
            if pain == 0 { 1.0 } else { 0.5 },
            LEFT - 8.0,
            py + 5.0
        );
    }
    let _ = write!(
        svg,
        r##"<text x="12" y="{:.1}" transform="rotate(-90 12 {:.1})" text-anchor="middle" fill="#374151" font-size="13">pain 0–10</text>"##,
        (TOP + HEIGHT - BOTTOM) / 2.0,
        (TOP + HEIGHT - BOTTOM) / 2.0
    );
    // Time ticks.
    // Up to 10 days a tick names the day under it; beyond, it marks where its day begins.
    let centred = (input.to - input.from).num_days() < 10;
    for tick in time_ticks(input.from, input.to) {
        let tx = if centred { day_x(tick.date) } else { x.map((tick.date - input.from).num_days() as f64) };
        let base = HEIGHT - BOTTOM;
        let _ = write!(
            svg,
            r##"<line x1="{tx:.1}" x2="{tx:.1}" y1="{base:.1}" y2="{:.1}" stroke="#6b7280"/><text x="{tx:.1}" y="{:.1}" text-anchor="middle" fill="#374151" font-size="14">{}</text>"##,
            base + 5.0,
            base + 20.0,
            escape(&tick.label)
        );
    }
    // Series: mean dashed under, worst solid over, with dots so single points show.
    let centre = |b: &Bucket| x.map(middle(input.from, b.start, b.end));
    let mean_points: Vec<Option<(f64, f64)>> = buckets.iter().map(|b| b.mean.map(|m| (centre(b), y.map(m)))).collect();
    let worst_points: Vec<Option<(f64, f64)>> =
        buckets.iter().map(|b| b.worst.map(|w| (centre(b), y.map(w)))).collect();
    let _ = write!(
        svg,
        r##"<path class="mean" d="{}" fill="none" stroke="#2563eb" stroke-width="2" stroke-dasharray="6 4"/><path class="worst" d="{}" fill="none" stroke="#b91c1c" stroke-width="2.5"/>"##,
        polyline(&mean_points),
        polyline(&worst_points)
    );
    let dot = if buckets.len() > 120 { 1.8 } else { 3.0 };
    for (bucket, point) in buckets.iter().zip(&worst_points) {
        if let (Some((px, py)), Some(worst), Some(peak)) = (point, bucket.worst, bucket.peak) {
            let when = if bucket.start == bucket.end {
                long_date(bucket.start)
            } else {
                format!("{} – {}", long_date(bucket.start), long_date(bucket.end))
            };
            let what = if bucket.start == bucket.end {
                format!("worst {peak}, mean {}", decimal(bucket.mean.unwrap_or(0.0)))
            } else {
                format!(
                    "{} days logged, average worst {} (highest {peak}), mean {}",
                    bucket.logged_days,
                    decimal(worst),
                    decimal(bucket.mean.unwrap_or(0.0))
                )
            };
            let _ = write!(
                svg,
                r##"<circle class="worst-point" cx="{px:.1}" cy="{py:.1}" r="{dot}" fill="#b91c1c"><title>{}: {}</title></circle>"##,
                escape(&when),
                escape(&what)
            );
        }
    }
    // Sessions: upward triangles under the axis line.
    let session_y = HEIGHT - BOTTOM + 32.0;
    for session in input.sessions.iter().filter(|s| s.date >= input.from && s.date <= input.to) {
        let sx = day_x(session.date);
        let _ = write!(
            svg,
            r##"<path class="session" d="M{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z" fill="#0f766e"><title>{}</title></path>"##,
            sx,
            session_y - 6.0,
            sx - 6.0,
            session_y + 5.0,
            sx + 6.0,
            session_y + 5.0,
            escape(&format!("{}: {}", long_date(session.date), session.label))
        );
    }
    // Alerts: diamonds along the top with a thin guide down to the axis.
    for alert in input.alerts.iter().filter(|a| a.date >= input.from && a.date <= input.to) {
        let ax = day_x(alert.date);
        let colour = tier_colour(alert.tier);
        let ay = TOP - 14.0;
        let _ = write!(
            svg,
            r##"<g class="alert"><title>{}</title><line x1="{ax:.1}" x2="{ax:.1}" y1="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="1" stroke-dasharray="3 3"/><path d="M{ax:.1},{:.1} L{:.1},{ay:.1} L{ax:.1},{:.1} L{:.1},{ay:.1} Z" fill="{colour}"/></g>"##,
            escape(&format!("{}: {} ({})", long_date(alert.date), alert.label, tier_words(alert.tier))),
            ay + 7.0,
            HEIGHT - BOTTOM,
            ay - 7.0,
            ax + 7.0,
            ay + 7.0,
            ax - 7.0
        );
    }
    // Legend, along the bottom: the marks on one line, what a point is on the next.
    let ly = HEIGHT - LEGEND_BASELINES.0;
    let worst_label = if aggregation == Aggregation::Daily { "worst" } else { "worst (average)" };
    // Spaced for a wide sans-serif (DejaVu Sans in the PDF), so no label runs into the next mark.
    let shift = if aggregation == Aggregation::Daily { 0.0 } else { 84.0 };
    let _ = write!(
        svg,
        r##"<g class="legend" font-size="{LEGEND_FONT}" fill="#111827"><line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#b91c1c" stroke-width="2.5"/><text x="{:.1}" y="{ly:.1}">{worst_label}</text><line x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#2563eb" stroke-width="2" stroke-dasharray="6 4"/><text x="{:.1}" y="{ly:.1}">mean</text><rect x="{:.1}" y="{:.1}" width="18" height="10" fill="#d1fae5" stroke="#059669" stroke-width="0.5"/><text x="{:.1}" y="{ly:.1}">usual range</text><path d="M{:.1},{:.1} l-6,11 l12,0 Z" fill="#0f766e"/><text x="{:.1}" y="{ly:.1}">massage</text><path d="M{:.1},{:.1} l7,7 l-7,7 l-7,-7 Z" fill="#a16207"/><text x="{:.1}" y="{ly:.1}">alert</text><text class="reading" x="{LEFT}" y="{:.1}" font-size="12" fill="#4b5563">{}</text></g>"##,
        LEFT + 22.0,
        ly - 4.0,
        ly - 4.0,
        LEFT + 27.0,
        LEFT + 84.0 + shift,
        LEFT + 106.0 + shift,
        ly - 4.0,
        ly - 4.0,
        LEFT + 111.0 + shift,
        LEFT + 166.0 + shift,
        ly - 13.0,
        LEFT + 189.0 + shift,
        LEFT + 302.0 + shift,
        ly - 14.0,
        LEFT + 314.0 + shift,
        LEFT + 396.0 + shift,
        ly - 16.0,
        LEFT + 408.0 + shift,
        HEIGHT - LEGEND_BASELINES.1,
        escape(&reading(aggregation))
    );
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn date(d: &str) -> NaiveDate {
        d.parse().unwrap()
    }

    fn day(d: NaiveDate, max: u8, mean: f64) -> DailyRollup {
        DailyRollup { date: d, max, mean, last: max, count: 2, symptoms: BTreeSet::new() }
    }

    /// Every day of `from..=to` logged, worst pain cycling 2..=8.
    fn every_day(from: &str, to: &str) -> Vec<DailyRollup> {
        date(from)
            .iter_days()
            .take_while(|d| *d <= date(to))
            .enumerate()
            .map(|(i, d)| day(d, 2 + (i % 7) as u8, 1.5 + (i % 7) as f64))
            .collect()
    }

    #[test]
    fn the_grain_follows_the_range() {
        assert_eq!(Aggregation::for_range(date("2026-11-01"), date("2026-11-03")), Aggregation::Daily);
        assert_eq!(Aggregation::for_range(date("2026-11-01"), date("2026-11-30")), Aggregation::Daily);
        assert_eq!(Aggregation::for_range(date("2026-01-01"), date("2026-04-02")), Aggregation::Daily, "92 days");
        assert_eq!(Aggregation::for_range(date("2026-01-01"), date("2026-04-03")), Aggregation::Weekly, "93 days");
        assert_eq!(Aggregation::for_range(date("2024-01-01"), date("2025-12-31")), Aggregation::Weekly, "731 days");
        assert_eq!(Aggregation::for_range(date("2023-12-01"), date("2026-11-30")), Aggregation::Monthly);
    }

    #[test]
    fn three_days() {
        let (from, to) = (date("2026-11-02"), date("2026-11-04"));
        let days = [day(from, 6, 4.5), day(date("2026-11-04"), 3, 2.0)];
        let buckets = buckets(&days, from, to, Aggregation::Daily);
        assert_eq!(buckets.len(), 3, "the unlogged day is a bucket of its own");
        assert_eq!((buckets[0].worst, buckets[0].peak, buckets[0].mean), (Some(6.0), Some(6), Some(4.5)));
        assert_eq!((buckets[1].worst, buckets[1].logged_days), (None, 0));
        assert_eq!(buckets[2].worst, Some(3.0));
        let ticks = time_ticks(from, to);
        assert_eq!(ticks.iter().map(|t| t.label.as_str()).collect::<Vec<_>>(), ["2 Nov", "3 Nov", "4 Nov"]);
        // Day 1 of 3 spans a third of the plot; its middle is at one sixth.
        let x = x_scale(from, to);
        let plot = WIDTH - RIGHT - LEFT;
        assert!((x.map(middle(from, from, from)) - (LEFT + plot / 6.0)).abs() < 1e-9);
        assert!((x.map(3.0) - (WIDTH - RIGHT)).abs() < 1e-9);
        // The unlogged day breaks the line instead of drawing through it.
        let points: Vec<Option<(f64, f64)>> = buckets.iter().map(|b| b.worst.map(|w| (0.0, w))).collect();
        assert_eq!(polyline(&points), "M0.0,6.0 M0.0,3.0");
    }

    #[test]
    fn a_month() {
        let (from, to) = (date("2026-11-01"), date("2026-11-30"));
        let days = every_day("2026-11-01", "2026-11-30");
        let buckets = buckets(&days, from, to, Aggregation::for_range(from, to));
        assert_eq!(buckets.len(), 30);
        assert!(buckets.iter().all(|b| b.start == b.end && b.logged_days == 1));
        // Mondays of November 2026: 2, 9, 16, 23, 30.
        let labels: Vec<String> = time_ticks(from, to).into_iter().map(|t| t.label).collect();
        assert_eq!(labels, ["2 Nov", "9 Nov", "16 Nov", "23 Nov", "30 Nov"]);
    }

    #[test]
    fn a_quarter_and_a_year_go_by_week() {
        let (from, to) = (date("2026-01-01"), date("2026-12-31"));
        let days = every_day("2026-01-01", "2026-12-31");
        let weeks = buckets(&days, from, to, Aggregation::for_range(from, to));
        // 1 Jan 2026 is a Thursday: a short first week, then Monday-to-Sunday weeks.
        assert_eq!((weeks[0].start, weeks[0].end), (date("2026-01-01"), date("2026-01-04")));
        assert_eq!((weeks[1].start, weeks[1].end), (date("2026-01-05"), date("2026-01-11")));
        assert_eq!(weeks.last().unwrap().end, to);
        assert_eq!(weeks.len(), 53);
        assert!(weeks[1..weeks.len() - 1].iter().all(|w| (w.end - w.start).num_days() == 6));
        // A week draws the mean of its daily worst (2..=8 → 5), keeps its worst day as the peak,
        // and its mean is the mean of the daily means.
        assert_eq!((weeks[1].worst, weeks[1].peak), (Some(5.0), Some(8)));
        assert!((weeks[1].mean.unwrap() - (days[4..11].iter().map(|d| d.mean).sum::<f64>() / 7.0)).abs() < 1e-9);
        let labels: Vec<String> = time_ticks(from, to).into_iter().map(|t| t.label).collect();
        assert_eq!(labels.len(), 12);
        assert_eq!((labels[0].as_str(), labels[1].as_str()), ("Jan 2026", "Feb"));
    }

    #[test]
    fn three_years() {
        let (from, to) = (date("2023-12-01"), date("2026-11-30"));
        let days = every_day("2023-12-01", "2026-11-30");
        let months = buckets(&days, from, to, Aggregation::for_range(from, to));
        assert_eq!(months.len(), 36);
        assert_eq!((months[0].start, months[0].end), (date("2023-12-01"), date("2023-12-31")));
        assert_eq!((months[2].start, months[2].end), (date("2024-02-01"), date("2024-02-29")), "leap year");
        assert_eq!(months[2].logged_days, 29);
        assert!(months.iter().all(|m| m.peak == Some(8)));
        // A month's point is its days' average worst (the 2..=8 cycle averages about 5), not
        // its one worst day.
        assert!(months.iter().all(|m| (m.worst.unwrap() - 5.0).abs() < 0.3), "{months:?}");
        let ticks = time_ticks(from, to);
        let labels: Vec<&str> = ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["Jan 2024", "Jul 2024", "Jan 2025", "Jul 2025", "Jan 2026", "Jul 2026"]);
        // Five years: one tick a year.
        let labels: Vec<String> =
            time_ticks(date("2021-06-01"), date("2026-05-31")).into_iter().map(|t| t.label).collect();
        assert_eq!(labels, ["2022", "2023", "2024", "2025", "2026"]);
    }

    #[test]
    fn numbers_never_read_minus_zero() {
        assert_eq!(decimal(-0.04), "0.0");
        assert_eq!(decimal(-0.0), "0.0");
        assert_eq!(decimal(-0.05000001), "-0.1");
        assert_eq!(decimal(2.25), "2.2");
        assert_eq!(signed_decimal(-0.04), "0.0");
        assert_eq!(signed_decimal(0.04), "0.0");
        assert_eq!(signed_decimal(0.0), "0.0");
        assert_eq!(signed_decimal(1.26), "+1.3");
        assert_eq!(signed_decimal(-1.26), "-1.3");
    }

    #[test]
    fn the_legend_fits_inside_the_drawing() {
        // The lowest text's descenders (about a quarter of the font size) stay inside, with room
        // for a browser's minimum font size to enlarge it.
        assert!(HEIGHT - LEGEND_BASELINES.1 + 0.3 * LEGEND_FONT <= HEIGHT);
        // The marks' line sits below the sessions' triangles and above the reading line.
        assert!(HEIGHT - BOTTOM + 32.0 + 5.0 < HEIGHT - LEGEND_BASELINES.0 - LEGEND_FONT);
        assert!(HEIGHT - LEGEND_BASELINES.0 + 0.3 * LEGEND_FONT < HEIGHT - LEGEND_BASELINES.1 - 12.0);
        let svg = render_svg(&ChartInput {
            from: date("2023-12-01"),
            to: date("2026-11-30"),
            days: &[],
            sessions: &[],
            alerts: &[],
            baseline: None,
        });
        assert!(svg.contains("One point per month: the average of its logged days&#39; worst pain"), "{svg}");
        assert!(svg.contains(">worst (average)</text>"));
    }

    #[test]
    fn scales() {
        let y = y_scale();
        assert_eq!(y.map(0.0), HEIGHT - BOTTOM);
        assert_eq!(y.map(10.0), TOP);
        assert_eq!(y.map(5.0), (HEIGHT - BOTTOM + TOP) / 2.0);
        let x = x_scale(date("2026-11-01"), date("2026-11-01"));
        assert_eq!((x.map(0.0), x.map(1.0)), (LEFT, WIDTH - RIGHT));
    }

    #[test]
    fn baseline_from_the_weeks_before_or_else_the_first_two() {
        let (from, to) = (date("2026-11-01"), date("2026-11-30"));
        // Four weeks before: daily worst 3, 4, 4, 5, 6, 7 → hinges 4 and 6.
        let before: Vec<DailyRollup> = [3, 4, 4, 5, 6, 7]
            .iter()
            .enumerate()
            .map(|(i, &max)| day(date("2026-10-10") + Days::new(i as u64), max, f64::from(max)))
            .collect();
        let band = baseline_band(&before, from, to).unwrap();
        assert_eq!((band.low, band.high), (4.0, 6.0));
        assert_eq!((band.from, band.to), (date("2026-10-04"), date("2026-10-31")));
        // Only three days before: the first two weeks of the range instead (3, 5, 5, 8, 9 → 4, 8.5).
        let early: Vec<DailyRollup> = [3, 5, 5, 8, 9]
            .iter()
            .enumerate()
            .map(|(i, &max)| day(from + Days::new(i as u64 * 2), max, f64::from(max)))
            .chain(before[..3].iter().cloned())
            .collect();
        let band = baseline_band(&early, from, to).unwrap();
        assert_eq!((band.low, band.high), (4.0, 8.5));
        assert_eq!((band.from, band.to), (from, date("2026-11-14")));
        assert_eq!(baseline_band(&before[..3], from, to), None);
    }

    #[test]
    fn the_svg_says_what_it_shows() {
        let (from, to) = (date("2026-11-01"), date("2026-11-30"));
        let days = every_day("2026-11-01", "2026-11-30");
        let sessions = [SessionMark { date: date("2026-11-10"), label: "Deep tissue massage <60 min>".into() }];
        let alerts =
            [AlertMark { date: date("2026-11-20"), tier: Tier::SeePhysio, label: "Pain persisting & high".into() }];
        let input = ChartInput {
            from,
            to,
            days: &days,
            sessions: &sessions,
            alerts: &alerts,
            baseline: Some(Band { low: 3.0, high: 5.0, from, to }),
        };
        let svg = render_svg(&input);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("<title id=\"chart-title\">Pain from 1 Nov 2026 to 30 Nov 2026</title>"));
        assert!(svg.contains("30 of 30 days logged"), "{svg}");
        assert!(svg.contains("Pain persisting &amp; high on 20 Nov 2026 (see a physiotherapist)"));
        assert!(svg.contains("Deep tissue massage &lt;60 min&gt;"));
        assert_eq!(svg.matches("class=\"worst-point\"").count(), 30);
        assert_eq!(svg.matches("class=\"session\"").count(), 1);
        assert_eq!(svg.matches("class=\"alert\"").count(), 1);
        assert_eq!(svg.matches("class=\"baseline\"").count(), 1);
        // Nothing logged still draws axes and says so.
        let empty = render_svg(&ChartInput { days: &[], sessions: &[], alerts: &[], baseline: None, ..input });
        assert!(empty.contains("No pain was logged in this period."));
    }
}
