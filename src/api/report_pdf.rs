//! The clinician report as a PDF, laid out here and written in-process by krilla, with the
//! DejaVu Sans font embedded (subset) so it prints the same everywhere; the pain chart goes in as
//! vectors from its SVG. The same content as the HTML page: who and when, the summary numbers,
//! the chart, open alerts, sessions, questionnaires, symptoms and the notes on method.
//!
//! The layout is a display list per page ([`Op`]), built first and drawn second, so page breaks
//! and "page n of m" are decided before anything is drawn and the geometry is testable without
//! a PDF. A4 portrait; a month fits one page, a longer range flows onto more, a table repeating
//! its header row on each page.
//!
//! The chart's PNG is rasterised here too, by resvg from the same usvg tree (resvg comes with
//! krilla-svg, so the PNG adds no crate).

use std::sync::LazyLock;

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, Stroke};
use krilla::text::{Font, TextDirection};
use krilla::{Data, Document};
use krilla_svg::{SurfaceExt as _, SvgSettings};
use resvg::usvg;

use super::report_page::{adherence, audience, check_ins, pain_pair, range, short};
use crate::domain::alerts::Tier;
use crate::domain::chart::{self, decimal, long_date, signed_decimal, tier_words};
use skrifa::instance::{LocationRef, Size as FontSize};
use skrifa::{FontRef, MetadataProvider};

use crate::domain::report::Report;
use crate::domain::rollup::MEANINGFUL_POINTS;

pub const PDF: &str = "application/pdf";

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");
const FAMILY: &str = "DejaVu Sans";

static FACES: LazyLock<[FontRef<'static>; 2]> = LazyLock::new(|| {
    [
        FontRef::new(REGULAR).expect("the embedded regular font parses"),
        FontRef::new(BOLD).expect("the embedded bold font parses"),
    ]
});

/// A4 in points, and the margins.
pub const PAGE_WIDTH: f32 = 595.28;
pub const PAGE_HEIGHT: f32 = 841.89;
const MARGIN: f32 = 34.0;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
/// Content stops here; below are the page's footer line and the margin.
const CONTENT_BOTTOM: f32 = PAGE_HEIGHT - MARGIN - 14.0;
/// The chart's width on the page: narrower than the text, so a month keeps to one page.
const CHART_WIDTH: f32 = 430.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

const INK: Rgb = Rgb(0x11, 0x18, 0x27);
const MUTED: Rgb = Rgb(0x37, 0x41, 0x51);
const FAINT: Rgb = Rgb(0x4b, 0x55, 0x63);
const RULE: Rgb = Rgb(0xd1, 0xd5, 0xdb);
const ROW_RULE: Rgb = Rgb(0xe5, 0xe7, 0xeb);
const HEAD_FILL: Rgb = Rgb(0xf3, 0xf4, 0xf6);
const GOOD: Rgb = Rgb(0x04, 0x78, 0x57);
const BAD: Rgb = Rgb(0xb9, 0x1c, 0x1c);

/// One thing drawn on a page; `y` grows downwards from the top edge, text at its baseline.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Text { x: f32, y: f32, size: f32, weight: Weight, colour: Rgb, text: String },
    Rect { x: f32, y: f32, w: f32, h: f32, fill: Option<Rgb>, stroke: Option<Rgb> },
    Line { x1: f32, y1: f32, x2: f32, y2: f32, colour: Rgb, width: f32 },
    Chart { x: f32, y: f32, w: f32, h: f32 },
}

/// The width of `text` set in the embedded font, in points.
pub fn text_width(text: &str, weight: Weight, size: f32) -> f32 {
    let face = &FACES[weight as usize];
    let units_per_em = f32::from(face.metrics(FontSize::unscaled(), LocationRef::default()).units_per_em);
    let charmap = face.charmap();
    let advances = face.glyph_metrics(FontSize::unscaled(), LocationRef::default());
    let units: f32 = text
        .chars()
        .map(|c| charmap.map(c).and_then(|glyph| advances.advance_width(glyph)).unwrap_or(units_per_em / 2.0))
        .sum();
    units * size / units_per_em
}

/// Greedy word wrap to `max_width`; line breaks in the text are kept, a word wider than the
/// line is cut where it must be, and an empty text is one empty line.
pub fn wrap(text: &str, weight: Weight, size: f32, max_width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
            if text_width(&candidate, weight, size) <= max_width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // The word alone, cut into pieces that fit.
            for c in word.chars() {
                line.push(c);
                if text_width(&line, weight, size) > max_width && line.chars().count() > 1 {
                    let last = line.pop().unwrap_or(c);
                    lines.push(std::mem::take(&mut line));
                    line.push(last);
                }
            }
        }
        lines.push(line);
    }
    lines
}

