//! Where events come from, and what turns their raw numbers into text.

pub mod decode;
pub mod memory;
pub mod procinfo;
pub mod symbols;
