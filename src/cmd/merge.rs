//! `eperm merge`: one profile that every input's workload runs under.

use super::target;
use crate::cli::MergeArgs;
use crate::error::Error;
use crate::profile::export::{object_name, Format, SpoApi, SpoMeta};
use crate::profile::merge::merge;
use crate::profile::{load_file, Form};

pub fn run(args: &MergeArgs) -> Result<u8, Error> {
    let profiles = args
        .profiles
        .iter()
        .map(|p| load_file(p))
        .collect::<Result<Vec<_>, _>>()?;
    let target = target(&args.target)?;
    let inputs: Vec<(String, &crate::profile::Profile)> =
        profiles.iter().map(|p| (p.file.clone(), p)).collect();
    let merged = merge(&inputs, &target);
    for note in &merged.notes {
        eprintln!("eperm: {note}");
    }
    // Without --format: a SeccompProfile when every input is one, else Docker JSON.
    let format = match args.format.format {
        Some(f) => f.into(),
        None if profiles.iter().all(|p| p.form == Form::Spo) => Format::Spo,
        None => Format::Docker,
    };
    let out_name = args.output.display().to_string();
    let text = match format {
        Format::Spo => {
            let meta = SpoMeta {
                name: args
                    .format
                    .name
                    .clone()
                    .unwrap_or_else(|| object_name(&out_name)),
                namespace: None,
                api: SpoApi::V1,
            };
            let labels: Vec<&str> = inputs.iter().map(|(l, _)| l.as_str()).collect();
            let header = format!("Merged by eperm from {}", labels.join(", "));
            merged
                .plain
                .to_spo(&meta, &header)
                .map_err(|e| Error::bad_input(format!("{out_name}: {e}")))?
        }
        Format::Docker | Format::Oci => {
            let value = merged.plain.to_json(format == Format::Docker);
            let mut s = serde_json::to_string_pretty(&value).expect("JSON values serialize");
            s.push('\n');
            s
        }
    };
    let runtimes = super::ready::runtimes(args.target.runtime.as_deref())?;
    let text = super::ready::made_ready_text(text, &runtimes, target.arch, &out_name)?;
    super::write_file(&args.output, &text)?;
    let rules = merged.plain.rules.len();
    eprintln!(
        "eperm: merged {} profiles into {out_name} ({rules} rule{})",
        profiles.len(),
        if rules == 1 { "" } else { "s" }
    );
    Ok(crate::error::EXIT_OK)
}