/// Pages being filled from the top.
struct Layout {
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Layout {
    fn new() -> Self {
        Self { pages: vec![Vec::new()], y: MARGIN }
    }

    fn push(&mut self, op: Op) {
        self.pages.last_mut().expect("a page").push(op);
    }

    fn room(&self) -> f32 {
        CONTENT_BOTTOM - self.y
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }

    /// Starts a new page unless `height` fits on this one (or this one is still empty).
    fn keep(&mut self, height: f32) {
        if height > self.room() && self.y > MARGIN {
            self.new_page();
        }
    }

    fn text(&mut self, x: f32, y: f32, size: f32, weight: Weight, colour: Rgb, text: impl Into<String>) {
        self.push(Op::Text { x, y, size, weight, colour, text: text.into() });
    }

    /// Wrapped text at `x` within `width`, from the current line down; returns its height.
    fn paragraph(&mut self, x: f32, width: f32, size: f32, weight: Weight, colour: Rgb, text: &str) -> f32 {
        let leading = size * 1.3;
        let lines = wrap(text, weight, size, width);
        let height = lines.len() as f32 * leading;
        self.keep(height);
        for (i, line) in lines.into_iter().enumerate() {
            self.text(x, self.y + size + i as f32 * leading, size, weight, colour, line);
        }
        self.y += height;
        height
    }

    fn heading(&mut self, title: &str, following: f32) {
        // A heading never ends a page: it goes with what follows.
        self.keep(20.0 + following);
        self.y += 6.0;
        self.text(MARGIN, self.y + 10.0, 10.5, Weight::Bold, INK, title);
        self.y += 13.0;
        self.push(Op::Line { x1: MARGIN, y1: self.y, x2: PAGE_WIDTH - MARGIN, y2: self.y, colour: RULE, width: 0.6 });
        self.y += 3.0;
    }
}

/// A table: column widths, a header row, rows of cells; cells wrap.
struct Table<'a> {
    x: f32,
    widths: &'a [f32],
    /// Right-aligned columns (numbers).
    numeric: &'a [bool],
    size: f32,
}

impl Table<'_> {
    const PAD: f32 = 3.0;

    fn cell_lines(&self, row: &[String], weight: Weight) -> Vec<Vec<String>> {
        row.iter().zip(self.widths).map(|(cell, w)| wrap(cell, weight, self.size, w - 2.0 * Self::PAD)).collect()
    }

    fn row_height(&self, lines: &[Vec<String>]) -> f32 {
        let most = lines.iter().map(Vec::len).max().unwrap_or(1).max(1);
        most as f32 * self.size * 1.25 + 3.0
    }

    fn draw_row(&self, layout: &mut Layout, lines: &[Vec<String>], weight: Weight, fill: Option<Rgb>) {
        let height = self.row_height(lines);
        let width: f32 = self.widths.iter().sum();
        if let Some(fill) = fill {
            layout.push(Op::Rect { x: self.x, y: layout.y, w: width, h: height, fill: Some(fill), stroke: None });
        }
        let mut x = self.x;
        for ((cell, w), numeric) in lines.iter().zip(self.widths).zip(self.numeric) {
            for (i, line) in cell.iter().enumerate() {
                let tx = if *numeric { x + w - Self::PAD - text_width(line, weight, self.size) } else { x + Self::PAD };
                let ty = layout.y + 1.5 + self.size + i as f32 * self.size * 1.25;
                layout.text(tx, ty, self.size, weight, if weight == Weight::Bold { MUTED } else { INK }, line.clone());
            }
            x += w;
        }
        layout.y += height;
        layout.push(Op::Line {
            x1: self.x,
            y1: layout.y,
            x2: self.x + width,
            y2: layout.y,
            colour: ROW_RULE,
            width: 0.5,
        });
    }

    /// The header row, then the rows; on a new page the header row again.
    fn draw(&self, layout: &mut Layout, header: &[String], rows: &[Vec<String>]) {
        let header_lines = self.cell_lines(header, Weight::Bold);
        let header_height = self.row_height(&header_lines);
        let first = rows.first().map(|r| self.row_height(&self.cell_lines(r, Weight::Regular))).unwrap_or(0.0);
        layout.keep(header_height + first);
        self.draw_row(layout, &header_lines, Weight::Bold, Some(HEAD_FILL));
        for row in rows {
            let lines = self.cell_lines(row, Weight::Regular);
            let height = self.row_height(&lines);
            if height > layout.room() {
                layout.new_page();
                self.draw_row(layout, &header_lines, Weight::Bold, Some(HEAD_FILL));
            }
            self.draw_row(layout, &lines, Weight::Regular, None);
        }
    }

    /// The height the whole table takes when nothing breaks it.
    fn height(&self, header: &[String], rows: &[Vec<String>]) -> f32 {
        self.row_height(&self.cell_lines(header, Weight::Bold))
            + rows.iter().map(|r| self.row_height(&self.cell_lines(r, Weight::Regular))).sum::<f32>()
    }
}

