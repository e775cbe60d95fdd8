//! The command line. Names here are a contract (docs/architecture.md, "Contracts").

use crate::run::Interception;
use crate::sources::logs::Wanted;
use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "eperm",
    version,
    about = "Find out why seccomp says \"Operation not permitted\", and fix the profile"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check a profile: errors, risky allowances, rules that do nothing.
    Check(CheckArgs),
    /// Change a profile with the smallest diff: allow, deny or remove syscalls,
    /// or give calls their counterparts on the other arches it names (--portable).
    Edit(EditArgs),
    /// Print the embedded default profile (Docker-compatible).
    Default,
    /// Compile a profile to a seccomp BPF program: write it, list it, or measure it.
    Compile(CompileArgs),
    /// Explain what a profile does with one syscall, and which rule decides it.
    Explain(ExplainArgs),
    /// Run a program under a profile and report every call it would deny
    /// (`eperm -- CMD` is short for `eperm run -- CMD`).
    ///
    /// Calls that fail with EPERM or EACCES for another reason are named too, with
    /// the layer that refused them and its fix: a capability (CAP_SYS_ADMIN…), file
    /// modes, a shut sysctl gate, Landlock, a seccomp filter of the program's own
    /// (as root, watched in the kernel by eBPF; EPERM_LAYERS=off turns it off).
    Run(RunArgs),
    /// Run a program permissively and write a profile that allows what it needed.
    ///
    /// Its calls are counted in the kernel (eBPF, as `--coverage` counts) where
    /// eBPF is there, else each call the base would deny is trapped (seccomp
    /// notification; `--trap` forces it). Both write the same profile; the
    /// summary says which was used.
    Record(RecordArgs),
    /// Run a program under coverage and write the profile without what it never used.
    Tighten(TightenArgs),
    /// Stream seccomp records of the whole machine from the kernel log (no workload).
    Watch(WatchArgs),
    /// Turn saved evidence (audit.log, kmsg, journal, strace, JSON events) into a profile.
    Import(ImportArgs),
    /// Open saved kernel logs (audit.log, kmsg, dmesg, syslog, journal) in the UI.
    Replay(ReplayArgs),
    /// Run a Docker container under a profile and report every call it would deny.
    ///
    /// As for `run`, calls refused by another layer are named: a capability the
    /// container lacks, or a device its device cgroup does not allow (`--device`).
    /// The container runs below a cgroup of eperm's, where they are watched.
    Docker(DockerArgs),
    /// Run an OCI bundle with runc under its config.json's profile and report denials.
    Oci(OciArgs),
    /// Run a podman container (crun or runc) under a profile and report every call it would deny.
    Podman(PodmanArgs),
    /// Write a profile as Docker JSON, the OCI linux.seccomp object, or a
    /// Kubernetes SeccompProfile (Security Profiles Operator), to stdout.
    Export(ExportArgs),
    /// Merge profiles into one that every input's workload runs under (the
    /// union, as SPO's mergeStrategy: containers).
    Merge(MergeArgs),
    /// Compare two profiles by their verdicts, not their text: each syscall
    /// (and argument value) decided differently, per arch. Exit 1 when any differs.
    ///
    /// For each arch both filters cover, every syscall is decided by each profile
    /// as the target's runtime would (libseccomp's merge, runc's -ENOSYS stub, the
    /// kernel's passthrough), and argument rules are tried at the values where
    /// their conditions change; changes are grouped (ALLOW → ERRNO(EPERM), EPERM →
    /// ENOSYS, …) and counted. OLD and NEW may be Docker JSON, an OCI config.json or
    /// a SeccompProfile, in any mix.
    Diff(DiffArgs),
    /// Carry a custom profile's changes (relative to the profile it was made
    /// from) onto a new upstream profile, as small edits of the new one's text.
    ///
    /// CUSTOM's changes are what it decides differently from OLD (allowances,
    /// denials, errnos, argument rules). Each is carried onto NEW as the smallest
    /// edit, found already done in NEW, or reported as a conflict when NEW changed
    /// the same syscall; the result is checked against CUSTOM's verdicts. The
    /// report goes to stderr; exit 1 when conflicts are left for you to decide.
    Rebase(RebaseArgs),
    /// Print a shell's completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print a man page in roff: eperm(1), or eperm-SUBCOMMAND(1).
    Man(ManArgs),
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell; e.g. `eperm completions bash > /etc/bash_completion.d/eperm`.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// The subcommand whose page to print (default: eperm(1), the overview).
    #[arg(value_name = "SUBCOMMAND")]
    pub subcommand: Option<String>,
}

