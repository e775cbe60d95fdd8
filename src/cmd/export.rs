//! `eperm export`: a profile in another form (Docker JSON, the OCI
//! `linux.seccomp` object, a Kubernetes SeccompProfile), and the `--format`
//! of the commands that write a profile.

use super::target;
use crate::cli::{ExportArgs, FormatArgs, OutputFormat, SpoApiArg};
use crate::error::Error;
use crate::profile::export::{self, object_name, Format, SpoApi, SpoMeta};
use crate::profile::{load_file, load_str, Profile, Target};
use std::path::Path;

impl From<OutputFormat> for Format {
    fn from(f: OutputFormat) -> Format {
        match f {
            OutputFormat::Docker => Format::Docker,
            OutputFormat::Oci => Format::Oci,
            OutputFormat::Spo => Format::Spo,
        }
    }
}

impl From<SpoApiArg> for SpoApi {
    fn from(a: SpoApiArg) -> SpoApi {
        match a {
            SpoApiArg::V1 => SpoApi::V1,
            SpoApiArg::V1beta1 => SpoApi::V1beta1,
        }
    }
}

pub fn run(args: &ExportArgs) -> Result<u8, Error> {
    let profile = load_file(&args.profile)?;
    let target = target(&args.target)?;
    let meta = SpoMeta {
        name: args
            .name
            .clone()
            .unwrap_or_else(|| object_name(&args.profile.display().to_string())),
        namespace: args.namespace.clone(),
        api: args.api.into(),
    };
    let text = exported(&profile, &target, args.format.into(), &meta)?;
    match &args.output {
        Some(path) => super::write_file(path, &text)?,
        None => super::to_stdout(|out| out.write_all(text.as_bytes()))?,
    }
    Ok(crate::error::EXIT_OK)
}

fn exported(
    profile: &Profile,
    target: &Target,
    format: Format,
    meta: &SpoMeta,
) -> Result<String, Error> {
    export::export(profile, target, format, meta)
        .map_err(|e| Error::bad_input(format!("{}: {e}", profile.file)))
}

/// Writes a profile a command made (`text`, in the form of the profile it
/// started from) to `path`, in the `--format` asked for. The Docker-only
/// features are resolved for a container on this host with Docker's default
/// capabilities, as a Kubernetes node's runtime gives them.
pub fn write_profile(path: &Path, text: &str, format: &FormatArgs) -> Result<(), Error> {
    let Some(wanted) = format.format else {
        return super::write_file(path, text);
    };
    let name = path.display().to_string();
    let profile = load_str(&name, text.to_string())?;
    let meta = SpoMeta {
        name: format.name.clone().unwrap_or_else(|| object_name(&name)),
        namespace: None,
        api: SpoApi::V1,
    };
    let text = exported(&profile, &Target::docker_on_host(), wanted.into(), &meta)?;
    super::write_file(path, &text)
}
