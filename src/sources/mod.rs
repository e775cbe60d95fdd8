//! Where events come from, the one `Event` type they produce, and what turns
//! their raw numbers into text.

pub mod aggregate;
pub mod audit;
pub mod audit_loss;
mod audit_reader;
pub mod audit_record;
pub mod cgroup;
pub mod event;
pub mod file;
pub mod forks;
pub mod health;
pub mod kmsg;
pub mod logs;
pub mod lsm;
pub mod memory;
mod netlink;
pub mod procinfo;
pub mod refusal;
pub mod stack;
pub mod strace;
pub mod wait;