/// The forms a profile is written in (`--format`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// Docker / moby JSON (`--security-opt seccomp=FILE`).
    Docker,
    /// The OCI runtime spec's `linux.seccomp` object (runc, crun).
    Oci,
    /// A Kubernetes SeccompProfile for the Security Profiles Operator (YAML).
    Spo,
}

/// `--api` of `eperm export`: the SeccompProfile version written.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpoApiArg {
    V1,
    V1beta1,
}

/// `--soften` of `eperm export`: what refusing actions become.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SoftenArg {
    /// SCMP_ACT_LOG: the call runs, and the kernel logs it (what `watch` reads).
    Log,
    /// SCMP_ACT_NOTIFY: the call waits for the profile's listener (listenerPath);
    /// the default action becomes LOG (runc refuses NOTIFY there).
    Notify,
}

/// `--format` and `--name` of the commands that write a profile.
#[derive(Args, Debug)]
pub struct FormatArgs {
    /// The form of the written profile (default: that of the profile it starts
    /// from, edited with the smallest diff).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,
    /// With --format spo: metadata.name (default: from the output file's name).
    #[arg(long, value_name = "N")]
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The profile: Docker JSON, an OCI config.json, or a SeccompProfile.
    pub profile: PathBuf,
    #[arg(long, value_name = "FORMAT")]
    pub format: OutputFormat,
    /// metadata.name of the SeccompProfile (default: from the profile's file name).
    #[arg(long, value_name = "N")]
    pub name: Option<String>,
    /// metadata.namespace (for releases of SPO where SeccompProfile is namespaced;
    /// current ones make it cluster-scoped).
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// The SeccompProfile API version.
    #[arg(long, value_name = "VERSION", default_value = "v1")]
    pub api: SpoApiArg,
    /// Write to OUT instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Turn every refusing action (ERRNO, KILL, KILL_PROCESS, TRAP, TRACE), the
    /// default included, into SCMP_ACT_LOG (or NOTIFY), keeping what it was in
    /// the rule's comment (a SeccompProfile: the annotation eperm.dev/softened):
    /// a profile for a pod to run under while it is triaged; `watch -p` on it
    /// shows what each logged call would have got.
    #[arg(long, value_enum, value_name = "ACTION")]
    pub soften: Option<SoftenArg>,
    /// The target Docker-only features (includes, excludes, archMap) are resolved
    /// for in the oci and spo forms.
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Where the merged profile goes.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    #[command(flatten)]
    pub format: FormatArgs,
    /// The profiles to merge (two or more), in any form eperm reads.
    #[arg(value_name = "PROFILE", num_args = 2.., required = true)]
    pub profiles: Vec<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The profile before: Docker JSON, an OCI config.json, or a SeccompProfile.
    #[arg(value_hint = ValueHint::FilePath)]
    pub old: PathBuf,
    /// The profile after, in any of the same forms.
    #[arg(value_hint = ValueHint::FilePath)]
    pub new: PathBuf,
    /// The target both are compared for: each arch its filter covers (archMap
    /// expanded for --arch), the capabilities, kernel and runtime.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Machine-readable output: one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RebaseArgs {
    /// Your profile, made from OLD and changed since.
    #[arg(value_hint = ValueHint::FilePath)]
    pub custom: PathBuf,
    /// The profile CUSTOM was made from (e.g. Docker's default of that year).
    #[arg(long, value_name = "OLD", value_hint = ValueHint::FilePath)]
    pub from: PathBuf,
    /// The new upstream profile to carry CUSTOM's changes onto.
    #[arg(long, value_name = "NEW", value_hint = ValueHint::FilePath)]
    pub onto: PathBuf,
    /// Write the result to OUT (never one of the inputs); default: stdout.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// How would-be-denied calls are intercepted (`--mode` of `eperm run`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunMode {
    /// SCMP_ACT_TRACE and a ptrace tracer.
    Trace,
    /// SCMP_ACT_NOTIFY and a user-notification supervisor.
    Notify,
    /// SCMP_ACT_LOG; events from the kernel log (audit, kmsg).
    Log,
}

