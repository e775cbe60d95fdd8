//! `docker run` as eperm drives it: the user's arguments, read just enough to
//! know the container's capabilities and name, with eperm's options put in front.
//! `podman run` is read the same way, in its own [`Dialect`].

use crate::caps::CapSet;
use crate::error::BadInput;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// What eperm needs to know of the user's `docker run …` arguments.
#[derive(Debug, PartialEq, Eq)]
pub struct RunArgs {
    /// Everything after `run`, unchanged.
    pub args: Vec<OsString>,
    /// `--name`, when given.
    pub name: Option<String>,
    /// The client's default set with `--cap-add` / `--cap-drop` applied: Docker
    /// and podman keep or drop rules by `includes.caps` / `excludes.caps` with it.
    pub caps: CapSet,
}

/// What sets one client's `run` apart from another's.
pub struct Dialect {
    /// `docker`, `podman`.
    pub program: &'static str,
    /// Its `run` flags that take no value (every other flag takes one).
    pub boolean_flags: &'static [&'static str],
    /// Its one-letter flags that take no value.
    pub boolean_short: &'static str,
    /// The capabilities a container gets unless told otherwise.
    pub default_caps: fn() -> CapSet,
    /// Said when the user's arguments choose the runtime.
    pub runtime_hint: &'static str,
    /// `--runtime` is the client's own option, before `run` (podman's), not
    /// one of `run`'s (docker's).
    pub runtime_before_run: bool,
}

pub const DOCKER: Dialect = Dialect {
    program: "docker",
    boolean_flags: BOOLEAN_FLAGS,
    boolean_short: BOOLEAN_SHORT,
    default_caps: CapSet::docker_default,
    runtime_hint: "eperm chooses the runtime (runc, or eperm's wrapper for notify)",
    runtime_before_run: false,
};

/// `docker run` flags that take no value (every other flag takes one).
const BOOLEAN_FLAGS: &[&str] = &[
    "--detach",
    "--disable-content-trust",
    "--help",
    "--init",
    "--interactive",
    "--no-healthcheck",
    "--oom-kill-disable",
    "--privileged",
    "--publish-all",
    "--quiet",
    "--read-only",
    "--rm",
    "--sig-proxy",
    "--tty",
];
const BOOLEAN_SHORT: &str = "diPqt";

/// Reads `docker run [OPTIONS] IMAGE [COMMAND] [ARG...]`'s arguments.
pub fn parse(argv: &[OsString]) -> Result<RunArgs, BadInput> {
    parse_as(&DOCKER, argv)
}

/// Reads `run [OPTIONS] IMAGE [COMMAND] [ARG...]` as `dialect`'s client would.
pub fn parse_as(dialect: &Dialect, argv: &[OsString]) -> Result<RunArgs, BadInput> {
    read_run(dialect, argv).map_err(BadInput)
}

/// [`parse_as`], with the message of what is wrong as `Err`.
fn read_run(dialect: &Dialect, argv: &[OsString]) -> Result<RunArgs, String> {
    let program = dialect.program;
    match argv.first().and_then(|a| a.to_str()) {
        Some("run") => {}
        Some(other) => {
            return Err(format!(
                "eperm {program} runs containers: expected `-- run …`, not {other:?}\n  hint: eperm {program} -p PROFILE -- run IMAGE CMD"
            ))
        }
        None => return Err(format!("eperm {program}: missing `-- run IMAGE …`")),
    }
    let args = argv[1..].to_vec();
    let mut name = None;
    let mut caps = (dialect.default_caps)();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].to_string_lossy().into_owned();
        if !arg.starts_with('-') || arg == "-" {
            break; // the image: the rest is the container's command
        }
        if arg == "--" {
            break;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if arg.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let takes_value = if flag.starts_with("--") {
            !dialect.boolean_flags.contains(&flag.as_str())
        } else {
            // Short flags may be grouped (-it); only the last may take a value.
            !dialect
                .boolean_short
                .contains(flag.chars().last().unwrap_or('-'))
        };
        let value = match (inline, takes_value) {
            (Some(v), _) => Some(v),
            (None, true) => {
                i += 1;
                Some(
                    args.get(i)
                        .ok_or_else(|| format!("{program} run: {flag} needs a value"))?
                        .to_string_lossy()
                        .into_owned(),
                )
            }
            (None, false) => None,
        };
        match (flag.as_str(), value) {
            ("--detach", v) if v.as_deref() != Some("false") => return Err(detached(program)),
            // A group of short flags (-itd) with d in it.
            (short, _) if !short.starts_with("--") && short.contains('d') => {
                return Err(detached(program))
            }
            ("--privileged", v) if v.as_deref() != Some("false") => {
                return Err(format!("{program} run --privileged: {program} then runs the container without any seccomp profile, so there is nothing to debug\n  hint: grant capabilities with --cap-add instead"))
            }
            ("--security-opt", Some(v)) if v.starts_with("seccomp") => {
                return Err(format!("{program} run --security-opt {v}: eperm sets the seccomp profile itself\n  hint: pass the profile as eperm {program} -p PROFILE"))
            }
            ("--runtime", Some(v)) => {
                return Err(format!("{program} run --runtime {v}: {}", dialect.runtime_hint))
            }
            ("--name", Some(v)) => name = Some(v),
            ("--cap-add", Some(v)) => caps = cap_change(caps, &v, true)?,
            ("--cap-drop", Some(v)) => caps = cap_change(caps, &v, false)?,
            _ => {}
        }
        i += 1;
    }
    if i >= args.len() {
        return Err(format!(
            "{program} run: no image given\n  hint: eperm {program} -- run IMAGE [CMD…]"
        ));
    }
    Ok(RunArgs { args, name, caps })
}

