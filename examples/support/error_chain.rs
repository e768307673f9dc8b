//! Shared by the examples: an error with every cause, since the library's
//! messages do not repeat their sources.

/// An error and its causes, outermost first:
/// `storage error: unable to open database file`.
pub fn chain(error: &dyn std::error::Error) -> String {
    let causes = std::iter::successors(Some(error), |error| error.source());
    causes
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}