/// A summary number as a card shows it.
struct Card {
    label: String,
    value: String,
    colour: Rgb,
    note: String,
}

fn cards(report: &Report) -> Vec<Card> {
    let s = &report.summary.current;
    let days = (report.to - report.from).num_days() + 1;
    let dash = || "—".to_owned();
    let card = |label: &str, value: String, colour: Rgb, note: String| Card {
        label: label.to_uppercase(),
        value,
        colour,
        note,
    };
    let tone = |v: f64, threshold: f64| {
        if v < -threshold {
            GOOD
        } else if v > threshold {
            BAD
        } else {
            INK
        }
    };
    let mut out = vec![card(
        "Mean worst pain",
        s.mean.map(|m| format!("{} /10", decimal(m))).unwrap_or_else(dash),
        INK,
        format!("median {}", s.median.map(decimal).unwrap_or_else(dash)),
    )];
    out.push(match &report.summary.change {
        Some(change) => card(
            &format!("Change vs previous {days} days"),
            format!("{} pts", signed_decimal(change.points)),
            tone(change.points, 0.0),
            format!(
                "{}{}",
                change.percent.map(|p| format!("{}% · ", signed_decimal(p))).unwrap_or_default(),
                if change.meaningful { "clinically meaningful" } else { "below 2 pts / 30%" }
            ),
        ),
        None => card(&format!("Change vs previous {days} days"), dash(), INK, "no entries before".into()),
    });
    out.push(match s.trend_per_week {
        Some(trend) => card(
            "Trend",
            format!("{} pts/week", signed_decimal(trend)),
            tone(trend, 0.05),
            (if trend < -0.05 {
                "improving"
            } else if trend > 0.05 {
                "worsening"
            } else {
                "flat"
            })
            .into(),
        ),
        None => card("Trend", dash(), INK, "needs two logged days".into()),
    });
    let (best, worst) = (&s.best_day, &s.worst_day);
    out.push(card(
        "Best / worst day",
        format!(
            "{} / {}",
            best.as_ref().map(|d| d.value.to_string()).unwrap_or_else(dash),
            worst.as_ref().map(|d| d.value.to_string()).unwrap_or_else(dash)
        ),
        INK,
        match (best, worst) {
            (Some(b), Some(w)) => format!("{} / {}", short(b.date), short(w.date)),
            _ => String::new(),
        },
    ));
    out.push(card("Days logged", format!("{} of {days}", s.logged_days), INK, format!("{} entries", s.entries)));
    out.push(match report.baseline {
        Some(band) => card(
            "Usual range",
            format!("{}–{}", decimal(band.low), decimal(band.high)),
            INK,
            format!("middle half of daily worst, {}–{}", short(band.from), short(band.to)),
        ),
        None => card("Usual range", dash(), INK, "too few days logged".into()),
    });
    let done: u32 = report.sessions.iter().map(|x| x.done).sum();
    let due: u32 = report.sessions.iter().map(|x| x.done + x.skipped + x.missed).sum();
    out.push(card(
        "Massage sessions",
        report.sessions.len().to_string(),
        INK,
        if due > 0 { format!("aftercare {done}/{due} steps done") } else { "no aftercare due".into() },
    ));
    out.push(card(
        "Open alerts",
        report.alerts.len().to_string(),
        if report.alerts.is_empty() { INK } else { BAD },
        format!("meaningful change: {MEANINGFUL_POINTS} pts or 30%"),
    ));
    out
}

fn tier_colours(tier: Tier) -> (Rgb, Rgb) {
    match tier {
        Tier::Emergency => (Rgb(0xb0, 0x00, 0x20), Rgb(0xfe, 0xf2, 0xf2)),
        Tier::Urgent => (Rgb(0xc2, 0x41, 0x0c), Rgb(0xff, 0xf7, 0xed)),
        Tier::SeePhysio | Tier::TherapistFollowup => (Rgb(0xa1, 0x62, 0x07), Rgb(0xff, 0xfb, 0xeb)),
    }
}

const FOOTNOTE: &str = "Patient-reported pain on the 0–10 numeric rating scale; \"worst\" is the highest rating of a \
                        day. Meaningful change: 2 points or 30% (Farrar et al., Pain 2001); Roland-Morris 5 points \
                        (Ostelo et al., Spine 2008). Alerts are guidance from the patient's entries, not a diagnosis. \
                        Made with Aftercare.";