fn detached(program: &str) -> String {
    format!("{program} run --detach: eperm follows the container until it exits\n  hint: run it in the foreground (drop -d)")
}

fn cap_change(caps: CapSet, spec: &str, add: bool) -> Result<CapSet, String> {
    if spec.eq_ignore_ascii_case("all") {
        return Ok(if add { CapSet::all() } else { CapSet::none() });
    }
    let one = CapSet::parse(spec)
        .map_err(|e| format!("--cap-{}: {e}", if add { "add" } else { "drop" }))?;
    Ok(if add {
        caps.union(one)
    } else {
        caps.minus(one)
    })
}

/// The full client command: `PROGRAM [--runtime R] run` (podman's) or
/// `PROGRAM run` (docker's), eperm's options, then the user's.
pub struct Client<'a> {
    pub dialect: &'a Dialect,
    pub run: &'a RunArgs,
    pub profile: &'a OsStr,
    pub cidfile: &'a OsStr,
    pub name: &'a str,
    /// docker: eperm's runc wrapper, registered with dockerd under this name;
    /// podman: `--runtime` as the user gave it (podman's own default otherwise).
    pub runtime: Option<&'a str>,
    /// Variables for docker's wrapper (`NAME=VALUE`; it takes them out again).
    pub env: Vec<OsString>,
    /// `--cgroup-parent`: coverage counts the cgroups below it.
    pub cgroup_parent: Option<&'a str>,
}

impl Client<'_> {
    pub fn argv(&self) -> Vec<OsString> {
        let runtime = self
            .runtime
            .map(|runtime| [OsString::from("--runtime"), runtime.into()]);
        let mut argv: Vec<OsString> = vec![self.dialect.program.into()];
        if self.dialect.runtime_before_run {
            argv.extend(runtime.clone().into_iter().flatten());
        }
        argv.push("run".into());
        argv.push("--security-opt".into());
        let mut seccomp = OsString::from("seccomp=");
        seccomp.push(self.profile);
        argv.push(seccomp);
        argv.push("--cidfile".into());
        argv.push(self.cidfile.into());
        if self.run.name.is_none() {
            argv.push("--name".into());
            argv.push(self.name.into());
        }
        if !self.dialect.runtime_before_run {
            argv.extend(runtime.into_iter().flatten());
        }
        for var in &self.env {
            argv.push("--env".into());
            argv.push(var.clone());
        }
        if let Some(parent) = self.cgroup_parent {
            argv.push("--cgroup-parent".into());
            argv.push(parent.into());
        }
        argv.extend(self.run.args.iter().cloned());
        argv
    }
}

/// The name of a runtime registered with dockerd whose program is eperm's runc
/// wrapper (`eperm-runc`), if any.
pub fn wrapper_runtime() -> Option<String> {
    let runtimes = daemon_socket()
        .and_then(|socket| runtimes_from_socket(&socket))
        .or_else(runtimes_from_cli)?;
    runtimes.as_object()?.iter().find_map(|(name, rt)| {
        let path = rt.get("path")?.as_str()?;
        path.ends_with(super::wrapper::PROGRAM)
            .then(|| name.clone())
    })
}

