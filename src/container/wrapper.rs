//! `eperm-runc`: a runc wrapper that lets Docker hand containers to eperm's agent.
//!
//! dockerd 20.10 drops `listenerPath` from a profile, so NOTIFY rules reach runc
//! without an agent and runc refuses them. Registered as a runtime
//! (`dockerd --add-runtime eperm=/usr/local/bin/eperm-runc`, a link to eperm),
//! this program is what containerd runs instead of runc: on `create` / `run` it
//! moves the agent's path from the container's environment (`EPERM_AGENT`, set by
//! `eperm docker`) into `linux.seccomp.listenerPath` of the bundle's config.json,
//! then execs the real runc with the same arguments. With `EPERM_SESSION=UID:FILE`
//! it also opens a fresh audit session (so the container's log records can be
//! told apart from every other container's) and writes its id to FILE.
//! Containers started without these variables pass through untouched.

use serde_json::Value;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// The program name eperm answers to as a runtime.
pub const PROGRAM: &str = "eperm-runc";
/// The environment variable that carries the agent's socket to the wrapper.
pub const AGENT_ENV: &str = "EPERM_AGENT";
/// `UID:FILE`: open an audit session as UID, write its id to FILE.
pub const SESSION_ENV: &str = "EPERM_SESSION";

/// Runs as the runtime: rewrites the bundle when asked to, then becomes runc.
pub fn main(args: Vec<OsString>) -> ! {
    if let Some(bundle) = bundle_of(&args) {
        match take_eperm_env(&bundle.join("config.json")) {
            Ok(Some(session)) => {
                if let Err(e) = open_session(&session) {
                    eprintln!("{PROGRAM}: {SESSION_ENV}={session}: {e}");
                }
            }
            Ok(None) => {}
            Err(e) => {
                eprintln!("{PROGRAM}: {}: {e}", bundle.display());
                std::process::exit(1);
            }
        }
    }
    let runc = std::env::var_os("EPERM_RUNC").unwrap_or_else(|| "runc".into());
    let err = std::process::Command::new(&runc).args(&args).exec();
    eprintln!("{PROGRAM}: cannot run {}: {err}", runc.to_string_lossy());
    std::process::exit(127)
}

/// The bundle of a `create` or `run` command (`--bundle DIR`, `-b DIR`, or the
/// current directory, as runc defaults).
fn bundle_of(args: &[OsString]) -> Option<PathBuf> {
    let at = args.iter().position(|a| a == "create" || a == "run")?;
    let rest = &args[at + 1..];
    for (i, a) in rest.iter().enumerate() {
        let a = a.to_string_lossy();
        if a == "--bundle" || a == "-b" {
            return rest.get(i + 1).map(PathBuf::from);
        }
        if let Some(dir) = a.strip_prefix("--bundle=") {
            return Some(PathBuf::from(dir));
        }
    }
    std::env::current_dir().ok()
}

/// Takes eperm's variables out of `process.env` (the workload never sees them):
/// `EPERM_AGENT=PATH` becomes `linux.seccomp.listenerPath`; `EPERM_SESSION`'s
/// value is returned.
pub fn take_eperm_env(config: &Path) -> std::io::Result<Option<String>> {
    let text = std::fs::read_to_string(config)?;
    let mut doc: Value = serde_json::from_str(&text)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let agent = take_var(&mut doc, AGENT_ENV);
    let session = take_var(&mut doc, SESSION_ENV);
    if agent.is_none() && session.is_none() {
        return Ok(None);
    }
    if let Some(path) = agent {
        let seccomp = doc
            .pointer_mut("/linux/seccomp")
            .and_then(Value::as_object_mut);
        if let Some(seccomp) = seccomp {
            seccomp.insert("listenerPath".into(), Value::String(path));
        }
    }
    let tmp = config.with_extension("json.eperm");
    std::fs::write(&tmp, serde_json::to_vec(&doc)?)?;
    std::fs::rename(&tmp, config)?;
    Ok(session)
}

fn take_var(doc: &mut Value, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    let env = doc.pointer_mut("/process/env")?.as_array_mut()?;
    let at = env
        .iter()
        .position(|v| v.as_str().is_some_and(|s| s.starts_with(&prefix)))?;
    let entry = env.remove(at);
    Some(entry.as_str()?[prefix.len()..].to_string())
}

/// `UID:FILE`: writes UID to our loginuid (a new audit session, which runc and
/// the container inherit), then the session's id to FILE.
fn open_session(spec: &str) -> std::io::Result<()> {
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidInput, "expected UID:FILE");
    let (uid, file) = spec.split_once(':').ok_or_else(bad)?;
    uid.parse::<u32>().map_err(|_| bad())?;
    std::fs::write("/proc/self/loginuid", uid)?;
    let ses = std::fs::read_to_string("/proc/self/sessionid")?;
    std::fs::write(file, ses.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_bundle_of_create_and_run_only() {
        let args = |s: &str| s.split_whitespace().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            bundle_of(&args(
                "--root /r --log l create --bundle /b/x --pid-file p id"
            )),
            Some(PathBuf::from("/b/x"))
        );
        assert_eq!(
            bundle_of(&args("run -b /b/y id")),
            Some(PathBuf::from("/b/y"))
        );
        assert_eq!(bundle_of(&args("--root /r start id")), None);
        assert_eq!(bundle_of(&args("--root /r delete id")), None);
    }

    #[test]
    fn moves_the_agent_from_the_environment_into_the_profile() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        std::fs::write(
            &config,
            r#"{"process": {"env": ["PATH=/bin", "EPERM_AGENT=/run/a.sock", "EPERM_SESSION=0:/f", "HOME=/"]},
                "linux": {"seccomp": {"defaultAction": "SCMP_ACT_LOG"}}}"#,
        )
        .unwrap();
        assert_eq!(take_eperm_env(&config).unwrap().as_deref(), Some("0:/f"));
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
        assert_eq!(
            doc["process"]["env"],
            serde_json::json!(["PATH=/bin", "HOME=/"])
        );
        assert_eq!(doc["linux"]["seccomp"]["listenerPath"], "/run/a.sock");
    }

    #[test]
    fn leaves_other_containers_alone() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        let text = r#"{"process": {"env": ["PATH=/bin"]}, "linux": {"seccomp": {}}}"#;
        std::fs::write(&config, text).unwrap();
        assert_eq!(take_eperm_env(&config).unwrap(), None);
        assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
    }
}