/// `--mode` of `eperm docker` and `eperm oci`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerMode {
    /// eperm is the runtime's seccomp agent.
    Notify,
    /// The kernel logs denials.
    Log,
}

impl From<RunMode> for Interception {
    fn from(m: RunMode) -> Interception {
        match m {
            RunMode::Trace => Interception::Trace,
            RunMode::Notify => Interception::Notify,
            RunMode::Log => Interception::Log,
        }
    }
}

impl From<ContainerMode> for Interception {
    fn from(m: ContainerMode) -> Interception {
        match m {
            ContainerMode::Notify => Interception::Notify,
            ContainerMode::Log => Interception::Log,
        }
    }
}

/// An event source of `--source`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceName {
    Ptrace,
    Notify,
    Audit,
    Kmsg,
}

/// The flags of every command that runs a workload (`run`, `docker`, `oci`).
#[derive(Args, Debug)]
pub struct SessionArgs {
    /// Apply what the profile says (errno, kill), reproducing the real failure
    /// (containers: with --mode notify).
    #[arg(long, conflicts_with = "hold")]
    pub enforce: bool,
    /// Hold each would-be-denied call until you decide (needs the TUI; containers:
    /// with --mode notify).
    #[arg(long)]
    pub hold: bool,
    /// With --hold: let a held call run after S seconds without an answer (default 30).
    #[arg(long, value_name = "S", requires = "hold", value_parser = seconds)]
    pub hold_timeout: Option<Duration>,
    /// Event sources, comma-separated: ptrace, notify, audit, kmsg; with --mode
    /// log, which kernel log sources to read (default: audit and kmsg).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub source: Vec<SourceName>,
    /// Write events to FILE (`-`: stdout) as JSON lines; calls other layers
    /// refused come as `"source":"ebpf"` with a `layer` and its evidence. eperm
    /// does not wait for a reader that falls behind: past a bounded queue, events
    /// are not written, and the summary says how many (it counts them all).
    #[arg(long, value_name = "FILE|-")]
    pub events: Option<String>,
    /// No interface: the workload's output passes through, a summary follows on stderr.
    #[arg(long)]
    pub no_tui: bool,
    /// Don't save the profile after each decision (TUI).
    #[arg(long)]
    pub no_autosave: bool,
    /// Run the workload again after each save (TUI).
    #[arg(long)]
    pub rerun_on_save: bool,
    /// Don't take the caller's stack with each intercepted call (notify and
    /// trace modes take it by default: the `stack` of --events, the Detail pane).
    #[arg(long)]
    pub no_stacks: bool,
    /// Don't watch the other layers (capabilities, file modes, LSMs, sysctls,
    /// the device cgroup): their eBPF hook on every syscall's exit costs each
    /// call of the machine ~0.1 µs while the workload runs.
    #[arg(long)]
    pub no_layers: bool,
    /// Write a Markdown triage report to FILE: at the end of a headless run, or
    /// when R is pressed in the TUI.
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub report: Option<PathBuf>,
}

impl SessionArgs {
    /// The kernel log sources `--source` names (both when it names none).
    pub fn log_sources(&self) -> Wanted {
        let has = |n| self.source.contains(&n);
        let wanted = Wanted {
            audit: has(SourceName::Audit),
            kmsg: has(SourceName::Kmsg),
        };
        if wanted.audit || wanted.kmsg {
            wanted
        } else {
            Wanted::BOTH
        }
    }
}