/// `docker info`'s runtimes, asked of the docker CLI (which honours every way of
/// choosing a daemon: hosts, contexts, TLS). Starting the CLI costs ~25 ms here.
fn runtimes_from_cli() -> Option<serde_json::Value> {
    let out = std::process::Command::new("docker")
        .args(["info", "--format", "{{json .Runtimes}}"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

/// dockerd's cgroup driver (`cgroupfs` or `systemd`), as `docker info` says;
/// `None` when it cannot be asked.
pub fn cgroup_driver() -> Option<String> {
    let out = std::process::Command::new("docker")
        .args(["info", "--format", "{{.CgroupDriver}}"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let driver = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !driver.is_empty()).then_some(driver)
}

/// The daemon's unix socket, when the docker CLI would certainly talk to it:
/// `DOCKER_HOST=unix://PATH`, or no host and no context chosen (the default
/// socket). `None` for anything else (TCP, SSH, contexts): the CLI decides then.
fn daemon_socket() -> Option<PathBuf> {
    if std::env::var_os("DOCKER_CONTEXT").is_some() {
        return None;
    }
    match std::env::var("DOCKER_HOST") {
        Ok(host) => host.strip_prefix("unix://").map(PathBuf::from),
        Err(std::env::VarError::NotPresent) => {
            let config = match std::env::var_os("DOCKER_CONFIG") {
                Some(dir) => PathBuf::from(dir),
                None => PathBuf::from(std::env::var_os("HOME")?).join(".docker"),
            };
            // Read as every file a user points eperm at (DOCKER_CONFIG): regular, capped.
            let limit = crate::files::Limit {
                bytes: 1 << 20,
                what: "Docker's config.json",
            };
            let chosen = crate::files::read(&config.join("config.json"), limit)
                .ok()
                .and_then(|text| serde_json::from_slice::<serde_json::Value>(&text).ok())
                .and_then(|c| c.get("currentContext")?.as_str().map(str::to_string))
                .is_some_and(|c| !c.is_empty() && c != "default");
            (!chosen).then(|| PathBuf::from("/var/run/docker.sock"))
        }
        Err(_) => None,
    }
}

/// `GET /info` straight from the daemon's socket (HTTP/1.0: the whole body, then
/// the daemon closes), in about a millisecond; `None` on any surprise.
fn runtimes_from_socket(socket: &Path) -> Option<serde_json::Value> {
    use std::io::{Read, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket).ok()?;
    let limit = Some(std::time::Duration::from_secs(2));
    stream.set_read_timeout(limit).ok()?;
    stream.set_write_timeout(limit).ok()?;
    stream
        .write_all(b"GET /info HTTP/1.0\r\nHost: docker\r\n\r\n")
        .ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    runtimes_from_response(&response)
}

fn runtimes_from_response(response: &[u8]) -> Option<serde_json::Value> {
    let text = std::str::from_utf8(response).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.lines().next()?;
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().replace(' ', "") == "transfer-encoding:chunked");
    if status.split_whitespace().nth(1) != Some("200") || chunked {
        return None;
    }
    let info: serde_json::Value = serde_json::from_str(body).ok()?;
    info.get("Runtimes").cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn reads_name_and_caps_but_not_the_containers_own_arguments() {
        let run = parse(&args(
            "run --rm -it --name web --cap-add SYS_ADMIN -e X=1 img sh -c --name=x",
        ))
        .unwrap();
        assert_eq!(run.name.as_deref(), Some("web"));
        assert!(run.caps.has("CAP_SYS_ADMIN"));
        assert!(run.caps.has("CAP_CHOWN"));
        let dropped = parse(&args("run --cap-drop=ALL --cap-add net_bind_service img")).unwrap();
        assert!(!dropped.caps.has("CAP_CHOWN"));
        assert!(dropped.caps.has("CAP_NET_BIND_SERVICE"));
    }

    #[test]
    fn refuses_what_would_make_the_run_meaningless() {
        for bad in [
            "run -d img",
            "run -itd img",
            "run --privileged img",
            "run --security-opt seccomp=unconfined img",
            "run --rm",
            "ps",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_the_runtimes_from_an_info_response() {
        let ok = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"Runtimes\": {\"eperm\": {\"path\": \"/x/eperm-runc\"}}}\n";
        let runtimes = runtimes_from_response(ok).unwrap();
        assert_eq!(runtimes["eperm"]["path"], "/x/eperm-runc");
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
        assert_eq!(runtimes_from_response(chunked), None);
        let error = b"HTTP/1.0 500 Internal Server Error\r\n\r\n{\"message\": \"no\"}";
        assert_eq!(runtimes_from_response(error), None);
    }

    #[test]
    fn eperms_options_come_before_the_users() {
        let run = parse(&args("run --rm img true")).unwrap();
        let client = Client {
            dialect: &DOCKER,
            run: &run,
            profile: OsStr::new("/tmp/p.json"),
            cidfile: OsStr::new("/tmp/cid"),
            name: "eperm-1",
            runtime: Some("eperm"),
            env: vec!["EPERM_AGENT=/run/a.sock".into()],
            cgroup_parent: Some("/eperm-cov-1-1"),
        };
        let text: Vec<String> = client
            .argv()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            text.join(" "),
            "docker run --security-opt seccomp=/tmp/p.json --cidfile /tmp/cid --name eperm-1 \
             --runtime eperm --env EPERM_AGENT=/run/a.sock --cgroup-parent /eperm-cov-1-1 \
             --rm img true"
        );
    }
}
