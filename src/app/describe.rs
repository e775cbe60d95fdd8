//! One line about what a syscall does, in our own words: the description column
//! of [`crate::syscalls::signatures::TABLE`], which has a line for every syscall
//! of every arch eperm knows.

/// What `name` does, in one line, when we know.
pub fn describe(name: &str) -> Option<&'static str> {
    crate::syscalls::signatures::describe(name)
}
