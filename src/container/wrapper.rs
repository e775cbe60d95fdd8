//! `eperm-runc`: a runc wrapper that lets Docker hand containers to eperm's agent.
//!
//! dockerd 20.10 drops `listenerPath` from a profile, so NOTIFY rules reach runc
//! without an agent and runc refuses them. Registered as a runtime
//! (`dockerd --add-runtime eperm=/usr/local/bin/eperm-runc`, a link to eperm),
//! this program is what containerd runs instead of runc: on `create` / `run` it
//! looks for `EPERM_SESSION=ID` in the container's environment (set by `eperm
//! docker`), and if ID names a live session in eperm's state directory (see
//! [`state`](super::state)) it does what that session asks: it puts the agent's
//! socket in `linux.seccomp.listenerPath` of the bundle's config.json, and opens
//! a fresh audit session (so the container's log records can be told apart from
//! every other container's) whose id it leaves in the session. Then it execs the
//! real runc with the same arguments.
//!
//! It runs as root on a bundle an image helped write: nothing it takes from the
//! bundle names a path or an identity. Whatever an `EPERM_SESSION` or
//! `EPERM_AGENT` in the bundle says, short of a live session's id, is ignored,
//! and both are taken out of the workload's environment. Containers started
//! without them pass through untouched.

use super::state::{self, Claimed};
use serde_json::Value;
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// The program name eperm answers to as a runtime.
pub const PROGRAM: &str = "eperm-runc";
/// The environment variable that carries a session's id to the wrapper.
pub const SESSION_ENV: &str = "EPERM_SESSION";
/// Once carried the agent's path; now only taken out of the environment.
const AGENT_ENV: &str = "EPERM_AGENT";

