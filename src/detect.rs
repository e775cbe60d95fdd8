//! Finding a runtime on this machine and the libseccomp it uses.
//!
//! `runc --version` prints its libseccomp (`libseccomp: 2.5.4`); crun 1.8.1's
//! does not, so the library it is linked with is read from `ldd`'s answer
//! (`libseccomp.so.2 => /lib/x86_64-linux-gnu/libseccomp.so.2`), whose file
//! name, once its links are followed, carries the release (`libseccomp.so.2.5.4`).

use crate::target::{parse_version_text, release_of_file_name, Runtime, RuntimeKind, Version};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `kind` as found on this machine, or `None` when it is not installed.
pub fn runtime(kind: RuntimeKind) -> Option<Runtime> {
    let path = on_path(kind.name())?;
    let out = Command::new(&path)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let (version, libseccomp) = parse_version_text(&text);
    let linked = linked_library(&path);
    let libseccomp =
        libseccomp.or_else(|| release_of_file_name(linked.as_ref()?.file_name()?.to_str()?))?;
    // Only a library the runtime loads from the system can be a distribution's build.
    let build = linked
        .and_then(|lib| package_version(&lib))
        .filter(|b| Version::parse(b) == Some(libseccomp));
    Some(Runtime {
        kind,
        version,
        libseccomp,
        build,
        here: true,
    })
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The version of the Debian package that owns `lib` (`2.5.4-1+deb12u1`).
fn package_version(lib: &Path) -> Option<String> {
    let owner = Command::new("dpkg-query")
        .arg("-S")
        .arg(lib)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let owner = String::from_utf8_lossy(&owner.stdout);
    let package = owner.lines().next()?.split(':').next()?.trim().to_string();
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", &package])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!version.is_empty()).then_some(version)
}

/// The libseccomp `program` is linked with (links followed), from `ldd`.
fn linked_library(program: &Path) -> Option<PathBuf> {
    let out = Command::new("ldd")
        .arg(program)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let lib = text
        .lines()
        .filter(|l| l.contains("libseccomp.so"))
        .find_map(|l| {
            l.split("=>")
                .nth(1)?
                .split_whitespace()
                .next()
                .map(PathBuf::from)
        })?;
    std::fs::canonicalize(lib).ok()
}

/// The target of `--runtime NAME[@VERSION]` and `--libseccomp VERSION`, what
/// is not given taken from this machine.
pub fn runtime_from_args(
    runtime: Option<&str>,
    libseccomp: Option<&str>,
) -> Result<Runtime, crate::error::BadInput> {
    Runtime::from_args(runtime, libseccomp, &self::runtime)
}
