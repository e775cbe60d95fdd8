//! Where events come from, and what turns their raw numbers into text.

pub mod symbols;
