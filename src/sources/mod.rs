//! Where events come from, and the one `Event` type they all produce.

pub mod event;
