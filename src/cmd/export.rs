//! `eperm export`: a profile in another form (Docker JSON, the OCI
//! `linux.seccomp` object, a Kubernetes SeccompProfile), and the `--format`
//! of the commands that write a profile.

use super::{exported, target};
use crate::cli::{ExportArgs, OutputFormat, SpoApiArg};
use crate::error::Error;
use crate::profile::export::{object_name, Format, SpoApi, SpoMeta};
use crate::profile::load_file;

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
    let runtimes = super::ready::runtimes(args.target.runtime.as_deref())?;
    let out = args
        .output
        .as_ref()
        .map_or("the exported profile".to_string(), |p| {
            p.display().to_string()
        });
    let profile = super::ready::made_ready(&profile, &runtimes, target.arch, &out)?;
    let text = exported(&profile, &target, args.format.into(), &meta)?;
    match &args.output {
        Some(path) => super::write_file(path, &text)?,
        None => super::to_stdout(|out| out.write_all(text.as_bytes()))?,
    }
    Ok(crate::error::EXIT_OK)
}
