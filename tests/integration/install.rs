//! What an installed eperm ships beside the binary: man pages, shell
//! completions, and `check -` for profiles that come down a pipe.

use crate::util::{assert_has, assert_lacks, eperm, run, stderr, stdout};
use clap::CommandFactory;
use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Every subcommand of the real command line (clap's `help` has no page).
fn subcommands() -> Vec<String> {
    eperm::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|name| name != "help")
        .collect()
}

/// Runs `program args` with `input` on its standard input.
fn piped(program: &mut Command, input: &[u8]) -> Output {
    let mut child = program
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program:?}: {e} (tests/run.sh installs it)"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn every_subcommand_has_a_man_page_that_groff_renders_without_warnings() {
    let pages = std::iter::once(None).chain(subcommands().into_iter().map(Some));
    for sub in pages {
        let mut args = vec!["man".to_string()];
        args.extend(sub.clone());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&args);
        assert!(out.status.success(), "eperm {args:?}: {}", stderr(&out));
        let page = stdout(&out);
        let title = match &sub {
            None => ".TH eperm 1".to_string(),
            Some(s) => format!(".TH eperm-{s} 1"),
        };
        assert!(page.contains(&title), "{args:?}: {page:.300}");
        assert_eq!(
            page.matches(".el .ds Aq").count(),
            1,
            "{args:?}: one preamble"
        );
        for section in ["SYNOPSIS", "EXIT STATUS", "EXAMPLES", "SEE ALSO"] {
            assert!(
                page.contains(&format!(".SH \"{section}\""))
                    || page.contains(&format!(".SH {section}")),
                "{args:?} has no {section} section"
            );
        }
        assert!(page.is_ascii(), "{args:?}: troff input should be ASCII");
        // -ww: every warning; -z: no output, so stderr holds only the warnings.
        let groff = piped(
            Command::new("groff").args(["-man", "-Tutf8", "-ww", "-z"]),
            page.as_bytes(),
        );
        assert!(groff.status.success(), "groff failed on {args:?}");
        assert_eq!(stderr(&groff), "", "groff warns on {args:?}");
        // As a user reads it: man formats the page from a file of its own.
        let man = piped(
            Command::new("man")
                .args(["-l", "-"])
                .env("MANPAGER", "cat")
                .env("MANWIDTH", "80"),
            page.as_bytes(),
        );
        assert!(man.status.success(), "man -l {args:?}: {}", stderr(&man));
        assert!(stdout(&man).contains("EXIT STATUS"), "{args:?}");
    }
}

#[test]
fn an_unknown_man_page_is_bad_input_with_the_names_that_exist() {
    let out = run(&["man", "rnu"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_has(&err, "no subcommand \"rnu\"");
    assert_has(&err, "hint: one of check, edit");
}

#[test]
fn completions_name_every_subcommand_in_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for sub in subcommands() {
            assert!(script.contains(&sub), "{shell}: no {sub}");
        }
    }
}

/// Asks bash's completion function what it offers after `line` (a command
/// line ending at the word being completed).
fn bash_completes(line: &str) -> Vec<String> {
    let script = stdout(&run(&["completions", "bash"]));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("eperm.bash");
    std::fs::write(&file, script).unwrap();
    std::fs::write(dir.path().join("p.json"), "{}").unwrap();
    let driver = format!(
        r#"source {file}
COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}
read -ra COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *' ' ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
_eperm eperm "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        file = file.display()
    );
    let out = Command::new("bash")
        .args(["-c", &driver])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().map(str::to_string).collect()
}

#[test]
fn bash_completes_subcommands_mode_values_and_profile_files() {
    assert_eq!(bash_completes("eperm ch"), ["check"]);
    let modes = bash_completes("eperm run --mode ");
    assert_eq!(modes, ["trace", "notify", "log"]);
    let sources = bash_completes("eperm run --source ");
    assert_eq!(sources, ["ptrace", "notify", "audit", "kmsg"]);
    let files = bash_completes("eperm run -p ");
    assert!(files.contains(&"p.json".to_string()), "{files:?}");
    // `man`'s argument is a subcommand.
    assert_eq!(bash_completes("eperm man rec"), ["record"]);
    let pages = bash_completes("eperm man ");
    let names: Vec<String> = pages.into_iter().filter(|w| !w.starts_with('-')).collect();
    assert_eq!(names, subcommands());
}

#[test]
fn check_reads_the_profile_from_standard_input() {
    let good = piped(
        eperm().arg("check").arg("-"),
        eperm::profile::DEFAULT_PROFILE.as_bytes(),
    );
    assert_eq!(good.status.code(), Some(0), "{}", stderr(&good));
    // Warnings for this host's runtime may come first: the summary is last.
    let summary = stdout(&good).lines().last().unwrap_or_default().to_string();
    assert!(
        summary.starts_with("<stdin>: 0 errors"),
        "{}",
        stdout(&good)
    );

    let bad = piped(eperm().arg("check").arg("-"), b"{\"defaultAction\": 3}");
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert_has(&stderr(&bad), "<stdin>:1:19: error[");
}

/// Runs eperm with `args` under `script`, so that its stderr (and stdout) is a
/// terminal: every byte it wrote there.
fn on_a_terminal(dir: &std::path::Path, args: &[&str]) -> String {
    let eperm = env!("CARGO_BIN_EXE_eperm");
    let quoted: Vec<String> = std::iter::once(eperm)
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect();
    let log = dir.join("typescript");
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &quoted.join(" ")])
        .arg(&log)
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) runs");
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned()
}

#[test]
fn import_shows_its_progress_on_a_terminal_and_nothing_when_piped() {
    let dir = tempfile::tempdir().unwrap();
    let audit = crate::util::fixture("logs/audit.log");
    let out = dir.path().join("out.json");
    let (out, audit) = (out.to_str().unwrap(), audit.to_str().unwrap());
    let args = ["import", "--format", "audit", "-o", out, audit];
    let screen = on_a_terminal(dir.path(), &args);
    assert!(screen.contains("\r\x1b[2Keperm: reading "), "{screen:?}");
    // The status line is erased before the result is printed.
    let result = screen.find("eperm: read ").expect("the result line");
    assert!(screen[..result].ends_with("\r\x1b[2K"), "{screen:?}");

    let piped = run(&args);
    assert!(piped.status.success(), "{}", stderr(&piped));
    assert_lacks(&stderr(&piped), "\x1b");
    assert_lacks(&stderr(&piped), "reading ");
}

#[test]
fn tighten_announces_each_run_on_a_terminal_and_not_when_piped() {
    crate::util::require_root("tighten runs the workload under coverage");
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.json");
    std::fs::write(&profile, eperm::profile::DEFAULT_PROFILE).unwrap();
    let out = dir.path().join("out.json");
    let (profile, out) = (profile.to_str().unwrap(), out.to_str().unwrap());
    let args = [
        "tighten", "-p", profile, "-o", out, "--runs", "2", "--", "true",
    ];
    let screen = on_a_terminal(dir.path(), &args);
    for step in ["eperm: coverage run 1 of 2…", "eperm: coverage run 2 of 2…"] {
        assert!(screen.contains(step), "{screen:?}");
    }
    let piped = run(&args);
    assert!(piped.status.success(), "{}", stderr(&piped));
    assert_lacks(&stderr(&piped), "of 2…");
}