/// `--hold-timeout S`: seconds, fractions allowed; a negative value is 0.
fn seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs.max(0.0)).map_err(|e| format!("{s:?}: {e}"))
}

/// `--arch`: an arch in any of its spellings (`aarch64`, `arm64`, `SCMP_ARCH_AARCH64`).
pub fn parse_arch(s: &str) -> Result<crate::arch::Arch, String> {
    use crate::arch::Arch;
    Arch::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Arch::ALL.iter().map(|a| a.name()).collect();
        format!(
            "unknown architecture {s:?}\n  hint: one of {}",
            names.join(", ")
        )
    })
}

/// What `eperm docker` and `eperm oci` share.
#[derive(Args, Debug)]
pub struct ContainerArgs {
    /// notify: eperm is runc's seccomp agent (live, exact, can --enforce; the
    /// workload's own seccomp listener then fails with EBUSY, which the summary
    /// says is eperm's doing); log: the kernel logs denials (works with any
    /// runtime). Default: notify when the runtime can hand eperm the listener,
    /// else log.
    #[arg(long)]
    pub mode: Option<ContainerMode>,
    #[command(flatten)]
    pub session: SessionArgs,
    /// Write the profile plus allowances for every call it would have denied
    /// (the runtime's own start-up calls get a comment saying so). Without the
    /// TUI. The container's calls are counted in the kernel (eBPF) under a copy
    /// of the profile that allows them, where eBPF is there (else, and with
    /// --trap, --enforce, --mode, --events or --report, each call is trapped).
    #[arg(short = 'o', long = "output", value_name = "OUT", value_hint = ValueHint::FilePath)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub format: FormatArgs,
    /// Count what each allowance is used for, in the kernel (eBPF; the runtime's
    /// start-up apart); with -p, merged into PROFILE.coverage.json next to it.
    #[arg(long, conflicts_with_all = ["hold", "output", "enforce"])]
    pub coverage: bool,
    /// With -o (or --save): trap each call the profile would deny (notify, or
    /// log), as where eBPF is unavailable, instead of counting the container's
    /// calls in the kernel (eBPF) under a copy of the profile that allows them.
    #[arg(long, conflicts_with = "coverage")]
    pub trap: bool,
}

#[derive(Args, Debug)]
pub struct DockerArgs {
    /// The profile (default: the embedded Docker-compatible profile).
    #[arg(short = 'p', long = "profile", value_name = "PROFILE", value_hint = ValueHint::FilePath)]
    pub profile: Option<PathBuf>,
    #[command(flatten)]
    pub common: ContainerArgs,
    /// `run [docker run options] IMAGE [CMD…]`, after `--`.
    #[arg(last = true, required = true, num_args = 1.., value_name = "DOCKER_ARGS")]
    pub docker: Vec<OsString>,
}

#[derive(Args, Debug)]
pub struct PodmanArgs {
    /// The profile (default: the embedded Docker-compatible profile).
    #[arg(short = 'p', long = "profile", value_name = "PROFILE")]
    pub profile: Option<PathBuf>,
    /// podman's OCI runtime, a name or a path (`podman --runtime`; default:
    /// the one podman's arguments give, before or after `run`, else podman's
    /// own, crun unless containers.conf says otherwise).
    #[arg(long, value_name = "RUNTIME")]
    pub runtime: Option<String>,
    #[command(flatten)]
    pub common: ContainerArgs,
    /// `[podman options] run [podman run options] IMAGE [CMD…]`, after `--`.
    #[arg(last = true, required = true, num_args = 1.., value_name = "PODMAN_ARGS")]
    pub podman: Vec<OsString>,
}

