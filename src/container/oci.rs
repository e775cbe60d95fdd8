//! `runc run` on a bundle, with the instrumented profile: runc reads
//! `BUNDLE/config.json`, which eperm must not touch while the run lasts, so the
//! run gets a bundle of its own — the instrumented config.json, with `root.path`
//! pointing back at the original rootfs.

use serde_json::Value;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Writes `work/config.json` from `instrumented` (a whole config.json), with a
/// relative `root.path` made absolute against `bundle` and, given one, the
/// container's `linux.cgroupsPath` (coverage counts below a parent of eperm's).
/// Returns the new bundle.
pub fn prepare(
    bundle: &Path,
    instrumented: &str,
    work: &Path,
    cgroups_path: Option<&str>,
) -> std::io::Result<PathBuf> {
    let mut doc: Value = serde_json::from_str(instrumented)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    if let Some(path) = cgroups_path {
        if let Some(linux) = doc.as_object_mut().map(|d| {
            d.entry("linux")
                .or_insert_with(|| Value::Object(Default::default()))
        }) {
            if let Some(linux) = linux.as_object_mut() {
                linux.insert("cgroupsPath".into(), Value::String(path.into()));
            }
        }
    }
    if let Some(root) = doc.pointer_mut("/root/path") {
        let path = PathBuf::from(root.as_str().unwrap_or("rootfs"));
        if path.is_relative() {
            let absolute = std::fs::canonicalize(bundle)?.join(path);
            *root = Value::String(absolute.display().to_string());
        }
    }
    std::fs::create_dir_all(work)?;
    let text = serde_json::to_string_pretty(&doc).expect("JSON values serialize");
    std::fs::write(work.join("config.json"), text)?;
    Ok(work.to_path_buf())
}

/// `runc run --bundle DIR ID`: runc in the foreground, the container its child.
pub fn run_argv(bundle: &Path, id: &str) -> Vec<OsString> {
    vec![
        "runc".into(),
        "run".into(),
        "--bundle".into(),
        bundle.into(),
        id.into(),
    ]
}

/// What removes the container if eperm ends first.
pub fn cleanup_argv(id: &str) -> Vec<OsString> {
    vec!["runc".into(), "delete".into(), "--force".into(), id.into()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_points_at_the_original_rootfs() {
        let bundle = tempfile::tempdir().unwrap();
        let work = tempfile::tempdir().unwrap();
        let text = r#"{"root": {"path": "rootfs", "readonly": true}, "linux": {}}"#;
        let dir = prepare(bundle.path(), text, &work.path().join("b"), Some("/p/c")).unwrap();
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap())
                .unwrap();
        let expected = std::fs::canonicalize(bundle.path()).unwrap().join("rootfs");
        assert_eq!(doc["root"]["path"], expected.display().to_string());
        assert_eq!(doc["root"]["readonly"], true);
        assert_eq!(doc["linux"]["cgroupsPath"], "/p/c");
    }
}