/// The report laid out on pages.
pub fn layout(report: &Report) -> Vec<Vec<Op>> {
    let mut l = Layout::new();
    let name = report.patient_name.clone().unwrap_or_else(|| "Patient".to_owned());

    // Who and when.
    l.text(MARGIN, l.y + 15.0, 15.0, Weight::Bold, INK, format!("Back pain report: {name}"));
    l.y += 21.0;
    l.text(MARGIN, l.y + 10.0, 10.0, Weight::Regular, INK, range(report.from, report.to));
    l.y += 13.0;
    let meta =
        format!("Generated {} · time zone {} · {}", long_date(report.generated_on), report.time_zone, audience(report));
    l.paragraph(MARGIN, CONTENT_WIDTH, 8.0, Weight::Regular, MUTED, &meta);
    l.y += 3.0;
    l.push(Op::Line { x1: MARGIN, y1: l.y, x2: PAGE_WIDTH - MARGIN, y2: l.y, colour: INK, width: 1.5 });
    l.y += 7.0;

    // The summary numbers, four to a row.
    let gap = 6.0;
    let card_width = (CONTENT_WIDTH - 3.0 * gap) / 4.0;
    let card_height = 40.0;
    for (row, four) in cards(report).chunks(4).enumerate() {
        let top = l.y + row as f32 * (card_height + gap);
        for (i, card) in four.iter().enumerate() {
            let x = MARGIN + i as f32 * (card_width + gap);
            l.push(Op::Rect { x, y: top, w: card_width, h: card_height, fill: None, stroke: Some(RULE) });
            l.text(x + 5.0, top + 9.0, 6.3, Weight::Regular, FAINT, card.label.clone());
            l.text(x + 5.0, top + 21.5, 11.5, Weight::Bold, card.colour, card.value.clone());
            for (j, line) in wrap(&card.note, Weight::Regular, 6.5, card_width - 10.0).into_iter().take(2).enumerate() {
                l.text(x + 5.0, top + 29.5 + j as f32 * 7.6, 6.5, Weight::Regular, MUTED, line);
            }
        }
    }
    l.y += 2.0 * card_height + gap + 4.0;

    // The chart, as drawn for the HTML page.
    let chart_height = CHART_WIDTH * (chart::HEIGHT / chart::WIDTH) as f32;
    l.keep(chart_height);
    l.push(Op::Chart { x: MARGIN + (CONTENT_WIDTH - CHART_WIDTH) / 2.0, y: l.y, w: CHART_WIDTH, h: chart_height });
    l.y += chart_height;

    // Open alerts, each kept whole.
    if !report.alerts.is_empty() {
        l.heading("Open alerts", 30.0);
        for alert in &report.alerts {
            let (edge, fill) = tier_colours(alert.tier);
            let title = format!(
                "{} — {}, since {}{}",
                alert.title(),
                tier_words(alert.tier),
                long_date(alert.opened_on),
                if alert.acknowledged { " (seen by the patient)" } else { "" }
            );
            let inner = CONTENT_WIDTH - 12.0;
            let title_lines = wrap(&title, Weight::Bold, 8.5, inner);
            let body_lines = wrap(alert.explanation.trim(), Weight::Regular, 7.5, inner);
            let height = title_lines.len() as f32 * 11.0 + body_lines.len() as f32 * 9.5 + 7.0;
            l.keep(height + 4.0);
            l.y += 3.0;
            l.push(Op::Rect { x: MARGIN, y: l.y, w: CONTENT_WIDTH, h: height, fill: Some(fill), stroke: None });
            l.push(Op::Rect { x: MARGIN, y: l.y, w: 3.5, h: height, fill: Some(edge), stroke: None });
            let mut y = l.y + 3.0;
            for line in title_lines {
                l.text(MARGIN + 8.0, y + 8.5, 8.5, Weight::Bold, INK, line);
                y += 11.0;
            }
            for line in body_lines {
                l.text(MARGIN + 8.0, y + 7.5, 7.5, Weight::Regular, INK, line);
                y += 9.5;
            }
            l.y += height + 1.0;
        }
    }

    // Sessions.
    l.heading("Massage sessions and aftercare", 24.0);
    if report.sessions.is_empty() {
        l.paragraph(MARGIN, CONTENT_WIDTH, 8.0, Weight::Regular, FAINT, "No massage sessions in this period.");
    } else {
        let table = Table {
            x: MARGIN,
            widths: &[60.0, 96.0, 26.0, 62.0, 72.0, CONTENT_WIDTH - 316.0],
            numeric: &[false, false, true, false, false, false],
            size: 7.5,
        };
        let header: Vec<String> = ["Date", "Type", "Min", "Pain before → after", "Aftercare", "Soreness check-ins"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        let rows: Vec<Vec<String>> = report
            .sessions
            .iter()
            .map(|s| {
                vec![
                    short(s.date),
                    s.kind.label().to_owned(),
                    s.duration_minutes.to_string(),
                    pain_pair(s),
                    adherence(s),
                    check_ins(s),
                ]
            })
            .collect();
        table.draw(&mut l, &header, &rows);
    }

    // Questionnaires and symptoms: side by side when both fit, else one after the other.
    let half = (CONTENT_WIDTH - 14.0) / 2.0;
    let questionnaire_tables: Vec<(Vec<String>, Vec<Vec<String>>)> = report
        .questionnaires
        .iter()
        .map(|series| {
            let mut rows: Vec<Vec<String>> =
                series.scores.iter().map(|(date, score)| vec![short(*date), decimal(*score)]).collect();
            if let Some((points, meaningful)) = series.change() {
                let mut change = signed_decimal(points);
                if meaningful {
                    change.push_str(&format!(" (meaningful: ≥ {})", series.kind.meaningful_change()));
                }
                rows.push(vec!["Change, first to latest".to_owned(), change]);
            }
            (vec![series.kind.label().to_owned(), "Score".to_owned()], rows)
        })
        .collect();
    let symptom_header: Vec<String> = ["Symptom", "Days", "First – last"].into_iter().map(str::to_owned).collect();
    let symptom_rows: Vec<Vec<String>> = report
        .symptoms
        .iter()
        .map(|line| {
            let when = if line.last != line.first {
                format!("{} – {}", short(line.first), short(line.last))
            } else {
                short(line.first)
            };
            vec![line.words().to_owned(), line.days.to_string(), when]
        })
        .collect();
    let q_widths = |width: f32| [width - 110.0, 110.0];
    let s_widths = |width: f32| [width - 150.0, 30.0, 120.0];
    let column_height = |width: f32| {
        let q: f32 = questionnaire_tables
            .iter()
            .map(|(h, r)| {
                Table { x: 0.0, widths: &q_widths(width), numeric: &[false, true], size: 7.5 }.height(h, r) + 4.0
            })
            .sum::<f32>()
            .max(12.0);
        let s = if symptom_rows.is_empty() {
            12.0
        } else {
            Table { x: 0.0, widths: &s_widths(width), numeric: &[false, true, false], size: 7.5 }
                .height(&symptom_header, &symptom_rows)
        };
        (q, s)
    };
    let (q_half, s_half) = column_height(half);
    let side_by_side = q_half.max(s_half) + 26.0 <= l.room() || l.y <= MARGIN;
    let columns: Vec<(f32, f32)> = if side_by_side {
        vec![(MARGIN, half), (MARGIN + half + 14.0, half)]
    } else {
        vec![(MARGIN, CONTENT_WIDTH); 2]
    };
    let top = l.y;
    let mut bottom = top;
    for (index, (x, width)) in columns.into_iter().enumerate() {
        if side_by_side {
            l.y = top;
        }
        let title = if index == 0 { "Questionnaires" } else { "Symptoms reported" };
        l.keep(40.0);
        l.y += 6.0;
        l.text(x, l.y + 10.0, 10.5, Weight::Bold, INK, title);
        l.y += 13.0;
        l.push(Op::Line { x1: x, y1: l.y, x2: x + width, y2: l.y, colour: RULE, width: 0.6 });
        l.y += 3.0;
        if index == 0 {
            if questionnaire_tables.is_empty() {
                l.paragraph(x, width, 8.0, Weight::Regular, FAINT, "No questionnaires in this period.");
            }
            for (header, rows) in &questionnaire_tables {
                Table { x, widths: &q_widths(width), numeric: &[false, true], size: 7.5 }.draw(&mut l, header, rows);
                l.y += 4.0;
            }
        } else if symptom_rows.is_empty() {
            l.paragraph(x, width, 8.0, Weight::Regular, FAINT, "No symptoms besides pain were reported.");
        } else {
            Table { x, widths: &s_widths(width), numeric: &[false, true, false], size: 7.5 }.draw(
                &mut l,
                &symptom_header,
                &symptom_rows,
            );
        }
        bottom = bottom.max(l.y);
    }
    if side_by_side {
        l.y = bottom;
    }

    // The notes on method.
    l.y += 6.0;
    let lines = wrap(FOOTNOTE, Weight::Regular, 6.8, CONTENT_WIDTH);
    l.keep(lines.len() as f32 * 8.5 + 4.0);
    l.push(Op::Line { x1: MARGIN, y1: l.y, x2: PAGE_WIDTH - MARGIN, y2: l.y, colour: RULE, width: 0.5 });
    l.y += 2.0;
    l.paragraph(MARGIN, CONTENT_WIDTH, 6.8, Weight::Regular, FAINT, FOOTNOTE);

    // Every page says whose report it is and where it stands.
    let count = l.pages.len();
    let running = format!("{name} · {}", range(report.from, report.to));
    for (i, page) in l.pages.iter_mut().enumerate() {
        let y = PAGE_HEIGHT - MARGIN + 4.0;
        page.push(Op::Text { x: MARGIN, y, size: 7.0, weight: Weight::Regular, colour: FAINT, text: running.clone() });
        let number = format!("Page {} of {count}", i + 1);
        let x = PAGE_WIDTH - MARGIN - text_width(&number, Weight::Regular, 7.0);
        page.push(Op::Text { x, y, size: 7.0, weight: Weight::Regular, colour: FAINT, text: number });
    }
    l.pages
}

/// usvg options that know only the embedded font, whatever the SVG asks for, so the chart looks
/// the same on every machine and its text can be embedded.
fn svg_options() -> usvg::Options<'static> {
    let mut options = usvg::Options { font_family: FAMILY.to_owned(), ..usvg::Options::default() };
    let db = options.fontdb_mut();
    db.load_font_data(REGULAR.to_vec());
    db.load_font_data(BOLD.to_vec());
    db.set_sans_serif_family(FAMILY);
    db.set_serif_family(FAMILY);
    db.set_monospace_family(FAMILY);
    db.set_cursive_family(FAMILY);
    db.set_fantasy_family(FAMILY);
    options
}

