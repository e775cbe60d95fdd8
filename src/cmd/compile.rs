//! `eperm compile PROFILE (-o FILE.bpf | --disasm | --stats [--json])`.

use crate::cli::CompileArgs;
use crate::compile::{bpf, disasm, stats, Compiled, Mode};
use crate::error::{Error, FileOp, EXIT_OK};
use crate::profile::load_arg;
use crate::progress::Progress;
use std::io::{self, Write};

pub fn run(args: &CompileArgs) -> Result<u8, Error> {
    let target = super::target(&args.target)?;
    let mode = Mode::from(args.mode);
    let mut progress = Progress::new();
    super::reading(&mut progress, &args.profile);
    let profile = load_arg(&args.profile)?;
    let (_, compiled) = super::resolve_and_compile(&profile, &target, mode, &mut progress)?;
    progress.clear();
    if let Some(path) = &args.output {
        crate::files::write(path, &bpf::to_bytes(&compiled.program), FileOp::Write)?;
        eprintln!(
            "{}: {} instructions written to {}",
            profile.file,
            compiled.program.len(),
            path.display()
        );
    } else {
        super::to_stdout(|out| {
            if args.disasm {
                write!(out, "{}", disasm::disassemble(&compiled.program))
            } else {
                print_stats(out, &compiled, args.json)
            }
        })?;
    }
    Ok(EXIT_OK)
}

fn print_stats(out: &mut dyn Write, compiled: &Compiled, json: bool) -> io::Result<()> {
    let s = stats::stats(&compiled.program, &compiled.arches);
    let arches: Vec<_> = compiled.arches.iter().map(|a| a.name()).collect();
    if json {
        let mut v = serde_json::to_value(&s).expect("stats serialize");
        v["arches"] = arches.into();
        v["mode"] = format!("{:?}", compiled.mode).to_lowercase().into();
        return writeln!(out, "{v}");
    }
    writeln!(out, "arches:         {}", arches.join("+"))?;
    writeln!(out, "instructions:   {}", s.instructions)?;
    writeln!(
        out,
        "executed path:  longest {}, mean {:.1} (over {})",
        s.longest_path,
        s.mean_path,
        crate::profile::lint::plural(s.syscalls as usize, "syscall", "syscalls")
    )?;
    writeln!(out, "always allowed: {} (kernel action cache)", s.cacheable)
}
