//! Reading releases out of what runtimes and libraries say about themselves.

use super::Version;

/// The runtime's own release and, when it says, its libseccomp's, from the
/// text of `--version`: `runc version 1.1.5+ds1` … `libseccomp: 2.5.4`.
pub fn parse_version_text(text: &str) -> (Option<Version>, Option<Version>) {
    let mut version = None;
    let mut libseccomp = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("libseccomp:") {
            libseccomp = Version::parse(rest);
        } else if let Some((_, rest)) = line.split_once(" version ") {
            version = version.or_else(|| Version::parse(rest));
        }
    }
    (version, libseccomp)
}

/// `libseccomp.so.2.5.4` → 2.5.4.
pub fn release_of_file_name(name: &str) -> Option<Version> {
    Version::parse(name.strip_prefix("libseccomp.so.")?)
}