static SVG_OPTIONS: LazyLock<usvg::Options<'static>> = LazyLock::new(svg_options);

/// The chart's SVG as a usvg tree at its own size (the page scales it).
pub fn chart_tree(svg: &str) -> Result<usvg::Tree, usvg::Error> {
    let sized = svg.replacen(r#"width="100%""#, &format!(r#"width="{}" height="{}""#, chart::WIDTH, chart::HEIGHT), 1);
    usvg::Tree::from_str(&sized, &SVG_OPTIONS)
}

fn colour(c: Rgb) -> krilla::paint::Paint {
    rgb::Color::new(c.0, c.1, c.2).into()
}

fn fill(c: Rgb) -> Fill {
    Fill { paint: colour(c), opacity: NormalizedF32::ONE, rule: FillRule::NonZero }
}

/// The report as a PDF document.
pub fn render(report: &Report) -> anyhow::Result<Vec<u8>> {
    let pages = layout(report);
    let tree = chart_tree(&report.chart_svg)?;
    let regular = Font::new(Data::from(REGULAR), 0).ok_or_else(|| anyhow::anyhow!("the regular font"))?;
    let bold = Font::new(Data::from(BOLD), 0).ok_or_else(|| anyhow::anyhow!("the bold font"))?;
    let name = report.patient_name.clone().unwrap_or_else(|| "Patient".to_owned());
    let mut document = Document::new();
    let generated = report.generated_at;
    use chrono::{Datelike as _, Timelike as _};
    document.set_metadata(
        Metadata::new()
            .title(format!("Back pain report: {name}, {}", range(report.from, report.to)))
            .language("en".to_owned())
            .creator("Aftercare".to_owned())
            .creation_date(
                krilla::metadata::DateTime::new(generated.year() as u16)
                    .month(generated.month() as u8)
                    .day(generated.day() as u8)
                    .hour(generated.hour() as u8)
                    .minute(generated.minute() as u8)
                    .second(generated.second() as u8),
            ),
    );
    let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).ok_or_else(|| anyhow::anyhow!("page size"))?;
    for ops in pages {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        for op in ops {
            match op {
                Op::Text { x, y, size, weight, colour: c, text } => {
                    surface.set_stroke(None);
                    surface.set_fill(Some(fill(c)));
                    let font = if weight == Weight::Bold { bold.clone() } else { regular.clone() };
                    surface.draw_text(Point::from_xy(x, y), font, size, &text, false, TextDirection::Auto);
                }
                Op::Rect { x, y, w, h, fill: inside, stroke } => {
                    let Some(rect) = Rect::from_xywh(x, y, w, h) else { continue };
                    let mut builder = PathBuilder::new();
                    builder.push_rect(rect);
                    let Some(path) = builder.finish() else { continue };
                    surface.set_fill(inside.map(fill));
                    surface.set_stroke(stroke.map(|c| Stroke { paint: colour(c), width: 0.7, ..Stroke::default() }));
                    surface.draw_path(&path);
                }
                Op::Line { x1, y1, x2, y2, colour: c, width } => {
                    let mut builder = PathBuilder::new();
                    builder.move_to(x1, y1);
                    builder.line_to(x2, y2);
                    let Some(path) = builder.finish() else { continue };
                    surface.set_fill(None);
                    surface.set_stroke(Some(Stroke { paint: colour(c), width, ..Stroke::default() }));
                    surface.draw_path(&path);
                }
                Op::Chart { x, y, w, h } => {
                    let size = Size::from_wh(w, h).ok_or_else(|| anyhow::anyhow!("chart size"))?;
                    surface.push_transform(&Transform::from_translate(x, y));
                    surface.draw_svg(&tree, size, SvgSettings::default());
                    surface.pop();
                }
            }
        }
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| anyhow::anyhow!("writing the PDF: {e:?}"))
}