#[derive(Args, Debug)]
pub struct OciArgs {
    #[command(flatten)]
    pub common: ContainerArgs,
    /// Save the allowances back into BUNDLE/config.json (atomically; refuses when
    /// the file changed meanwhile).
    #[arg(long, conflicts_with = "output")]
    pub save: bool,
    /// The container id given to runc (default: eperm-PID).
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// The bundle: a directory with config.json (its linux.seccomp is the profile) and the rootfs.
    #[arg(value_name = "BUNDLE", value_hint = ValueHint::DirPath)]
    pub bundle: PathBuf,
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The profile that explains the records (deciding rules); edits are saved to it.
    #[arg(short = 'p', long = "profile", value_name = "PROFILE", value_hint = ValueHint::FilePath)]
    pub profile: Option<PathBuf>,
    /// Print the records instead of opening the UI.
    #[arg(long)]
    pub no_tui: bool,
    /// With --no-tui: one JSON object per record.
    #[arg(long)]
    pub json: bool,
    #[arg(required = true, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Judge each record against this profile (rule paths); otherwise the record's action.
    #[arg(short = 'p', long = "profile", value_name = "PROFILE", value_hint = ValueHint::FilePath)]
    pub profile: Option<PathBuf>,
    /// Kernel log sources, comma-separated (default: both).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "LIST")]
    pub source: Vec<WatchSource>,
    /// Only this process and its descendants.
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,
    /// Only processes with this name (comm).
    #[arg(long, value_name = "NAME")]
    pub comm: Option<String>,
    /// Only processes running this executable.
    #[arg(long, value_name = "PATH")]
    pub exe: Option<String>,
    /// Only processes of this container: an id prefix or its name, read from
    /// the process's cgroup (Docker, podman, containerd, CRI-O, Kubernetes pods).
    #[arg(long, value_name = "ID-PREFIX")]
    pub container: Option<String>,
    /// Only processes of this Kubernetes pod (NAME alone: in any namespace), named
    /// by the bundle containerd or CRI-O keeps for its container.
    #[arg(long, value_name = "NAMESPACE/POD")]
    pub pod: Option<String>,
    /// Only processes of pods in this Kubernetes namespace.
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// containerd's state directory (its --state; default /run/containerd),
    /// where the bundles that name pods are.
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub containerd_state: Option<PathBuf>,
    /// CRI-O's container storage run root (default /run/containers/storage and
    /// /var/lib/containers/storage), where the bundles that name pods are.
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub crio_state: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464):
    /// eperm_denials_total per namespace, pod, container, syscall, arch and the
    /// profile's action, and each kernel log source's received and lost records.
    #[arg(long, value_name = "ADDR", value_parser = metrics_addr)]
    pub metrics: Option<std::net::SocketAddr>,
    /// With --metrics: at most this many eperm_denials_total series; calls of
    /// further ones are counted in eperm_series_overflow_total.
    #[arg(long, value_name = "N", requires = "metrics", default_value_t = crate::metrics::MAX_SERIES)]
    pub metrics_max_series: usize,
    /// No interface: one line per record on stdout, each led by its layer
    /// (`seccomp:`, or `lsm:` for AppArmor/SELinux AVC and Landlock records).
    #[arg(long)]
    pub no_tui: bool,
    /// One JSON event per line, each with its `layer` (`seccomp`, or `lsm` with
    /// the LSM's record, evidence and fix).
    #[arg(long)]
    pub json: bool,
    /// Stop after this many seconds (default: until interrupted).
    #[arg(long, value_name = "S", hide = true)]
    pub duration: Option<f64>,
}

