//! Containers: the runtime (runc under Docker or alone, crun or runc under
//! podman; see [`oci_runtime`]) applies the profile, to its own start-up as well
//! as to the workload, so eperm hands it an instrumented copy ([`instrument`])
//! and listens: as the runtime's seccomp agent ([`agent`]) for NOTIFY, or on the
//! kernel log sources for LOG.
//!
//! A command's [`plan`] makes a [`launch::Launch`] for each run: the client
//! command ([`docker`], [`podman`] or [`oci`]), the copy, the agent's socket.
//! [`launch`] runs it; [`marker`] tells it when the container's last log record
//! has arrived; [`wrapper`] is `eperm-runc`, which lets Docker hand containers to
//! the agent; under coverage the container runs below a [`cgroup::Parent`] the
//! eBPF counter watches.

pub mod agent;
pub mod cgroup;
pub mod docker;
pub mod instrument;
pub mod launch;
pub mod marker;
pub mod oci;
pub mod oci_runtime;
pub mod plan;
pub mod podman;
pub mod state;
pub mod wrapper;
