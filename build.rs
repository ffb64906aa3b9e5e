//! Compiles the screens in `ui/` with their fonts and translations embedded, so every board draws the
//! same glyphs in every language without depending on the fonts installed on it.

fn main() {
    let config = slint_build::CompilerConfiguration::new()
        .embed_resources(slint_build::EmbedResourcesKind::EmbedFiles)
        .with_bundled_translations("ui/lang")
        // The .po files carry no msgctxt: one sentence has one translation on every screen.
        .with_default_translation_context(slint_build::DefaultTranslationContext::None)
        // Element look-ups by accessible label (the UI tests, accessibility tools) need the debug info;
        // it costs a few strings in the binary.
        .with_debug_info(true);
    slint_build::compile_with_config("ui/screens.slint", config).expect("the .slint files compile");
    println!("cargo:rerun-if-changed=ui");
}
