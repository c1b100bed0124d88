//! Headline-first reports for the key-population methods.
