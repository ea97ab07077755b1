//! Scale benchmark (see benches/README.md). Placeholder until the generator lands.
fn main() {}