/// `--metrics ADDR`: an IP address and a port.
fn metrics_addr(s: &str) -> Result<std::net::SocketAddr, String> {
    s.parse().map_err(|_| {
        format!(
            "{s:?} is not an IP address and port\n  hint: 127.0.0.1:9464 (this machine only), 0.0.0.0:9464 (every interface) or [::1]:9464"
        )
    })
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// What the files are.
    #[arg(long, value_enum)]
    pub format: ImportFormat,
    #[command(flatten)]
    pub start: StartArgs,
    /// Where to write the profile.
    #[arg(short = 'o', long = "output", value_name = "OUT", value_hint = ValueHint::FilePath)]
    pub output: PathBuf,
    /// With `--format events`: only the events of this Kubernetes pod (`NAMESPACE/POD`,
    /// or `POD` in any namespace).
    #[arg(long, value_name = "NAMESPACE/POD", conflicts_with = "workload")]
    pub pod: Option<String>,
    /// With `--format events`: only the events of pods whose name is PREFIX or
    /// starts with `PREFIX-` (a Deployment's or DaemonSet's pods, by its name).
    #[arg(long, value_name = "PREFIX")]
    pub workload: Option<String>,
    /// The evidence (`-`: stdin).
    #[arg(required = true, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The profile (default: the embedded Docker-compatible profile).
    #[arg(short = 'p', long = "profile", value_name = "PROFILE", value_hint = ValueHint::FilePath)]
    pub profile: Option<PathBuf>,
    /// How denials are intercepted (default: notify where the kernel has it, else trace).
    #[arg(long)]
    pub mode: Option<RunMode>,
    #[command(flatten)]
    pub session: SessionArgs,
    /// Run the workload as this user: NAME, UID or UID:GID.
    #[arg(long, value_name = "NAME|UID[:GID]")]
    pub user: Option<String>,
    /// Run under the profile as written and count what each allowance is used for;
    /// with -p, the counts are merged into PROFILE.coverage.json next to it.
    #[arg(long, conflicts_with_all = ["hold", "mode", "enforce"])]
    pub coverage: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, num_args = 1.., value_name = "CMD", value_hint = ValueHint::CommandWithArguments)]
    pub command: Vec<OsString>,
}

#[derive(Args, Debug)]
pub struct TightenArgs {
    /// The profile to tighten; its coverage file (PROFILE.coverage.json) is used and updated.
    #[arg(short = 'p', long = "profile", value_name = "PROFILE", value_hint = ValueHint::FilePath)]
    pub profile: PathBuf,
    /// Where to write the tightened profile.
    #[arg(short = 'o', long = "output", value_name = "OUT", value_hint = ValueHint::FilePath)]
    pub output: PathBuf,
    /// Run the workload this many times under coverage first.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub runs: u32,
    /// Also narrow allowances used with few argument values (socket families).
    #[arg(long)]
    pub narrow: bool,
    #[command(flatten)]
    pub format: FormatArgs,
    /// The container runtime the profile is for: its start-up calls go in a rule
    /// of their own (default: runc and crun); `none` for plain processes only.
    #[arg(long, value_name = "NAME|none")]
    pub runtime: Option<String>,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, num_args = 1.., value_name = "CMD", value_hint = ValueHint::CommandWithArguments)]
    pub command: Vec<OsString>,
}

/// `-p BASE` and `--empty` of the commands that build a profile up from a start.
#[derive(Args, Debug)]
pub struct StartArgs {
    /// Start from this profile (default: the embedded default profile).
    #[arg(
        short = 'p',
        long = "profile",
        value_name = "BASE",
        value_hint = ValueHint::FilePath,
        conflicts_with = "empty"
    )]
    pub base: Option<PathBuf>,
    /// Start from "deny everything with EPERM" for the native arch and its sub-arches.
    #[arg(long)]
    pub empty: bool,
}

#[derive(Args, Debug)]
pub struct RecordArgs {
    #[command(flatten)]
    pub start: StartArgs,
    /// Where to write the recorded profile.
    #[arg(short = 'o', long = "output", value_name = "OUT", value_hint = ValueHint::FilePath)]
    pub output: PathBuf,
    /// Run the program again under OUT with --enforce; fail if anything is still denied.
    #[arg(long)]
    pub verify: bool,
    /// Trap each call the base profile would deny (seccomp notification), as
    /// where eBPF is unavailable, instead of counting calls in the kernel (eBPF).
    #[arg(long)]
    pub trap: bool,
    /// Also allow the calls that take each recorded call's place on the
    /// other arches the profile names (openat for open on arm64; with
    /// --empty, the profile names x86_64 and aarch64), as `edit --portable`.
    #[arg(long)]
    pub portable: bool,
    #[command(flatten)]
    pub format: FormatArgs,
    /// The container runtime the profile is for: its start-up calls go in a rule
    /// of their own (default: runc and crun); `none` for plain processes only.
    #[arg(long, value_name = "NAME|none")]
    pub runtime: Option<String>,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, num_args = 1.., value_name = "CMD", value_hint = ValueHint::CommandWithArguments)]
    pub command: Vec<OsString>,
}

