//! `podman run` as eperm drives it. podman keeps `listenerPath` in the profile it
//! is given and passes it to its OCI runtime (crun by default, runc with
//! `podman --runtime runc`), which hands the listener straight to eperm: no
//! wrapper is needed, rootful or rootless.

use super::docker::{Dialect, GlobalFlags, RunArgs};
use super::oci_runtime::OciRuntime;
use crate::caps::CapSet;
use std::ffi::OsString;
use std::path::Path;

/// podman 4's `run` flags that take no value, its global ones (which podman
/// takes after `run` too) included.
const BOOLEAN_FLAGS: &[&str] = &[
    "--detach",
    "--noout",
    "--remote",
    "--syslog",
    "--disable-content-trust",
    "--env-host",
    "--help",
    "--http-proxy",
    "--init",
    "--interactive",
    "--no-healthcheck",
    "--no-hosts",
    "--oom-kill-disable",
    "--passwd",
    "--privileged",
    "--publish-all",
    "--quiet",
    "--read-only",
    "--read-only-tmpfs",
    "--replace",
    "--rm",
    "--rmi",
    "--rootfs",
    "--sig-proxy",
    "--tls-verify",
    "--tty",
    "--unsetenv-all",
];

pub const PODMAN: Dialect = Dialect {
    program: "podman",
    boolean_flags: BOOLEAN_FLAGS,
    boolean_short: "diPqt",
    default_caps,
    global: Some(GlobalFlags {
        boolean: &["--help", "--noout", "--remote", "--syslog", "--version"],
        boolean_short: "rv",
        remote: &[
            "--remote",
            "-r",
            "--url",
            "--connection",
            "-c",
            "--identity",
        ],
        remote_why: "the container would run on another host (or in podman machine's VM), \
                     where eperm can neither take its seccomp listener nor read its kernel log",
    }),
    runtime_before_run: true,
};

/// podman's built-in `default_capabilities` (containers.conf): 11, not Docker's
/// 14 (no AUDIT_WRITE, MKNOD, NET_RAW).
fn default_caps() -> CapSet {
    CapSet::parse(
        "CHOWN,DAC_OVERRIDE,FOWNER,FSETID,KILL,NET_BIND_SERVICE,SETFCAP,SETGID,SETPCAP,SETUID,SYS_CHROOT",
    )
    .expect("known capability names")
}

/// Reads `run [OPTIONS] IMAGE [COMMAND] [ARG...]`.
pub fn parse(argv: &[OsString]) -> Result<RunArgs, crate::error::BadInput> {
    super::docker::parse_as(&PODMAN, argv)
}

/// The OCI runtime podman runs containers with: `runtime` (`--runtime`, a name
/// or a path) when given, else podman's own default; `Err` when it is neither
/// runc nor crun.
pub fn oci_runtime(runtime: Option<&str>) -> Result<OciRuntime, UnknownRuntime> {
    let name = match runtime {
        Some(name) => name.to_string(),
        None => default_runtime().unwrap_or_else(|| "crun".into()),
    };
    OciRuntime::from_name(&name).ok_or(UnknownRuntime(name))
}

/// Two `--runtime` values that name the same runtime (`crun`, `/usr/bin/crun`).
pub fn same_runtime(a: &str, b: &str) -> bool {
    let base = |r: &str| std::path::Path::new(r).file_name().map(|n| n.to_owned());
    a == b || base(a) == base(b)
}

/// An OCI runtime eperm does not know how to hand a seccomp listener over
/// with, by the name (or path) podman runs it as.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnknownRuntime(pub String);

