//! Messages: sending (IDs, seqs, pushes).

pub(crate) mod send;
