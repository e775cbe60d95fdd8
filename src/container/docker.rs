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
    /// The client's own options the user wrote before `run` (podman's global
    /// ones, e.g. `--root`), unchanged; they go before `run` again.
    pub global: Vec<OsString>,
    /// Everything after `run`, unchanged.
    pub args: Vec<OsString>,
    /// Where in `args` the image is (what follows is the container's command).
    pub image: usize,
    /// The OCI runtime the user's arguments choose (`--runtime`, the last one
    /// given, before or after `run`, as the client takes it).
    pub runtime: Option<String>,
    /// `--name`, when given.
    pub name: Option<String>,
    /// The client's default set with `--cap-add` / `--cap-drop` applied: Docker
    /// and podman keep or drop rules by `includes.caps` / `excludes.caps` with it.
    pub caps: CapSet,
}

impl RunArgs {
    /// These arguments without their `--runtime` options (before the image),
    /// for eperm's wrapper to take the runtime's place: docker takes the last
    /// `--runtime`, and the user's come after eperm's.
    pub fn without_runtime(mut self) -> RunArgs {
        let image = self.image;
        let mut kept = Vec::with_capacity(self.args.len());
        let mut i = 0;
        while i < self.args.len() {
            let arg = self.args[i].to_string_lossy();
            if i < image && arg == "--runtime" {
                i += 2;
                continue;
            }
            if !(i < image && arg.starts_with("--runtime=")) {
                kept.push(self.args[i].clone());
            }
            i += 1;
        }
        self.image -= self.args.len() - kept.len();
        self.args = kept;
        self.runtime = None;
        self
    }
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
    /// The client's own options, accepted before `run` (and, as podman does,
    /// after it too); `None`: `run` must come first.
    pub global: Option<GlobalFlags>,
    /// `--runtime` is the client's own option, before `run` (podman's), not
    /// one of `run`'s (docker's).
    pub runtime_before_run: bool,
}

/// A client's options of its own, before its subcommand.
pub struct GlobalFlags {
    /// The ones that take no value (every other one takes one).
    pub boolean: &'static [&'static str],
    pub boolean_short: &'static str,
    /// The ones that send the work to another host (or a VM), and why eperm
    /// cannot follow it there.
    pub remote: &'static [&'static str],
    pub remote_why: &'static str,
}

pub const DOCKER: Dialect = Dialect {
    program: "docker",
    boolean_flags: BOOLEAN_FLAGS,
    boolean_short: BOOLEAN_SHORT,
    default_caps: CapSet::docker_default,
    global: None,
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
    let mut runtime = None;
    let at_run = read_global(dialect, argv, &mut runtime)?;
    match argv.get(at_run).and_then(|a| a.to_str()) {
        Some("run") => {}
        Some(other) => {
            return Err(format!(
                "eperm {program} runs containers: expected `-- run …`, not {other:?}\n  hint: eperm {program} -p PROFILE -- run IMAGE CMD"
            ))
        }
        None => return Err(format!("eperm {program}: missing `-- run IMAGE …`")),
    }
    let args = argv[at_run + 1..].to_vec();
    let mut name = None;
    let mut caps = (dialect.default_caps)();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].to_string_lossy().into_owned();
        if !arg.starts_with('-') || arg == "-" || arg == "--" {
            break; // the image: the rest is the container's command
        }
        let (flag, value) = read_option(dialect, &args, &mut i, &format!("{program} run"))?;
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
            (flag, _) if is_remote(dialect, flag, false) => return Err(remote(dialect, flag)),
            ("--runtime", Some(v)) => runtime = Some(v),
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
    Ok(RunArgs {
        global: argv[..at_run].to_vec(),
        args,
        image: i,
        runtime,
        name,
        caps,
    })
}