/// The runtime podman would use: the default its help gives `--runtime` (what
/// containers.conf says, ~0.1 s here), else `podman info`'s (which opens the
/// store: 0.3–0.6 s here).
fn default_runtime() -> Option<String> {
    let podman = |args: &[&str]| {
        let out = std::process::Command::new("podman")
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    podman(&["--help"])
        .and_then(|help| runtime_in_help(&help))
        .or_else(|| {
            let name = podman(&["info", "--format", "{{.Host.OCIRuntime.Name}}"])?;
            Some(name.trim().to_string()).filter(|n| !n.is_empty())
        })
}

/// `--runtime string   Path to … (default "crun")` in `podman --help`.
fn runtime_in_help(help: &str) -> Option<String> {
    let line = help
        .lines()
        .find(|l| l.trim_start().starts_with("--runtime "))?;
    let (_, rest) = line.rsplit_once("(default \"")?;
    let name = rest.split('"').next()?;
    (!name.is_empty()).then(|| name.to_string())
}

/// What removes the container if eperm ends first: `podman rm` at once (`--time
/// 0`: no stop timeout), quietly when `--rm` already did, with the user's own
/// options before `run` (`--root`, `--runroot` say where the container is);
/// then what podman forgot. podman killed while its runtime creates the
/// container (measured with podman 4.3 and crun 1.8) records it nowhere, so `rm`
/// leaves the runtime's created container, its init waiting for a `start` that
/// never comes, with its conmon: every process naming the container's id (from
/// the cidfile) is deleted through the runtime and killed, until none is left
/// (a create still under way finishes later).
pub fn cleanup_argv(
    global: &[OsString],
    runtime: Option<&str>,
    name: &str,
    cidfile: &Path,
) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![
        "sh".into(),
        "-c".into(),
        CLEANUP.into(),
        "eperm-cleanup".into(),
    ];
    argv.push(runtime.unwrap_or_default().into());
    argv.push(name.into());
    argv.push(cidfile.into());
    argv.extend(global.iter().cloned());
    argv
}