/// What a profile is resolved for: `includes`/`excludes` and `archMap` depend on it.
#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// The target's native architecture: any eperm has the syscall table of
    /// (x86_64, aarch64, arm, riscv64, s390x, ppc64le, mips64, loongarch64, …;
    /// libseccomp, Go and uname spellings); archMap adds its sub-arches.
    #[arg(long, value_name = "ARCH", value_parser = parse_arch)]
    pub arch: Option<crate::arch::Arch>,
    /// Capabilities: docker (Docker's 14), all, none, or CAP_A,CAP_B.
    #[arg(long, default_value = "docker")]
    pub caps: String,
    /// Kernel version X.Y for `minKernel` (default: the running kernel).
    #[arg(long)]
    pub kernel: Option<String>,
    /// The runtime that loads the profile: runc, crun or youki, optionally
    /// @VERSION (default: the one found here, else runc's newest); `none` for a
    /// profile meant only for `eperm run` and plain processes (no runtime's
    /// start-up to allow).
    #[arg(long, value_name = "NAME[@VERSION]|none")]
    pub runtime: Option<String>,
    /// The libseccomp release the runtime links, e.g. 2.5.4 (default: the
    /// runtime's, found here, else the newest eperm has the table of).
    #[arg(long, value_name = "VERSION")]
    pub libseccomp: Option<String>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The profile: Docker/moby JSON, or an OCI config.json (its linux.seccomp);
    /// `-` reads it from standard input.
    #[arg(value_hint = ValueHint::FilePath)]
    pub profile: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Machine-readable output: one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Also list notes: rules and names that have no effect on this target.
    #[arg(short, long)]
    pub verbose: bool,
    /// An error for each call PROFILE lets run that BASE refuses (per arch,
    /// with the argument values): PROFILE must be no looser than BASE.
    #[arg(long, value_name = "BASE", value_hint = ValueHint::FilePath)]
    pub baseline: Option<PathBuf>,
    /// Also check what runtimes refuse in a profile pulled as an OCI artifact
    /// (KEP-6061): SCMP_ACT_NOTIFY, listener fields, more than 1 MiB or 128
    /// syscall entries.
    #[arg(long)]
    pub oci_artifact: bool,
}