/// Reads the client's own options before `run` (noting `--runtime`), and
/// returns where `run` is.
fn read_global(
    dialect: &Dialect,
    argv: &[OsString],
    runtime: &mut Option<String>,
) -> Result<usize, String> {
    let Some(global) = &dialect.global else {
        return Ok(0);
    };
    let mut i = 0;
    while i < argv.len() {
        let arg = argv[i].to_string_lossy();
        if !arg.starts_with('-') || arg == "--" {
            break;
        }
        let (flag, value) = read_global_option(dialect, global, argv, &mut i)?;
        if is_remote(dialect, &flag, true) {
            return Err(remote(dialect, &flag));
        }
        if flag == "--runtime" {
            *runtime = value;
        }
        i += 1;
    }
    Ok(i)
}

fn read_global_option(
    dialect: &Dialect,
    global: &GlobalFlags,
    argv: &[OsString],
    i: &mut usize,
) -> Result<(String, Option<String>), String> {
    let as_global = Dialect {
        boolean_flags: global.boolean,
        boolean_short: global.boolean_short,
        global: None,
        ..*dialect
    };
    read_option(&as_global, argv, i, dialect.program)
}

/// The option at `args[*i]`: its flag and its value (inline after `=`, or the
/// next word, which `*i` then moves to).
fn read_option(
    dialect: &Dialect,
    args: &[OsString],
    i: &mut usize,
    context: &str,
) -> Result<(String, Option<String>), String> {
    let arg = args[*i].to_string_lossy().into_owned();
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
            *i += 1;
            let next = args
                .get(*i)
                .ok_or_else(|| format!("{context}: {flag} needs a value"))?;
            Some(next.to_string_lossy().into_owned())
        }
        (None, false) => None,
    };
    Ok((flag, value))
}

/// `flag` sends the work to another host; short ones count before `run` only
/// (after it they are `run`'s own: podman's `-c` is `--cpu-shares` there).
fn is_remote(dialect: &Dialect, flag: &str, before_run: bool) -> bool {
    let Some(global) = &dialect.global else {
        return false;
    };
    global.remote.contains(&flag) && (before_run || flag.starts_with("--"))
}

