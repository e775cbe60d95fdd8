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
            ("1", "the profile has errors: a runtime would refuse it"),
            ("2", "bad usage, or a profile that cannot be read or parsed"),
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

/// A few commands that show what the subcommand is for.
fn examples(roff: &mut Roff, subcommand: Option<&str>) {
    let examples: &[(&str, &str)] = match subcommand {
        None | Some("run") => &[
            (
                "eperm run -- ls /",
                "run ls under the embedded default profile and show what it would deny",
            ),
            (
                "eperm run -p profile.json --no-tui -- make test",
                "the same without the interface: a summary on stderr at the end",
            ),
            (
                "eperm run -p profile.json --enforce -- ./server",
                "reproduce the real failure, with each denial explained",
            ),
            (
                "eperm run -p profile.json --no-tui --report triage.md -- make test",
                "a Markdown triage report to attach to an issue",
            ),
        ],
        Some("check") => &[
            (
                "eperm check profile.json",
                "errors and warnings for this host",
            ),
            (
                "eperm default | eperm check -",
                "check a profile read from standard input",
            ),
            (
                "eperm check --arch aarch64 --json profile.json",
                "for another architecture, as JSON",
            ),
        ],
        Some("edit") => &[
            (
                "eperm edit profile.json --allow mkdir,rmdir",
                "allow two syscalls with the smallest diff",
            ),
            (
                "eperm edit profile.json --deny clone3:ENOSYS --dry-run",
                "print the diff that would make clone3 fail with ENOSYS",
            ),
        ],
        Some("default") => &[(
            "eperm default > profile.json",
            "start a profile of your own from the embedded default",
        )],
        Some("compile") => &[
            (
                "eperm compile profile.json --disasm",
                "the BPF program, readable",
            ),
            (
                "eperm compile profile.json -o profile.bpf",
                "raw struct sock_filter records",
            ),
            (
                "eperm compile profile.json --stats",
                "instructions and path lengths",
            ),
        ],
        Some("explain") => &[
            (
                "eperm explain profile.json mkdir",
                "what the profile does with mkdir, and which rule decides",
            ),
            (
                "eperm explain profile.json clone CLONE_NEWUSER",
                "the same for one argument vector",
            ),
        ],
        Some("record") => &[
            (
                "eperm record --empty -o ls.json --verify -- ls -la",
                "a profile allowing exactly what ls needed, checked by a second run",
            ),
            (
                "eperm record -p base.json -o app.json -- ./app",
                "base.json plus what ./app needed",
            ),
        ],
        Some("tighten") => &[(
            "eperm tighten -p app.json -o tight.json --runs 3 -- ./app",
            "drop the allowances ./app never used in three runs",
        )],
        Some("watch") => &[
            (
                "eperm watch",
                "every seccomp record of the machine, live (root)",
            ),
            (
                "eperm watch --no-tui --comm nginx -p profile.json",
                "one line per record of nginx, judged against profile.json",
            ),
            (
                "eperm watch --no-tui --json --container 3f2a9c1b",
                "the records of one container (an id prefix or its name), on any node",
            ),
        ],
        Some("import") => &[
            (
                "eperm import --format audit -o app.json /var/log/audit/audit.log",
                "a profile from the audit log's seccomp records",
            ),
            (
                "strace -f -o trace.txt ./app; eperm import --format strace -o app.json trace.txt",
                "a profile from strace's output",
            ),
        ],
        Some("replay") => &[(
            "eperm replay -p profile.json /var/log/audit/audit.log",
            "saved kernel records in the interface, with the deciding rules",
        )],
        Some("docker") => &[
            (
                "eperm docker -- run --rm alpine mkdir /x",
                "a container under the default profile; its would-be denials",
            ),
            (
                "eperm docker -p app.json -o fixed.json -- run --rm app",
                "write app.json plus what the container needed",
            ),
        ],
        Some("podman") => &[
            (
                "eperm podman -- run --rm alpine mkdir /x",
                "a podman container (crun) under the default profile; its would-be denials",
            ),
            (
                "eperm podman --runtime runc -p app.json -o fixed.json -- run --rm app",
                "the same under runc, writing app.json plus what the container needed",
            ),
        ],
        Some("oci") => &[(
            "eperm oci --save ./bundle",
            "run the bundle with runc; save allowances into its config.json",
        )],
        Some("export") => &[
            (
                "eperm export --format spo --name web docker.json > web.yaml",
                "a Docker profile as a Kubernetes SeccompProfile (kubectl apply -f web.yaml)",
            ),
            (
                "eperm export --format docker web.yaml > docker.json",
                "a SeccompProfile as Docker JSON, for --security-opt seccomp=",
            ),
        ],
        Some("merge") => &[(
            "eperm merge -o pod.yaml --format spo api.yaml sidecar.yaml",
            "one profile both containers of a pod run under",
        )],
        Some("completions") => &[
            (
                "eperm completions bash > /etc/bash_completion.d/eperm",
                "bash completion for all users",
            ),
            (
                "eperm completions zsh > \"${fpath[1]}/_eperm\"",
                "zsh completion",
            ),
        ],
        Some("man") => &[(
            "man -l <(eperm man run)",
            "read the page of eperm run without installing it",
        )],
        Some(_) => &[],
    };
    if examples.is_empty() {
        return;
    }
    roff.control("SH", ["EXAMPLES"]);
    for (command, what) in examples {
        roff.control("TP", [])
            .text([bold(*command)])
            .text([roman(*what)]);
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