#[derive(Args, Debug)]
pub struct EditArgs {
    /// The profile: Docker/moby JSON, or an OCI config.json (its linux.seccomp).
    #[arg(value_hint = ValueHint::FilePath)]
    pub profile: PathBuf,
    /// Allow these syscalls (comma list). A name goes into an uncommented
    /// ALLOW list, never into a rule whose comment gives its own reason
    /// (`merge`'s "needed by every input"): a rule of its own then. Risky
    /// names are warned of, as the TUI's detail pane does.
    #[arg(long, value_delimiter = ',', value_name = "NAME,..")]
    pub allow: Vec<String>,
    /// Deny these syscalls, optionally with an errno: `ptrace`, `clone3:ENOSYS`.
    /// A name joins only an uncommented rule of the same action and errno
    /// (a YAML `# …` on the rule's line is a comment too): a rule of its own else.
    #[arg(long, value_delimiter = ',', value_name = "NAME[:ERRNO],..")]
    pub deny: Vec<String>,
    /// Remove these syscalls from every rule, so the default action applies.
    #[arg(long, value_delimiter = ',', value_name = "NAME,..")]
    pub remove: Vec<String>,
    /// For every arch the profile names (architectures, archMap) and this
    /// host's: give each call that takes another's place there (openat for
    /// open on arm64, open for openat on x86_64) that call's action and
    /// conditions. After --allow, --deny and --remove.
    #[arg(long)]
    pub portable: bool,
    /// With --portable: also for these native arches (comma list), e.g. a
    /// profile of x86_64 alone to run on arm64 hosts.
    #[arg(long, requires = "portable", value_delimiter = ',', value_name = "ARCH,..", value_parser = parse_arch)]
    pub arch: Vec<crate::arch::Arch>,
    /// Print the change as a unified diff instead of saving it.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["output", "disasm", "stats"])))]
pub struct CompileArgs {
    /// The profile: Docker/moby JSON, or an OCI config.json (its linux.seccomp);
    /// `-` reads it from standard input.
    #[arg(value_hint = ValueHint::FilePath)]
    pub profile: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// What the program does with the profile's non-ALLOW verdicts.
    #[arg(long, value_enum, default_value_t = CompileMode::Enforce)]
    pub mode: CompileMode,
    /// Write raw `struct sock_filter` records (8 bytes each, little-endian) to FILE.
    #[arg(short = 'o', long = "output", value_name = "FILE.bpf")]
    pub output: Option<PathBuf>,
    /// Print a readable listing.
    #[arg(long)]
    pub disasm: bool,
    /// Print instructions, executed path lengths and cacheable syscalls.
    #[arg(long)]
    pub stats: bool,
    /// With --stats: one JSON object.
    #[arg(long, requires = "stats")]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The profile: Docker/moby JSON, or an OCI config.json (its linux.seccomp);
    /// `-` reads it from standard input.
    #[arg(value_hint = ValueHint::FilePath)]
    pub profile: PathBuf,
    /// A syscall name (or number) of the target arch. A call the arch lacks
    /// (open on aarch64) is explained through the calls that take its place there.
    pub syscall: String,
    /// Up to six arguments: decimal, 0x hex, or names such as AF_NETLINK, CLONE_NEWUSER|CLONE_NEWNS.
    #[arg(num_args = 0..=6, value_name = "ARG")]
    pub args: Vec<String>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Machine-readable output: one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `compile --mode`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompileMode {
    /// As the profile says.
    Enforce,
    /// They become TRACE (for a ptrace supervisor).
    Trace,
    /// They become USER_NOTIF (for a seccomp agent).
    Notify,
    /// They become LOG (the kernel logs them, the call goes on).
    Log,
}

impl From<CompileMode> for crate::compile::Mode {
    fn from(mode: CompileMode) -> Self {
        match mode {
            CompileMode::Enforce => crate::compile::Mode::Enforce,
            CompileMode::Trace => crate::compile::Mode::Trace,
            CompileMode::Notify => crate::compile::Mode::Notify,
            CompileMode::Log => crate::compile::Mode::Log,
        }
    }
}

/// `import --format`: what the evidence files are.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportFormat {
    /// The audit log (type=SECCOMP records).
    Audit,
    /// The kernel log: dmesg, /dev/kmsg, syslog.
    Kmsg,
    /// `journalctl -o json` or `-o export`.
    Journal,
    /// strace's output (with -f, -o, -ff, timestamps): every syscall made.
    Strace,
    /// The table of `strace -c`.
    StraceSummary,
    /// JSON events, one a line (`run --events`, `watch --json`, from any number
    /// of nodes): the calls the profile refused.
    Events,
}

/// As written on the command line.
impl std::fmt::Display for ImportFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = clap::ValueEnum::to_possible_value(self).expect("no variant is skipped");
        f.write_str(value.get_name())
    }
}

/// `watch --source`: a kernel log source.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchSource {
    /// The audit log, read from the kernel's audit netlink socket.
    Audit,
    /// The kernel log, /dev/kmsg.
    Kmsg,
}

impl WatchSource {
    /// The sources named, or both when none is.
    pub fn wanted(sources: &[WatchSource]) -> crate::sources::logs::Wanted {
        if sources.is_empty() {
            return crate::sources::logs::Wanted::BOTH;
        }
        crate::sources::logs::Wanted {
            audit: sources.contains(&WatchSource::Audit),
            kmsg: sources.contains(&WatchSource::Kmsg),
        }
    }
}

#[cfg(test)]
mod tests {
    /// clap's own checks of the definition (clashing names, a `requires` or
    /// `conflicts_with` naming no argument, …) for every subcommand; otherwise
    /// they run only in debug builds, for the subcommand being parsed.
    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