fn remote(dialect: &Dialect, flag: &str) -> String {
    let why = dialect.global.as_ref().map_or("", |g| g.remote_why);
    format!(
        "{} {flag}: {why}\n  hint: run eperm on the host that runs the containers",
        dialect.program
    )
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
        argv.extend(self.run.global.iter().cloned());
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

/// The runtimes dockerd knows (`docker info`'s `Runtimes`) and its default.
#[derive(Debug, Default)]
pub struct DaemonRuntimes {
    runtimes: serde_json::Map<String, serde_json::Value>,
    default: Option<String>,
}

impl DaemonRuntimes {
    /// Asked of the daemon; `None` when it cannot be asked.
    pub fn ask() -> Option<DaemonRuntimes> {
        let info = daemon_socket()
            .and_then(|socket| info_from_socket(&socket))
            .or_else(info_from_cli)?;
        Some(DaemonRuntimes::from_info(&info))
    }

    fn from_info(info: &serde_json::Value) -> DaemonRuntimes {
        DaemonRuntimes {
            runtimes: info["Runtimes"].as_object().cloned().unwrap_or_default(),
            default: info["DefaultRuntime"].as_str().map(str::to_string),
        }
    }

    /// The name of a runtime whose program is eperm's runc wrapper
    /// (`eperm-runc`), if any.
    pub fn wrapper(&self) -> Option<String> {
        self.runtimes
            .keys()
            .find(|name| self.program(name).ends_with(super::wrapper::PROGRAM))
            .cloned()
    }

    /// The runtime `docker run` uses: `chosen` (`--runtime`), else dockerd's
    /// default, else runc.
    pub fn chosen<'a>(&'a self, chosen: Option<&'a str>) -> &'a str {
        chosen.or(self.default.as_deref()).unwrap_or("runc")
    }

    /// The program a runtime name runs: its `path`; containerd's runc shim
    /// (`runtimeType` io.containerd.runc.v2, no path) and a name with no entry
    /// run the runc on dockerd's PATH, or the name itself.
    pub fn program(&self, name: &str) -> String {
        let entry = self.runtimes.get(name);
        if let Some(path) = entry.and_then(|e| e["path"].as_str()) {
            return path.to_string();
        }
        let shim = entry
            .and_then(|e| e["runtimeType"].as_str())
            .unwrap_or(name);
        match shim.starts_with("io.containerd.runc.") {
            true => "runc".to_string(),
            false => name.to_string(),
        }
    }
}

/// `docker info`'s runtimes and default, asked of the docker CLI (which honours
/// every way of choosing a daemon: hosts, contexts, TLS). Starting the CLI
/// costs ~25 ms here.
fn info_from_cli() -> Option<serde_json::Value> {
    let format = r#"{"Runtimes": {{json .Runtimes}}, "DefaultRuntime": {{json .DefaultRuntime}}}"#;
    let out = std::process::Command::new("docker")
        .args(["info", "--format", format])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

/// dockerd's cgroup driver (`cgroupfs` or `systemd`), as `docker info` says;
/// `None` when it cannot be asked. Asked once: every run wants it.
pub fn cgroup_driver() -> Option<String> {
    static DRIVER: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    DRIVER.get_or_init(ask_cgroup_driver).clone()
}

fn ask_cgroup_driver() -> Option<String> {
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
fn info_from_socket(socket: &Path) -> Option<serde_json::Value> {
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
    info_from_response(&response)
}

fn info_from_response(response: &[u8]) -> Option<serde_json::Value> {
    let text = std::str::from_utf8(response).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.lines().next()?;
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().replace(' ', "") == "transfer-encoding:chunked");
    if status.split_whitespace().nth(1) != Some("200") || chunked {
        return None;
    }
    serde_json::from_str(body).ok()
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

    /// `docker run --runtime` is docker's own: taken, and left out when eperm's
    /// wrapper takes the runtime's place (the container's own `--runtime` stays).
    #[test]
    fn takes_the_runtime_and_leaves_it_out_for_the_wrapper() {
        let run = parse(&args(
            "run --rm --runtime=runc -e A=1 --runtime crun img sh --runtime x",
        ))
        .unwrap();
        assert_eq!(run.runtime.as_deref(), Some("crun"));
        let run = run.without_runtime();
        assert_eq!(run.args, args("--rm -e A=1 img sh --runtime x"));
        assert_eq!(run.args[run.image], "img");
        assert_eq!(run.runtime, None);
        let err = parse(&args("--context x run img")).unwrap_err().0;
        assert!(err.contains("expected `-- run …`"), "{err}");
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
        let ok = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"Runtimes\": {\"eperm\": {\"path\": \"/x/eperm-runc\"}, \"runc\": {\"runtimeType\": \"io.containerd.runc.v2\"}, \"fast\": {\"path\": \"/usr/bin/crun\"}}, \"DefaultRuntime\": \"fast\"}\n";
        let daemon = DaemonRuntimes::from_info(&info_from_response(ok).unwrap());
        assert_eq!(daemon.wrapper().as_deref(), Some("eperm"));
        assert_eq!(daemon.chosen(None), "fast", "dockerd's default");
        assert_eq!(daemon.program(daemon.chosen(None)), "/usr/bin/crun");
        assert_eq!(daemon.program(daemon.chosen(Some("runc"))), "runc");
        assert_eq!(
            daemon.program("/opt/youki"),
            "/opt/youki",
            "no entry: the name"
        );
        assert_eq!(DaemonRuntimes::default().chosen(None), "runc");
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
        assert_eq!(info_from_response(chunked), None);
        let error = b"HTTP/1.0 500 Internal Server Error\r\n\r\n{\"message\": \"no\"}";
        assert_eq!(info_from_response(error), None);
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