/// The chart alone as a PNG, `scale` times its drawing size (640 × 336 at 1).
pub fn chart_png(svg: &str, scale: f32) -> anyhow::Result<Vec<u8>> {
    let tree = chart_tree(svg)?;
    let size = tree.size().to_int_size().scale_by(scale).ok_or_else(|| anyhow::anyhow!("chart size"))?;
    let mut pixmap =
        resvg::tiny_skia::Pixmap::new(size.width(), size.height()).ok_or_else(|| anyhow::anyhow!("chart pixmap"))?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(&tree, resvg::tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    Ok(pixmap.encode_png()?)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::{DateTime, Days, NaiveDate, Utc};

    use super::*;
    use crate::domain::alerts::RuleId;
    use crate::domain::journal::Symptom;
    use crate::domain::massage::SessionKind;
    use crate::domain::report::{self, AlertLine, Audience, CheckInLine, QuestionnaireKind, ReportInput, SessionLine};
    use crate::domain::rollup::DailyRollup;

    fn date(d: &str) -> NaiveDate {
        d.parse().unwrap()
    }

    const EXPLANATION: &str = "Daily worst pain was 6 or more on 12 of the last 14 days (2 Nov 2026 to 15 Nov 2026), \
                               above the usual range of 3.0 to 5.0.\nBook an appointment with a physiotherapist \
                               within a week; bring this report.\nSource: NICE NG59 (2016, updated 2020).";

    /// `days` of journal up to 30 Nov 2026 with a session every `every` days and two alerts.
    fn report_of(days: u64, every: usize) -> Report {
        let to = date("2026-11-30");
        let from = to - Days::new(days - 1);
        let rollups: Vec<DailyRollup> = from
            .iter_days()
            .take(days as usize)
            .enumerate()
            .map(|(i, d)| DailyRollup {
                date: d,
                max: 3 + (i % 5) as u8,
                mean: 2.5 + (i % 5) as f64,
                last: 3,
                count: 2,
                symptoms: if i % 9 == 0 { BTreeSet::from([Symptom::TinglingLeftLeg]) } else { BTreeSet::new() },
            })
            .collect();
        let sessions: Vec<SessionLine> = from
            .iter_days()
            .take(days as usize)
            .enumerate()
            .filter(|(i, _)| i % every == 2)
            .map(|(_, d)| SessionLine {
                date: d,
                kind: SessionKind::DeepTissue,
                duration_minutes: 60,
                pain_before: Some(6),
                pain_after: Some(3),
                done: 3,
                skipped: 1,
                missed: 0,
                check_ins: vec![
                    CheckInLine { hours_after: 24, soreness: Some(4), leg_swelling: false },
                    CheckInLine { hours_after: 48, soreness: None, leg_swelling: false },
                ],
            })
            .collect();
        let alert = |rule, tier, on: &str| AlertLine {
            opened_on: date(on),
            rule,
            tier,
            acknowledged: false,
            resolved: false,
            explanation: EXPLANATION.to_owned(),
        };
        let generated_at: DateTime<Utc> = "2026-12-01T09:00:00Z".parse().unwrap();
        report::build(ReportInput {
            patient_name: Some("Ana Lindqvist".into()),
            time_zone: "Europe/Berlin".into(),
            from,
            to,
            generated_at,
            generated_on: date("2026-12-01"),
            audience: Audience::Therapist(Some("Jonas".into())),
            days: rollups,
            sessions,
            questionnaires: (0..(days / 14).max(1))
                .flat_map(|i| {
                    let on = from + Days::new(i * 14);
                    [(QuestionnaireKind::Peg, on, 6.0 - i as f64 * 0.1), (QuestionnaireKind::RolandMorris, on, 12.0)]
                })
                .collect(),
            alerts: vec![
                alert(RuleId::Persistent, Tier::SeePhysio, "2026-11-15"),
                alert(RuleId::Fever, Tier::Urgent, "2026-11-29"),
            ],
        })
    }

    fn texts(page: &[Op]) -> Vec<&str> {
        page.iter()
            .filter_map(|op| match op {
                Op::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Everything stays on the paper, and the content above the footer line.
    fn within_the_page(pages: &[Vec<Op>]) {
        for page in pages {
            let footer = page.len() - 2;
            for (i, op) in page.iter().enumerate() {
                let (left, top, right, bottom) = match op {
                    Op::Text { x, y, size, weight, text, .. } => {
                        (*x, y - size, x + text_width(text, *weight, *size), *y + size * 0.25)
                    }
                    Op::Rect { x, y, w, h, .. } | Op::Chart { x, y, w, h } => (*x, *y, x + w, y + h),
                    Op::Line { x1, y1, x2, y2, .. } => (x1.min(*x2), y1.min(*y2), x1.max(*x2), y1.max(*y2)),
                };
                assert!(left >= MARGIN - 0.01 && right <= PAGE_WIDTH - MARGIN + 0.01, "{op:?}");
                assert!(top >= MARGIN - 12.0, "{op:?}");
                let limit = if i >= footer { PAGE_HEIGHT - MARGIN + 8.0 } else { CONTENT_BOTTOM + 3.0 };
                assert!(bottom <= limit, "{op:?} below {limit}");
            }
        }
    }

    #[test]
    fn wrapping_keeps_words_and_line_breaks() {
        let lines = wrap(
            "one two three four five six",
            Weight::Regular,
            10.0,
            text_width("one two three", Weight::Regular, 10.0),
        );
        assert_eq!(lines, ["one two three", "four five six"]);
        assert_eq!(wrap("first\nsecond", Weight::Regular, 10.0, 500.0), ["first", "second"]);
        assert_eq!(wrap("", Weight::Regular, 10.0, 500.0), [""]);
        let long = "x".repeat(60);
        let pieces = wrap(&long, Weight::Bold, 10.0, 100.0);
        assert!(pieces.len() > 1 && pieces.concat() == long, "{pieces:?}");
        assert!(pieces.iter().all(|p| text_width(p, Weight::Bold, 10.0) <= 100.0));
        // Bold is wider than regular, and the size scales the width.
        assert!(text_width("Pain", Weight::Bold, 10.0) > text_width("Pain", Weight::Regular, 10.0));
        assert!(
            (text_width("Pain", Weight::Regular, 20.0) - 2.0 * text_width("Pain", Weight::Regular, 10.0)).abs() < 1e-3
        );
    }

    #[test]
    fn a_month_fits_one_page_and_a_year_flows_onto_more() {
        let month = layout(&report_of(30, 7));
        assert_eq!(month.len(), 1, "{:?}", texts(&month[month.len() - 1]));
        within_the_page(&month);
        let all = texts(&month[0]);
        for expected in [
            "Back pain report: Ana Lindqvist",
            "Open alerts",
            "Massage sessions and aftercare",
            "Questionnaires",
            "Symptoms reported",
            "Page 1 of 1",
        ] {
            assert!(all.contains(&expected), "{expected} in {all:?}");
        }
        assert_eq!(month[0].iter().filter(|op| matches!(op, Op::Chart { .. })).count(), 1);

        let year = layout(&report_of(365, 10));
        assert!(year.len() > 1);
        within_the_page(&year);
        let count = year.len();
        for (i, page) in year.iter().enumerate() {
            assert!(texts(page).contains(&format!("Page {} of {count}", i + 1).as_str()));
        }
        // The sessions' table repeats its header on the page it continues on.
        let headed = year.iter().filter(|page| texts(page).contains(&"Type")).count();
        let with_sessions = year.iter().filter(|page| texts(page).iter().any(|t| t.contains("Deep tissue"))).count();
        assert_eq!(headed, with_sessions);
    }

    #[test]
    fn the_pdf_is_a_pdf_with_the_font_embedded() {
        let bytes = render(&report_of(3, 2)).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("/FontFile2"), "a TrueType font program is embedded");
        assert!(text.contains("DejaVuSans"));
    }

    #[test]
    fn the_chart_rasterises() {
        let png = chart_png(&report_of(30, 7).chart_svg, 2.0).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        // 1280 × 672: the width and height in the header.
        assert_eq!(&png[16..24], &[0, 0, 5, 0, 0, 0, 2, 160]);
    }
}
