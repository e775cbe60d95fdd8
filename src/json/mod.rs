//! Placeholder: the spanned JSON reader lands in the next commit.
