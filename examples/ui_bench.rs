//! Prints the screens' figures as `hallq bench --json` reports them: `cargo run --release --example
//! ui_bench`.

fn main() -> anyhow::Result<()> {
    let figures = hallq::bench::screens::frame_times()?;
    println!("{}", serde_json::to_string_pretty(&figures)?);
    Ok(())
}
