//! `eperm-runc`: a runc wrapper that lets Docker hand containers to eperm's agent.
//!
//! dockerd 20.10 drops `listenerPath` from a profile, so NOTIFY rules reach runc
//! without an agent and runc refuses them. Registered as a runtime
//! (`dockerd --add-runtime eperm=/usr/local/bin/eperm-runc`, a link to eperm),
//! this program is what containerd runs instead of runc: on `create` / `run` it
//! moves the agent's path from the container's environment (`EPERM_AGENT`, set by
//! `eperm docker`) into `linux.seccomp.listenerPath` of the bundle's config.json,
//! then execs the real runc with the same arguments. Containers started without
//! `EPERM_AGENT` pass through untouched.

use serde_json::Value;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// The program name eperm answers to as a runtime.
pub const PROGRAM: &str = "eperm-runc";
/// The environment variable that carries the agent's socket to the wrapper.
pub const AGENT_ENV: &str = "EPERM_AGENT";

/// Runs as the runtime: rewrites the bundle when asked to, then becomes runc.
pub fn main(args: Vec<OsString>) -> ! {
    if let Some(bundle) = bundle_of(&args) {
        if let Err(e) = hand_to_agent(&bundle.join("config.json")) {
            eprintln!("{PROGRAM}: {}: {e}", bundle.display());
            std::process::exit(1);
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

/// Moves `EPERM_AGENT=PATH` out of `process.env` and into `linux.seccomp.listenerPath`.
pub fn hand_to_agent(config: &Path) -> std::io::Result<()> {
    let text = std::fs::read_to_string(config)?;
    let mut doc: Value = serde_json::from_str(&text)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let prefix = format!("{AGENT_ENV}=");
    let Some(env) = doc
        .pointer_mut("/process/env")
        .and_then(Value::as_array_mut)
    else {
        return Ok(());
    };
    let Some(at) = env
        .iter()
        .position(|v| v.as_str().is_some_and(|s| s.starts_with(&prefix)))
    else {
        return Ok(());
    };
    let entry = env.remove(at);
    let path = entry.as_str().expect("checked above")[prefix.len()..].to_string();
    match doc
        .pointer_mut("/linux/seccomp")
        .and_then(Value::as_object_mut)
    {
        Some(seccomp) => {
            seccomp.insert("listenerPath".into(), Value::String(path));
        }
        None => return Ok(()), // no profile: nothing to hand over
    }
    let tmp = config.with_extension("json.eperm");
    std::fs::write(&tmp, serde_json::to_vec(&doc)?)?;
    std::fs::rename(&tmp, config)
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
            r#"{"process": {"env": ["PATH=/bin", "EPERM_AGENT=/run/a.sock", "HOME=/"]},
                "linux": {"seccomp": {"defaultAction": "SCMP_ACT_LOG"}}}"#,
        )
        .unwrap();
        hand_to_agent(&config).unwrap();
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
        hand_to_agent(&config).unwrap();
        assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
    }
}
