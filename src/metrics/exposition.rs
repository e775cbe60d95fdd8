//! The Prometheus text exposition format (version 0.0.4): `# HELP` and
//! `# TYPE` lines, then one sample per line, `name{label="value",…} number`.
//!
//! In a label value a backslash, a double quote and a line feed are written
//! `\\`, `\"` and `\n`; in HELP text a backslash and a line feed are. Nothing
//! else needs escaping, and every value here is UTF-8 already.

use super::series::{Series, Snapshot};
use crate::sources::health::Health;
use std::fmt::Write;

/// The response's `Content-Type`.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `value` as a label value between double quotes.
pub fn escape_label_value(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// `text` as the docstring of a `# HELP` line.
pub fn escape_help(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A metric family's `# HELP` and `# TYPE` lines.
fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = write!(out, "# HELP {name} ");
    escape_help(help, out);
    let _ = writeln!(out, "\n# TYPE {name} {kind}");
}

/// One sample: `name{l1="v1",…} value`.
fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (label, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{label}=\"");
            escape_label_value(v, out);
            out.push('"');
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Every metric: the denial counters, the overflow, and each source's counts.
pub fn render(denials: &Snapshot, sources: &[Health]) -> String {
    let mut out = String::with_capacity(256 + denials.series.len() * 160);
    header(
        &mut out,
        "eperm_denials_total",
        "counter",
        "Calls the profile would deny (or, softened, logged instead), by pod, container, syscall, arch and the profile's action.",
    );
    for (series, n) in &denials.series {
        let values = series.values();
        let labels: Vec<(&str, &str)> = Series::LABELS.into_iter().zip(values).collect();
        sample(&mut out, "eperm_denials_total", &labels, *n);
    }
    header(
        &mut out,
        "eperm_series_overflow_total",
        "counter",
        &format!(
            "Calls not counted in eperm_denials_total because it had reached its cap of {} series (--metrics-max-series).",
            denials.max
        ),
    );
    sample(
        &mut out,
        "eperm_series_overflow_total",
        &[],
        denials.overflow,
    );
    render_sources(&mut out, sources);
    out
}

/// A metric family of the sources: name, type, help, and its value for one source.
type SourceFamily = (&'static str, &'static str, &'static str, fn(&Health) -> u64);

/// Each kernel log source: up or not, what it received, what it knows it lost.
fn render_sources(out: &mut String, sources: &[Health]) {
    let families: [SourceFamily; 3] = [
        (
            "eperm_source_up",
            "gauge",
            "Whether the kernel log source is reading (1) or unavailable (0).",
            |h| u64::from(h.is_active()),
        ),
        (
            "eperm_source_received_total",
            "counter",
            "Seccomp records the kernel log source read, from the whole machine.",
            |h| h.received,
        ),
        (
            "eperm_source_lost_total",
            "counter",
            "Records the kernel log source knows it missed (for kmsg, at least this many).",
            |h| h.lost,
        ),
    ];
    for (name, kind, help, value) in families {
        header(out, name, kind, help);
        for h in sources {
            sample(out, name, &[("source", h.source.name())], value(h));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::event::Source;
    use std::sync::Arc;

    #[test]
    fn label_values_escape_backslash_quote_and_line_feed_only() {
        let mut out = String::new();
        escape_label_value("a\\b\"c\nd\te\u{1b}é", &mut out);
        assert_eq!(out, "a\\\\b\\\"c\\nd\te\u{1b}é");
        let mut out = String::new();
        escape_help("a\\b\"c\nd", &mut out);
        assert_eq!(out, "a\\\\b\"c\\nd");
    }

    /// A pod name that tries to close its label and forge a sample stays one
    /// label value on one line.
    #[test]
    fn a_hostile_label_value_cannot_forge_a_sample() {
        let series = Series {
            namespace: "ns\"} 1\neperm_denials_total{pod=\"forged".into(),
            pod: "p\\".into(),
            container: String::new(),
            syscall: "mkdir".into(),
            arch: "x86_64".into(),
            action: "SCMP_ACT_ERRNO".into(),
        };
        let snapshot = Snapshot {
            series: vec![(Arc::new(series), 3)],
            overflow: 0,
            max: 10,
        };
        let text = render(&snapshot, &[]);
        let samples: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("eperm_denials_total"))
            .collect();
        assert_eq!(
            samples,
            [concat!(
                r#"eperm_denials_total{namespace="ns\"} 1\neperm_denials_total{pod=\"forged","#,
                r#"pod="p\\",container="",syscall="mkdir",arch="x86_64",action="SCMP_ACT_ERRNO"} 3"#
            )]
        );
    }

    #[test]
    fn every_family_has_help_and_type_and_the_sources_their_counts() {
        let mut audit = Health::new(Source::Audit);
        audit.received = 12;
        audit.lost = 2;
        let kmsg = Health::unavailable(Source::Kmsg, "no".into());
        let text = render(
            &Snapshot {
                series: Vec::new(),
                overflow: 4,
                max: 7,
            },
            &[audit, kmsg],
        );
        let expected = "\
# HELP eperm_denials_total Calls the profile would deny (or, softened, logged instead), by pod, container, syscall, arch and the profile's action.
# TYPE eperm_denials_total counter
# HELP eperm_series_overflow_total Calls not counted in eperm_denials_total because it had reached its cap of 7 series (--metrics-max-series).
# TYPE eperm_series_overflow_total counter
eperm_series_overflow_total 4
# HELP eperm_source_up Whether the kernel log source is reading (1) or unavailable (0).
# TYPE eperm_source_up gauge
eperm_source_up{source=\"audit\"} 1
eperm_source_up{source=\"kmsg\"} 0
# HELP eperm_source_received_total Seccomp records the kernel log source read, from the whole machine.
# TYPE eperm_source_received_total counter
eperm_source_received_total{source=\"audit\"} 12
eperm_source_received_total{source=\"kmsg\"} 0
# HELP eperm_source_lost_total Records the kernel log source knows it missed (for kmsg, at least this many).
# TYPE eperm_source_lost_total counter
eperm_source_lost_total{source=\"audit\"} 2
eperm_source_lost_total{source=\"kmsg\"} 0
";
        assert_eq!(text, expected);
    }
}