/// Runs as the runtime: prepares the bundle, then becomes runc.
pub fn main(args: Vec<OsString>) -> ! {
    if let Some(bundle) = bundle_of(&args) {
        if let Err(e) = prepare(&bundle, Path::new(state::STATE_DIR)) {
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

/// Takes eperm's variables out of the bundle's `process.env` and, when they
/// carry the id of a live session below `state`, does what the session asks
/// (see the module's doc). An error only when the bundle cannot be read or
/// written; a session that cannot be claimed or served is reported and left.
pub fn prepare(bundle: &Path, state: &Path) -> std::io::Result<()> {
    let config = bundle.join("config.json");
    let text = std::fs::read_to_string(&config)?;
    let mut doc: Value = serde_json::from_str(&text)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let ids = take_var(&mut doc, SESSION_ENV);
    let agents = take_var(&mut doc, AGENT_ENV);
    if ids.is_empty() && agents.is_empty() {
        return Ok(());
    }
    if let Some(claimed) = claim(&ids, state) {
        if let Some(agent) = &claimed.request.agent {
            let seccomp = doc
                .pointer_mut("/linux/seccomp")
                .and_then(Value::as_object_mut);
            if let Some(seccomp) = seccomp {
                let agent = agent.to_string_lossy().into_owned();
                seccomp.insert("listenerPath".into(), Value::String(agent));
            }
        }
        if let Some(uid) = claimed.request.loginuid {
            if let Err(e) = open_audit_session(uid, &claimed) {
                eprintln!("{PROGRAM}: no audit session of the container's own: {e}");
            }
        }
    }
    replace(&config, &serde_json::to_vec(&doc)?)
}

/// The live session the ids name: one id, of a session eperm left below `state`.
fn claim(ids: &[String], state: &Path) -> Option<Claimed> {
    let [id] = ids else {
        if !ids.is_empty() {
            eprintln!("{PROGRAM}: {SESSION_ENV} set {} times: ignored", ids.len());
        }
        return None;
    };
    match state::claim(state, id) {
        Ok(claimed) => claimed,
        Err(e) => {
            eprintln!("{PROGRAM}: {SESSION_ENV} ignored: {e}");
            None
        }
    }
}

/// Every value of `name` in `process.env`, each taken out.
fn take_var(doc: &mut Value, name: &str) -> Vec<String> {
    let prefix = format!("{name}=");
    let Some(env) = doc
        .pointer_mut("/process/env")
        .and_then(Value::as_array_mut)
    else {
        return Vec::new();
    };
    let mut values = Vec::new();
    env.retain(|v| match v.as_str().and_then(|s| s.strip_prefix(&prefix)) {
        Some(value) => {
            values.push(value.to_string());
            false
        }
        None => true,
    });
    values
}

/// Writes `uid` to our loginuid (a new audit session, which runc and the
/// container inherit), then leaves the session's id where eperm waits for it.
fn open_audit_session(uid: u32, claimed: &Claimed) -> std::io::Result<()> {
    std::fs::write("/proc/self/loginuid", uid.to_string())?;
    let ses = std::fs::read_to_string("/proc/self/sessionid")?;
    claimed.write_audit_session(ses.trim())
}

/// Replaces `config` with `bytes`, keeping its mode: through a new file beside
/// it (never an existing one, never through a link), renamed over it.
fn replace(config: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mode = std::fs::symlink_metadata(config)?.permissions().mode() & 0o7777;
    let tmp = config.with_extension(format!("json.eperm{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.set_permissions(std::fs::Permissions::from_mode(mode)))
        .and_then(|()| std::fs::rename(&tmp, config));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
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

    /// A bundle whose `process.env` is `env`, in a new directory.
    fn bundle(env: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let doc = serde_json::json!({
            "process": {"env": env},
            "linux": {"seccomp": {"defaultAction": "SCMP_ACT_LOG"}},
        });
        std::fs::write(dir.path().join("config.json"), doc.to_string()).unwrap();
        dir
    }

    fn config(bundle: &tempfile::TempDir) -> Value {
        let text = std::fs::read_to_string(bundle.path().join("config.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn loginuid() -> String {
        std::fs::read_to_string("/proc/self/loginuid").unwrap()
    }

    #[test]
    fn a_live_sessions_agent_goes_into_the_profile_once() {
        let state = tempfile::tempdir().unwrap();
        let state = state.path().join("eperm");
        let request = state::Request {
            agent: Some("/run/eperm-test/agent.sock".into()),
            loginuid: None,
        };
        let session = state::Session::create(&state, &request).unwrap();
        let var = format!("{SESSION_ENV}={}", session.id());
        let first = bundle(&["PATH=/bin", &var, "HOME=/"]);
        prepare(first.path(), &state).unwrap();
        let doc = config(&first);
        assert_eq!(
            doc["process"]["env"],
            serde_json::json!(["PATH=/bin", "HOME=/"])
        );
        assert_eq!(
            doc["linux"]["seccomp"]["listenerPath"],
            "/run/eperm-test/agent.sock"
        );
        // The id is spent: a second container given it gets nothing.
        let second = bundle(&[&var]);
        prepare(second.path(), &state).unwrap();
        let doc = config(&second);
        assert_eq!(doc["process"]["env"], serde_json::json!([]));
        assert!(doc["linux"]["seccomp"].get("listenerPath").is_none());
    }

    #[test]
    fn leaves_other_containers_alone() {
        let state = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        let text = r#"{"process": {"env": ["PATH=/bin"]}, "linux": {"seccomp": {}}}"#;
        std::fs::write(&config, text).unwrap();
        prepare(dir.path(), state.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
    }

    /// The attack of issue 26: an image's `ENV EPERM_SESSION=0:/etc/x` (and an
    /// `EPERM_AGENT` of its choosing) made the wrapper write a file as root, set
    /// the loginuid and take the image's socket as the seccomp agent.
    #[test]
    fn an_images_eperm_variables_name_nothing_the_wrapper_uses() {
        let state = tempfile::tempdir().unwrap();
        let victim = tempfile::tempdir().unwrap();
        let x = victim.path().join("x");
        let before = loginuid();
        let session = format!("{SESSION_ENV}=4242:{}", x.display());
        let agent = format!("{AGENT_ENV}={}", victim.path().join("a.sock").display());
        let bundle = bundle(&["PATH=/bin", &session, &agent]);
        prepare(bundle.path(), state.path()).unwrap();
        assert!(!x.exists(), "the wrapper wrote {}", x.display());
        assert_eq!(loginuid(), before, "the wrapper set the loginuid");
        let doc = config(&bundle);
        assert!(
            doc["linux"]["seccomp"].get("listenerPath").is_none(),
            "the wrapper took the image's agent: {doc}"
        );
        assert_eq!(doc["process"]["env"], serde_json::json!(["PATH=/bin"]));
    }

    /// Ids of the right form that name no session of eperm's: absent, reached
    /// through a link, owned by another user, or with a request others could
    /// have written.
    #[test]
    fn an_id_that_names_no_session_of_eperms_is_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let state = tempfile::tempdir().unwrap();
        let state = state.path().join("eperm");
        let agent = |session: &state::Session| {
            let bundle = bundle(&[&format!("{SESSION_ENV}={}", session.id())]);
            prepare(bundle.path(), &state).unwrap();
            config(&bundle)["linux"]["seccomp"]
                .get("listenerPath")
                .cloned()
        };
        let request = state::Request {
            agent: Some("/a.sock".into()),
            loginuid: None,
        };
        let live = state::Session::create(&state, &request).unwrap();
        let dir = state.join("sessions").join(live.id());

        let absent = bundle(&[&format!("{SESSION_ENV}={}", "0".repeat(32))]);
        prepare(absent.path(), &state).unwrap();
        assert!(config(&absent)["linux"]["seccomp"]
            .get("listenerPath")
            .is_none());

        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::rename(&dir, elsewhere.path().join("s")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path().join("s"), &dir).unwrap();
        assert_eq!(agent(&live), None, "followed a link");
        std::fs::remove_file(&dir).unwrap();
        std::fs::rename(elsewhere.path().join("s"), &dir).unwrap();

        let request_file = dir.join("request.json");
        std::fs::set_permissions(&request_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(agent(&live), None, "took a request others could write");
        std::fs::set_permissions(&request_file, std::fs::Permissions::from_mode(0o600)).unwrap();

        std::os::unix::fs::chown(&dir, Some(65534), None).unwrap();
        assert_eq!(agent(&live), None, "took a session owned by nobody");
        std::os::unix::fs::chown(&dir, Some(0), None).unwrap();

        assert_eq!(agent(&live), Some("/a.sock".into()), "the session is live");
    }

    #[test]
    fn the_state_directory_is_refused_unless_it_is_roots_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let request = state::Request {
            agent: None,
            loginuid: None,
        };
        let top = tempfile::tempdir().unwrap();
        let open = top.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = state::Session::create(&open, &request).unwrap_err();
        assert!(err.to_string().contains("mode 755"), "{err}");

        let link = top.path().join("link");
        let private = top.path().join("private");
        std::fs::create_dir(&private).unwrap();
        std::os::unix::fs::symlink(&private, &link).unwrap();
        let err = state::Session::create(&link, &request).unwrap_err();
        assert!(err.to_string().contains("link"), "{err}");

        let theirs = top.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&theirs, Some(65534), None).unwrap();
        let err = state::Session::create(&theirs, &request).unwrap_err();
        assert!(err.to_string().contains("owned by uid 65534"), "{err}");
        // Nothing was made in any of them.
        for dir in [&open, &private, &theirs] {
            assert_eq!(
                std::fs::read_dir(dir).unwrap().count(),
                0,
                "{}",
                dir.display()
            );
        }
    }

    #[test]
    fn sessions_of_eperms_that_are_gone_are_swept() {
        let state = tempfile::tempdir().unwrap();
        let state = state.path().join("eperm");
        let request = state::Request {
            agent: None,
            loginuid: None,
        };
        let live = state::Session::create(&state, &request).unwrap();
        let dead = state::Session::create(&state, &request).unwrap();
        let sessions = state.join("sessions");
        let owner = sessions.join(dead.id()).join("owner");
        std::fs::remove_file(&owner).unwrap();
        std::fs::write(&owner, "999999999 1").unwrap();
        let dead_dir = sessions.join(dead.id());
        std::mem::forget(dead);
        let _new = state::Session::create(&state, &request).unwrap();
        assert!(!dead_dir.exists(), "a dead eperm's session is left");
        assert!(
            sessions.join(live.id()).exists(),
            "a live eperm's session is gone"
        );
    }
}