/// [`cleanup_argv`]'s script: `$1` the runtime (empty: podman's default),
/// `$2` the container's name, `$3` its cidfile, then podman's global options.
/// The id is searched for with a pattern that does not match itself (grep's
/// own command line holds it).
const CLEANUP: &str = r#"rt=$1 name=$2 cidfile=$3
shift 3
podman "$@" ${rt:+--runtime "$rt"} rm --force --ignore --time 0 "$name" >/dev/null 2>&1
id=$(cat "$cidfile" 2>/dev/null)
case $id in ''|*[!0-9a-f]*) exit 0 ;; esac
last=${id#"${id%?}"}
pattern="${id%?}[$last]"
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
  pids=$(grep -l -s -a -e "$pattern" /proc/[0-9]*/cmdline | cut -d/ -f3)
  [ -n "$pids" ] || exit 0
  [ -n "$rt" ] || rt=$(podman "$@" info --format '{{.Host.OCIRuntime.Path}}' 2>/dev/null)
  "${rt:-crun}" delete --force "$id" >/dev/null 2>&1
  kill -KILL $pids 2>/dev/null
  sleep 0.1
done
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::docker::Client;
    use std::ffi::OsStr;

    fn args(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn reads_podmans_own_flags_and_default_caps() {
        // --rootfs and --replace take no value in podman: the image follows.
        let run = parse(&args("run --replace --rootfs /srv/root sh -c x")).unwrap();
        assert_eq!(run.name, None);
        assert!(run.caps.has("CAP_CHOWN"));
        assert!(
            !run.caps.has("CAP_NET_RAW"),
            "podman's defaults are not Docker's"
        );
        let run = parse(&args("run --name=w --cap-add NET_RAW img")).unwrap();
        assert_eq!(run.name.as_deref(), Some("w"));
        assert!(run.caps.has("CAP_NET_RAW"));
        for bad in [
            "run -d img",
            "run --privileged img",
            "run --security-opt seccomp=unconfined img",
            "images",
        ] {
            let err = parse(&args(bad)).unwrap_err();
            assert!(err.0.contains("podman"), "{bad}: {err}");
        }
        // An explicit false is no privilege: the run is taken, as written, with
        // podman's default caps.
        let run = parse(&args("run --privileged=false img")).unwrap();
        assert_eq!(run.args, args("--privileged=false img"));
        assert_eq!(run.name, None);
        assert_eq!(run.caps, default_caps());
    }

    /// podman takes its own options before `run` and after it: so does eperm,
    /// with the runtime from either (the last one given, as podman does).
    #[test]
    fn takes_podmans_global_options_before_and_after_run() {
        let run = parse(&args("run --rm --runtime crun img true")).unwrap();
        assert_eq!(run.runtime.as_deref(), Some("crun"));
        assert_eq!(run.args, args("--rm --runtime crun img true"));
        assert_eq!(run.args[run.image], "img");
        let run = parse(&args(
            "--root /srv/s --runtime=/usr/bin/runc run -c 512 img",
        ))
        .unwrap();
        assert_eq!(run.global, args("--root /srv/s --runtime=/usr/bin/runc"));
        assert_eq!(run.runtime.as_deref(), Some("/usr/bin/runc"));
        assert_eq!(run.args[run.image], "img", "-c after run is --cpu-shares");
        let run = parse(&args("--runtime runc --syslog run --runtime crun img")).unwrap();
        assert_eq!(run.runtime.as_deref(), Some("crun"), "the later one wins");
        for remote in [
            "--remote run img",
            "-r run img",
            "-c machine run img",
            "--url unix:/x run img",
            "run --remote img",
            "run --connection=m img",
        ] {
            let err = parse(&args(remote)).unwrap_err().0;
            assert!(err.contains("another host"), "{remote}: {err}");
        }
        let err = parse(&args("--root /x images")).unwrap_err().0;
        assert!(err.contains("expected `-- run …`"), "{err}");
        assert!(same_runtime("crun", "/usr/bin/crun"));
        assert!(!same_runtime("crun", "runc"));
    }

    #[test]
    fn runtime_goes_before_run_and_eperms_options_before_the_users() {
        let run = parse(&args("--root /srv/s run --rm img true")).unwrap();
        let client = Client {
            dialect: &PODMAN,
            run: &run,
            runtime: Some("runc"),
            profile: OsStr::new("/tmp/p.json"),
            cidfile: OsStr::new("/tmp/cid"),
            name: "eperm-1",
            env: vec![],
            cgroup_parent: None,
        };
        let text: Vec<String> = client
            .argv()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            text.join(" "),
            "podman --root /srv/s --runtime runc run --security-opt seccomp=/tmp/p.json \
             --cidfile /tmp/cid --name eperm-1 --rm img true"
        );
        let cleanup: Vec<String> =
            cleanup_argv(&run.global, Some("runc"), "eperm-1", Path::new("/w/cid"))
                .iter()
                .skip(3)
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
        assert_eq!(
            cleanup,
            [
                "eperm-cleanup",
                "runc",
                "eperm-1",
                "/w/cid",
                "--root",
                "/srv/s"
            ]
        );
    }

    #[test]
    fn reads_the_default_runtime_from_podmans_help() {
        let help = "Flags:\n      --root string     Path to the root directory (default \"/var/lib/containers/storage\")\n      --runtime string  Path to the OCI-compatible binary used to run containers. (default \"crun\")\n      --runtime-flag stringArray   add global flags\n";
        assert_eq!(runtime_in_help(help).as_deref(), Some("crun"));
        assert_eq!(runtime_in_help("      --runtime-flag stringArray\n"), None);
    }

    #[test]
    fn a_runtime_given_by_name_or_path_needs_no_podman() {
        assert_eq!(oci_runtime(Some("runc")), Ok(OciRuntime::Runc));
        assert_eq!(oci_runtime(Some("/usr/bin/crun")), Ok(OciRuntime::Crun));
        assert_eq!(
            oci_runtime(Some("youki")),
            Err(UnknownRuntime("youki".to_string()))
        );
    }
}
