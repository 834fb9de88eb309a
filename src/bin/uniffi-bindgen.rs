//! The UniFFI bindings generator, pinned to the same UniFFI version as the library.
//! Build with `--features cli`; see README for the generate commands.
fn main() {
    uniffi::uniffi_bindgen_main()
}
