//! `eperm man [SUBCOMMAND]`: roff man pages from the command-line definition,
//! so they cannot drift from `--help`; what clap does not know (exit status,
//! examples) is added here.

use crate::cli::{Cli, ManArgs};
use crate::error::{Error, EXIT_OK};
use clap::CommandFactory;
use roff::{bold, roman, Roff};
use std::io::{self, Write};

pub fn run(args: &ManArgs) -> Result<u8, Error> {
    let page = page(args.subcommand.as_deref())?;
    super::to_stdout(|out| page.write(out))?;
    Ok(EXIT_OK)
}

/// One man page: the command it documents and the name it goes by.
pub struct Page {
    command: clap::Command,
    /// `None` for eperm(1) itself.
    subcommand: Option<String>,
}

/// The page of `subcommand`, or eperm(1); an unknown name is bad input.
pub fn page(subcommand: Option<&str>) -> Result<Page, Error> {
    let mut top = Cli::command();
    top.build();
    let Some(name) = subcommand else {
        return Ok(Page {
            command: top,
            subcommand: None,
        });
    };
    let Some(sub) = top.find_subcommand(name) else {
        return Err(Error::bad_input(format!(
            "man: no subcommand {name:?}\n  hint: one of {}",
            subcommands().join(", ")
        )));
    };
    let command = sub
        .clone()
        .name(format!("eperm-{name}"))
        .bin_name(format!("eperm {name}"));
    Ok(Page {
        command,
        subcommand: Some(name.to_string()),
    })
}

/// Every subcommand that has a page (all but clap's `help`).
pub fn subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|name| name != "help")
        .collect()
}

impl Page {
    /// The page in roff, ASCII only: other characters as groff's `\[uXXXX]`,
    /// so that troff reads it the same whatever input encoding it assumes.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut page = Vec::new();
        self.render(&mut page)?;
        let page = String::from_utf8_lossy(&page);
        // Each section rendered on its own repeats roff's preamble: keep the first.
        let mut seen = std::collections::HashSet::new();
        for line in page.lines() {
            let preamble = line.starts_with(".ie \\n(.g") || line.starts_with(".el .ds Aq");
            if preamble && !seen.insert(line) {
                continue;
            }
            for c in line.chars() {
                if c.is_ascii() {
                    write!(out, "{c}")?;
                } else {
                    write!(out, "\\[u{:04X}]", c as u32)?;
                }
            }
            writeln!(out)?;
        }
        Ok(())
    }

    fn render(&self, out: &mut dyn Write) -> io::Result<()> {
        let man = clap_mangen::Man::new(self.command.clone())
            .section("1")
            .manual("eperm manual")
            .source(format!("eperm {}", env!("CARGO_PKG_VERSION")));
        man.render_title(out)?;
        man.render_name_section(out)?;
        man.render_synopsis_section(out)?;
        man.render_description_section(out)?;
        if self.command.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(out)?;
        }
        if self.subcommand.is_none() {
            man.render_subcommands_section(out)?;
        }
        let mut roff = Roff::new();
        exit_status(&mut roff, self.subcommand.as_deref());
        examples(&mut roff, self.subcommand.as_deref());
        see_also(&mut roff, self.subcommand.as_deref());
        roff.to_writer(out)
    }
}

/// The exit codes of docs/architecture.md ("Contracts"), per command.
fn exit_status(roff: &mut Roff, subcommand: Option<&str>) {
    roff.control("SH", ["EXIT STATUS"]);
    let runs_workload = matches!(
        subcommand,
        None | Some("run" | "docker" | "oci" | "record" | "tighten")
    );
    let codes: &[(&str, &str)] = match subcommand {
        Some("check") => &[
            (
                "0",
                "the profile has no errors (warnings and notes may remain)",
            ),
            (
                "1",
                "the profile has errors: a runtime would refuse it or could not start a container under it (or, with --baseline, it is looser than BASE)",
            ),
            ("2", "bad usage, or a profile that cannot be read or parsed"),
        ],
        Some("diff") => &[
            ("0", "every verdict is the same"),
            ("1", "some call is decided differently"),
            ("2", "bad usage, or a profile that cannot be read or parsed"),
        ],
        Some("rebase") => &[
            ("0", "every change was carried or is already in NEW"),
            ("1", "conflicts are left for you to decide (the result is written)"),
            ("2", "bad usage, a profile that cannot be read, or OUT is an input"),
        ],
        Some("watch") => &[
            ("0", "success: stopped by SIGINT or SIGTERM, or the terminal interface quit"),
            (
                "1",
                "no kernel log source could be started (e.g. not root), or eperm failed (a kernel mechanism, standard output)",
            ),
            (
                "2",
                "bad usage or bad input: a profile that cannot be read, or a --metrics ADDR that is not an IP and port or cannot be listened on (in use, not this machine's, below 1024 without root)",
            ),
        ],
        Some("run") | None => &[
            ("0", "success"),
            (
                "1",
                "eperm failed (a kernel mechanism, a file it had to write)",
            ),
            ("2", "bad usage or bad input"),
        ],
        _ => &[
            ("0", "success"),
            (
                "1",
                "findings, or eperm failed (a kernel mechanism, a file it had to write)",
            ),
            ("2", "bad usage or bad input"),
        ],
    };
    for (code, meaning) in codes {
        roff.control("TP", [])
            .text([bold(*code)])
            .text([roman(*meaning)]);
    }
    if runs_workload {
        roff.control("PP", []).text([roman(
            "eperm run (and a container run without -o) exits with the workload's status: \
             128+N when a signal N killed it, 127 when the command was not found.",
        )]);
    }
    roff.control("PP", []).text([roman(
        "A bad profile is reported as file:line:column: error[code]: json.path: message, \
         followed by a hint.",
    )]);
}

/// The examples of every page, in a file of their own: a `[subcommand]`
/// heading, then each command with what it does indented below it.
const EXAMPLES: &str = include_str!("man-examples.txt");

/// A few commands that show what the subcommand is for.
fn examples(roff: &mut Roff, subcommand: Option<&str>) {
    let heading = format!("[{}]", subcommand.unwrap_or("run"));
    let mut lines = EXAMPLES
        .lines()
        .skip_while(|l| *l != heading)
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .filter(|l| !l.is_empty());
    let mut pairs = Vec::new();
    while let (Some(command), Some(what)) = (lines.next(), lines.next()) {
        pairs.push((command, what.trim()));
    }
    if pairs.is_empty() {
        return;
    }
    roff.control("SH", ["EXAMPLES"]);
    for (command, what) in pairs {
        roff.control("TP", [])
            .text([bold(command)])
            .text([roman(what)]);
    }
}

fn see_also(roff: &mut Roff, subcommand: Option<&str>) {
    roff.control("SH", ["SEE ALSO"]);
    let mut pages: Vec<String> = match subcommand {
        None => subcommands()
            .iter()
            .map(|s| format!("eperm-{s}(1)"))
            .collect(),
        Some(_) => vec!["eperm(1)".to_string()],
    };
    pages.extend(["seccomp(2)".to_string(), "seccomp_unotify(2)".to_string()]);
    roff.text([roman(pages.join(", "))]);
}
