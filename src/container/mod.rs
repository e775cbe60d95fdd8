//! Containers: the runtime (runc, under Docker or alone) applies the profile, to
//! its own start-up as well as to the workload, so eperm hands it an instrumented
//! copy ([`instrument`]) and listens: as the runtime's seccomp agent ([`agent`])
//! for NOTIFY, or on the kernel log sources for LOG.

pub mod agent;
pub mod docker;
pub mod instrument;
pub mod oci;
pub mod plan;
pub mod session;
pub mod wrapper;
